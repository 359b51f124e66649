import type { Matrix } from '../tensor/matrix-view';
import { singularValues } from './bidiagonal-svd';
import { gramSmallSide } from './gram';
import { symmetricEigenvalues } from './symmetric-eigen';
import { giveWork } from './workspace';

/** Computes the float64 Gram matrix on the small side (TypeScript loops, or onnxruntime MatMul). */
export interface GramBackend {
  (m: Matrix): Promise<{ gram: Float64Array; n: number }>;
  /**
   * A faster eigen-solver for the Gram matrices of this backend (onnxruntime: the GEMM-based two-stage reduction),
   * same float64 accuracy; absent → the TypeScript one-stage solver.
   */
  eigenvalues?: (a: Float64Array, n: number) => Promise<Float64Array>;
  /** The Gram on a chosen side: 'cols' = WᵀW (cols×cols), 'rows' = WWᵀ; lets FARMS share one Gram between windows. */
  sideGram?: (m: Matrix, side: 'rows' | 'cols') => Promise<{ gram: Float64Array; n: number }>;
  /**
   * The whole spectrum of a matrix off this thread (a pool), same results as matrixSpectrum with this backend;
   * undefined → compute it here.
   */
  spectrum?: (m: Matrix, scale: number) => Promise<Spectrum> | undefined;
}

/** Below this order the one-stage TypeScript reduction is faster than the GEMM-based two-stage one. */
export const TWO_STAGE_MIN_ORDER = 192;

export const typescriptGram: GramBackend = async (m) => gramSmallSide(m);

export interface Spectrum {
  /** Eigenvalues of WᵀW (squared singular values, not divided by N), ascending, min(rows, cols) of them. */
  evals: Float64Array;
  /** 'gram': eigenvalues of the float64 Gram matrix; 'svd': singular values by bidiagonalisation (ill-conditioned). */
  method: 'gram' | 'svd';
}

/**
 * When λmin/λmax of the Gram falls below this, its small eigenvalues are round-off (absolute error ≈ ε·λmax):
 * the layer is recomputed by a direct SVD so sigma_min, matrix_rank and entropy stay meaningful.
 */
export const GRAM_RELIABLE_RATIO = 1e-10;

/** Squared singular values of one matrix, times `scale²` (WeightWatcher scales Conv2D slices by √½). */
export async function matrixSpectrum(m: Matrix, opts: { scale?: number; gram?: GramBackend } = {}): Promise<Spectrum> {
  const elsewhere = opts.gram?.spectrum?.(m, opts.scale ?? 1);
  if (elsewhere) return elsewhere;
  const scaled = applyScale(m, opts.scale ?? 1);
  const backend = opts.gram ?? typescriptGram;
  const { gram, n } = await backend(scaled.m);
  try {
    return await spectrumFromGram(scaled.m, gram, n, backend, scaled.s2);
  } finally {
    giveWork(gram);
  }
}

/**
 * The spectrum of a matrix from its float64 Gram (overwritten): the backend's eigen-solver, and the direct SVD of the
 * matrix (`m` may be a thunk, built only then) when the Gram is ill-conditioned.
 */
export async function spectrumFromGram(m: Matrix | (() => Matrix), gram: Float64Array, n: number, backend: GramBackend = typescriptGram, s2 = 1): Promise<Spectrum> {
  const ev = backend.eigenvalues && n >= TWO_STAGE_MIN_ORDER ? await backend.eigenvalues(gram, n) : symmetricEigenvalues(gram, n);
  return spectrumFromEigenvalues(m, ev, n, s2);
}

/** The same on the calling thread with the TypeScript Gram (small matrices: FARMS conv blocks, tests). */
export function matrixSpectrumSync(m: Matrix, opts: { scale?: number } = {}): Spectrum {
  const scaled = applyScale(m, opts.scale ?? 1);
  const { gram, n } = gramSmallSide(scaled.m);
  return spectrumFromEigenvalues(scaled.m, symmetricEigenvalues(gram, n), n, scaled.s2);
}

/**
 * WeightWatcher scales the float32 array in place (W *= sqrt(1/2), numpy float32 arithmetic) before its float64 SVD;
 * float64 data is scaled through the eigenvalues instead.
 */
function applyScale(m: Matrix, scale: number): { m: Matrix; s2: number } {
  if (scale === 1) return { m, s2: 1 };
  if (!(m.data instanceof Float32Array)) return { m, s2: scale * scale };
  const f = Math.fround(scale);
  const scaled = new Float32Array(m.data.length);
  for (let i = 0; i < scaled.length; i++) scaled[i] = m.data[i] * f;
  return { m: { rows: m.rows, cols: m.cols, data: scaled }, s2: 1 };
}

function spectrumFromEigenvalues(matrix: Matrix | (() => Matrix), ev: Float64Array, n: number, s2: number): Spectrum {
  const top = ev[n - 1];
  if (n > 0 && top > 0 && ev[0] >= top * GRAM_RELIABLE_RATIO) {
    if (s2 !== 1) for (let i = 0; i < n; i++) ev[i] *= s2;
    return { evals: ev, method: 'gram' };
  }
  const m = typeof matrix === 'function' ? matrix() : matrix;
  const sv = singularValues(Float64Array.from(m.data as ArrayLike<number>), m.rows, m.cols);
  const evals = new Float64Array(sv.length);
  for (let i = 0; i < sv.length; i++) evals[i] = sv[i] * sv[i] * s2;
  return { evals, method: 'svd' };
}
