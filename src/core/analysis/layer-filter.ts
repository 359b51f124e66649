/**
 * Which tensors WeightWatcher analyses and as what matrices: WWLayer.set_weight_matrices (weightwatcher.py l.1135),
 * conv2D_Wmats (l.1248) and layer_supported (l.1665) with pool=True.
 */

export interface LayerFilterOptions {
  /** Skip when M·rf is below (analyze(min_evals=10)). */
  min_evals?: number;
  /** Skip when M·rf is above (analyze(max_evals=15000)). */
  max_evals?: number;
  /** Skip when N is above (analyze(max_N=50000)). */
  max_N?: number;
}

export const LAYER_FILTER_DEFAULTS: Required<LayerFilterOptions> = { min_evals: 10, max_evals: 15000, max_N: 50000 };

/** How a weight tensor is cut into matrices. */
export interface LayerMatrices {
  layerType: 'dense' | 'conv2d';
  /** Larger and smaller dimension of each matrix (slice). */
  N: number;
  M: number;
  /** Receptive field: number of slices (kh·kw), 1 for dense. */
  rf: number;
  /**
   * Conv2D only: 'channels_last' = PyTorch (out, in, kh, kw), slices W[:, :, i, j]; 'channels_first' = Keras
   * (kh, kw, in, out), slices W[i, j, :, :] (WeightWatcher picks by d0 + d1 ≥ kh + kw). Each slice is transposed so rows ≥ cols.
   */
  conv_layout?: 'channels_last' | 'channels_first';
}

export type LayerSupport = ({ supported: true } & LayerMatrices) | ({ supported: false; reason: string } & Partial<LayerMatrices>);

/** The matrices of a weight of this shape, or why there are none (not 2-D or 4-D). */
export function layerMatrices(shape: readonly number[]): LayerMatrices | undefined {
  if (shape.length === 2) {
    return { layerType: 'dense', N: Math.max(shape[0], shape[1]), M: Math.min(shape[0], shape[1]), rf: 1 };
  }
  if (shape.length === 4) {
    const [d0, d1, d2, d3] = shape;
    if (d0 + d1 >= d2 + d3) return { layerType: 'conv2d', N: Math.max(d0, d1), M: Math.min(d0, d1), rf: d2 * d3, conv_layout: 'channels_last' };
    return { layerType: 'conv2d', N: Math.max(d2, d3), M: Math.min(d2, d3), rf: d0 * d1, conv_layout: 'channels_first' };
  }
  return undefined;
}

/**
 * layer_supported: a 2-D (dense) or 4-D (Conv2D) weight with min_evals ≤ M·rf ≤ max_evals and N ≤ max_N.
 * `kind` (from guessKind) rules out norms and biases that happen to be 2-D.
 */
export function layerSupport(shape: readonly number[], options: LayerFilterOptions = {}, kind?: string): LayerSupport {
  const o = { ...LAYER_FILTER_DEFAULTS, ...options };
  if (kind === 'norm' || kind === 'bias') return { supported: false, reason: `a ${kind} tensor, not a weight matrix` };
  const m = layerMatrices(shape);
  if (!m) return { supported: false, reason: `${shape.length}-D tensor: only 2-D (dense) and 4-D (Conv2D) weights are analysed` };
  const evals = m.M * m.rf;
  if (evals < o.min_evals) return { supported: false, reason: `M·rf = ${evals} eigenvalues < min_evals ${o.min_evals}`, ...m };
  if (evals > o.max_evals) return { supported: false, reason: `M·rf = ${evals} eigenvalues > max_evals ${o.max_evals}`, ...m };
  if (m.N > o.max_N) return { supported: false, reason: `N = ${m.N} > max_N ${o.max_N}`, ...m };
  return { supported: true, ...m };
}

/** sqrt(conv2d_count / 2) with conv2d_count = 1 when pooling (apply_normalize_Wmats l.2833), rounded to float32. */
const CONV2D_NORM_F32 = Math.fround(Math.sqrt(1 / 2));

/**
 * Conv2D slice values as WeightWatcher scales them: W *= sqrt(1/2) on the float32 array (numpy keeps float32), then
 * astype(float64). Doing the product in float64 instead moves the eigenvalues by up to ~1e-7 relative.
 */
export function wwConv2dNorm(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.fround(Math.fround(values[i]) * CONV2D_NORM_F32);
  return out;
}
