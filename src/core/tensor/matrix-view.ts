import type { FormatId, TensorData } from '../checkpoint/types';
import type { TensorKind } from '../checkpoint/kind';

/**
 * How a tensor becomes the 2-D matrices that spectral analysis sees. One rule per layout:
 * - dense [out, in] (Linear, Embedding, LSTM/GRU gate stacks [4H, in], fused QKV): one matrix as stored.
 * - conv2d PyTorch/ONNX [out, in, kh, kw] (d0 + d1 ≥ kh + kw): kh·kw slices W[:, :, i, j], as WeightWatcher's
 *   conv2D_Wmats does; TF.js/Keras [kh, kw, in, out]: kh·kw slices W[i, j, :, :]. Each slice counts once and
 *   analysis scales it by √½ (WeightWatcher conv2d_norm).
 * - conv1d [out, in, k] (name says conv): k slices W[:, :, j].
 * - stack [n, a, b] (ONNX LSTM [directions, 4H, in], GGUF stacked experts/heads): n matrices W[s].
 * Anything of rank < 2 is not a matrix.
 */
export type MatrixLayout =
  | { type: 'dense'; rows: number; cols: number; count: 1 }
  | { type: 'conv2d'; order: 'oihw' | 'hwio'; rows: number; cols: number; count: number }
  | { type: 'conv1d'; rows: number; cols: number; count: number }
  | { type: 'stack'; rows: number; cols: number; count: number };

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major rows × cols. */
  data: TensorData;
}

/** TensorFlow-family formats store conv kernels as [kh, kw, in, out]. */
const TF_LAYOUT_FORMATS = new Set<FormatId>(['tfjs', 'keras-h5']);

export function matrixLayout(shape: readonly number[], kind: TensorKind, format: FormatId): MatrixLayout | undefined {
  if (shape.length === 2) return { type: 'dense', rows: shape[0], cols: shape[1], count: 1 };
  if (shape.length === 4) {
    const [d0, d1, d2, d3] = shape;
    const tf = TF_LAYOUT_FORMATS.has(format) || d0 + d1 < d2 + d3;
    return tf
      ? { type: 'conv2d', order: 'hwio', rows: d2, cols: d3, count: d0 * d1 }
      : { type: 'conv2d', order: 'oihw', rows: d0, cols: d1, count: d2 * d3 };
  }
  if (shape.length === 3) {
    const [a, b, c] = shape;
    if (kind === 'conv') return { type: 'conv1d', rows: a, cols: b, count: c };
    return { type: 'stack', rows: b, cols: c, count: a };
  }
  return undefined;
}

/** Extracts matrix `index` (0 ≤ index < layout.count) from the tensor's row-major values. */
export function extractMatrix(data: TensorData, layout: MatrixLayout, index: number): Matrix {
  const { rows, cols } = layout;
  const size = rows * cols;
  if (layout.type === 'dense') return { rows, cols, data };
  if (layout.type === 'stack' || (layout.type === 'conv2d' && layout.order === 'hwio')) {
    // Contiguous blocks: W[s] or W[i, j, :, :].
    return { rows, cols, data: data.subarray(index * size, (index + 1) * size) as TensorData };
  }
  // Strided slices: W[:, :, j] (conv1d) or W[:, :, i, j] (oihw) with the spatial index fastest.
  const out = new (data.constructor as { new (n: number): TensorData })(size);
  const step = layout.count;
  for (let p = 0, s = index; p < size; p++, s += step) out[p] = data[s];
  return { rows, cols, data: out };
}
