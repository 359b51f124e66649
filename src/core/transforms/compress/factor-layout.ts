import { guessKind } from '../../checkpoint/kind';
import type { FormatId, TensorInfo } from '../../checkpoint/types';
import { isWeightMatrix } from '../../jobs/analyze/plan';
import { matrixLayout } from '../../tensor/matrix-view';

/**
 * How a weight tensor is seen as one matrix for factorisation: its row-major dims split at `split`, so the matrix is
 * [∏ dims before split, ∏ dims from split] with no data movement, and the factors keep the dims on their side:
 *   left  (`<name>.U`) = [...shape[:split], r]      right (`<name>.V`) = [r, ...shape[split:]]
 * - 2-D [out, in] (Linear, ONNX MatMul [in, out], TF Dense [in, out]): split 1, W ≈ U·V as stored.
 * - Conv, PyTorch/ONNX order [out, in, k…]: split 1. V is a conv kernel [r, in, k…] (same strides/pads) and U a 1×1
 *   conv [out, r] (reshape to [out, r, 1…]): the channel factorisation of a convolution, exact for the rank-r matrix.
 * - Conv, TF order [kh, kw, in, out]: split 3. U is a conv kernel [kh, kw, in, r], V a 1×1 conv [r, out].
 * - ONNX LSTM/GRU weights [1, gates·H, in] (one direction): split 2. More than one stacked matrix is not factorised.
 */
export interface FactorLayout {
  shape: number[];
  split: number;
  rows: number;
  cols: number;
  /** 'conv' when the factors are convolution kernels (see above). */
  kind: 'matrix' | 'conv-oi' | 'conv-hwio' | 'stacked-one';
}

export function leftShape(l: FactorLayout, r: number): number[] {
  return [...l.shape.slice(0, l.split), r];
}

export function rightShape(l: FactorLayout, r: number): number[] {
  return [r, ...l.shape.slice(l.split)];
}

const prod = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

/** The factor layout of a tensor, or why it is not a weight matrix we factorise. */
export function factorLayout(t: TensorInfo, format: FormatId): FactorLayout | { skip: string } {
  const kind = guessKind(t.name, t.shape);
  if (!isWeightMatrix(t, kind)) return { skip: 'not a weight matrix' };
  const layout = matrixLayout(t.shape, kind, format);
  if (!layout) return { skip: 'not a weight matrix' };
  const shape = [...t.shape];
  const at = (split: number, k: FactorLayout['kind']): FactorLayout => ({ shape, split, rows: prod(shape.slice(0, split)), cols: prod(shape.slice(split)), kind: k });
  switch (layout.type) {
    case 'dense':
      return at(1, 'matrix');
    case 'conv1d':
      return at(1, 'conv-oi');
    case 'conv2d':
      return layout.order === 'oihw' ? at(1, 'conv-oi') : at(3, 'conv-hwio');
    case 'stack':
      return layout.count === 1 ? at(2, 'stacked-one') : { skip: `a stack of ${layout.count} matrices (not factorised)` };
  }
}
