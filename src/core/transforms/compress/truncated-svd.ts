import type { GramBackend } from '../../linalg/spectrum';
import { gramSmallSide } from '../../linalg/gram';
import type { Matrix } from '../../tensor/matrix-view';
import { symmetricEigen } from './symmetric-eigenvectors';

/**
 * The best rank-r approximation W ≈ L·R (Eckart–Young: the truncated SVD), as two factors with the singular values
 * split evenly: L = U_r·√S_r [rows, r], R = √S_r·V_rᵀ [r, cols].
 */
export interface LowRankFactors {
  rows: number;
  cols: number;
  rank: number;
  /** [rows, r] row-major. */
  left: Float64Array;
  /** [r, cols] row-major. */
  right: Float64Array;
  /** σ_1 ≥ … ≥ σ_r. */
  singularValues: Float64Array;
}

/**
 * Exact truncated SVD through the Gram matrix on the small side: with X = W (rows ≥ cols) or Wᵀ, the top-r
 * eigenvectors V_r of XᵀX (tred2/tql2) span X's leading right singular subspace; B = X·V_r has columns σ_i·u_i,
 * so X_r = B·V_rᵀ = X·V_r·V_rᵀ is the projection of X onto that subspace (no division by small σ), and its factors
 * are B/√σ and √σ·V_rᵀ. σ below σ_1·1e-15 (a numerically zero direction) gets zero factors.
 */
export async function truncatedSvd(m: Matrix, rank: number, gram?: GramBackend): Promise<LowRankFactors> {
  const { rows, cols, data } = m;
  const small = Math.min(rows, cols);
  const r = Math.max(0, Math.min(rank, small));
  const tall = rows >= cols;
  // XᵀX with X = W (tall or square) or Wᵀ (wide): ask the backend for that side explicitly (a backend's default may
  // take WWᵀ for square matrices, which has the same eigenvalues but the other singular vectors).
  const { gram: g, n } = gram?.sideGram ? await gram.sideGram(m, tall ? 'cols' : 'rows') : gramSmallSide(m);
  const eig = symmetricEigen(g, n);
  // Top-r eigenvectors, descending: row i of vr is v_i (length n).
  const vr = new Float64Array(r * n);
  for (let i = 0; i < r; i++) vr.set(eig.vectors.subarray((n - 1 - i) * n, (n - i) * n), i * n);
  const big = tall ? rows : cols;
  // b[p, i] = Σ_q X[p, q]·v_i[q], X[p, q] = W[p, q] (tall) or W[q, p].
  const b = new Float64Array(big * r);
  if (tall) {
    for (let p = 0; p < rows; p++) {
      const row = p * cols;
      for (let i = 0; i < r; i++) {
        const v = i * n;
        let s = 0;
        for (let q = 0; q < cols; q++) s += data[row + q] * vr[v + q];
        b[p * r + i] = s;
      }
    }
  } else {
    // X = Wᵀ: b[p, i] = Σ_q W[q, p]·v_i[q]; accumulate row q of W at once.
    for (let q = 0; q < rows; q++) {
      const row = q * cols;
      for (let i = 0; i < r; i++) {
        const w = vr[i * n + q];
        if (w === 0) continue;
        for (let p = 0; p < cols; p++) b[p * r + i] += data[row + p] * w;
      }
    }
  }
  const sv = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let p = 0; p < big; p++) s += b[p * r + i] * b[p * r + i];
    sv[i] = Math.sqrt(s);
  }
  const floor = (sv[0] ?? 0) * 1e-15;
  const scaleB = Float64Array.from(sv, (s) => (s > floor && s > 0 ? 1 / Math.sqrt(s) : 0));
  const scaleV = Float64Array.from(sv, (s) => (s > floor && s > 0 ? Math.sqrt(s) : 0));
  // X ≈ (B/√σ)·(√σ·V_rᵀ); for W = Xᵀ the roles swap: W ≈ (V_r·√σ)·(B/√σ)ᵀ.
  const left = new Float64Array(rows * r);
  const right = new Float64Array(r * cols);
  if (tall) {
    for (let p = 0; p < rows; p++) for (let i = 0; i < r; i++) left[p * r + i] = b[p * r + i] * scaleB[i];
    for (let i = 0; i < r; i++) for (let q = 0; q < cols; q++) right[i * cols + q] = vr[i * n + q] * scaleV[i];
  } else {
    for (let q = 0; q < rows; q++) for (let i = 0; i < r; i++) left[q * r + i] = vr[i * n + q] * scaleV[i];
    for (let i = 0; i < r; i++) for (let p = 0; p < cols; p++) right[i * cols + p] = b[p * r + i] * scaleB[i];
  }
  return { rows, cols, rank: r, left, right, singularValues: sv };
}

/** L·R as a row-major [rows, cols] matrix. */
export function reconstruct(f: LowRankFactors): Float64Array {
  const { rows, cols, rank: r, left, right } = f;
  const out = new Float64Array(rows * cols);
  for (let p = 0; p < rows; p++) {
    const o = p * cols;
    for (let i = 0; i < r; i++) {
      const l = left[p * r + i];
      if (l === 0) continue;
      const ri = i * cols;
      for (let q = 0; q < cols; q++) out[o + q] += l * right[ri + q];
    }
  }
  return out;
}

/** ‖W − Ŵ‖_F / ‖W‖_F (0 for a zero matrix). */
export function relativeFrobeniusError(w: ArrayLike<number>, approx: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    const d = w[i] - approx[i];
    num += d * d;
    den += w[i] * w[i];
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

/** Eckart–Young: the smallest possible relative error at rank r, √(Σ_{i>r} σ_i² / Σ σ_i²), from eigenvalues λ = σ². */
export function optimalRelativeError(evals: ArrayLike<number>, rank: number): number {
  const lambdas = Float64Array.from(evals, (v) => Math.max(0, v)).sort().reverse();
  let total = 0;
  let dropped = 0;
  for (let i = lambdas.length - 1; i >= 0; i--) {
    total += lambdas[i];
    if (i >= rank) dropped += lambdas[i];
  }
  return total > 0 ? Math.sqrt(dropped / total) : 0;
}
