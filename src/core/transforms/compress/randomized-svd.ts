import type { Matrix } from '../../tensor/matrix-view';
import { symmetricEigen } from './symmetric-eigenvectors';
import type { LowRankFactors } from './truncated-svd';

export interface RandomizedOptions {
  /** Extra sample columns beyond r (Halko, Martinsson & Tropp 2011, §4.2: p = 5–10). */
  oversample?: number;
  /** Power iterations (W·Wᵀ)^q·W·Ω, each re-orthonormalised (HMT Algorithm 4.4). */
  powerIterations?: number;
  seed?: number;
}

/** Seeded standard normals (mulberry32 + Box–Muller): the same factors on every run. */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Orthonormalises the k columns of y [rows, k] in place (modified Gram–Schmidt, twice: "twice is enough"). */
function orthonormalize(y: Float64Array, rows: number, k: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (let p = 0; p < rows; p++) d += y[p * k + i] * y[p * k + j];
        for (let p = 0; p < rows; p++) y[p * k + j] -= d * y[p * k + i];
      }
      let norm = 0;
      for (let p = 0; p < rows; p++) norm += y[p * k + j] ** 2;
      norm = Math.sqrt(norm);
      for (let p = 0; p < rows; p++) y[p * k + j] = norm > 1e-300 ? y[p * k + j] / norm : 0;
    }
  }
}

/** W·X for X [cols, k] → [rows, k]. */
function times(w: Matrix, x: Float64Array, k: number): Float64Array {
  const { rows, cols, data } = w;
  const out = new Float64Array(rows * k);
  for (let p = 0; p < rows; p++) {
    for (let q = 0; q < cols; q++) {
      const a = data[p * cols + q];
      if (a === 0) continue;
      for (let j = 0; j < k; j++) out[p * k + j] += a * x[q * k + j];
    }
  }
  return out;
}

/** Wᵀ·Y for Y [rows, k] → [cols, k]. */
function timesT(w: Matrix, y: Float64Array, k: number): Float64Array {
  const { rows, cols, data } = w;
  const out = new Float64Array(cols * k);
  for (let p = 0; p < rows; p++) {
    for (let q = 0; q < cols; q++) {
      const a = data[p * cols + q];
      if (a === 0) continue;
      for (let j = 0; j < k; j++) out[q * k + j] += a * y[p * k + j];
    }
  }
  return out;
}

/**
 * Randomized truncated SVD (Halko, Martinsson & Tropp 2011, "Finding structure with randomness", Algorithms 4.4 and
 * 5.1): Q = orth((W·Wᵀ)^q·W·Ω) with Ω Gaussian [cols, r + p], B = Qᵀ·W, then the exact SVD of the small B through
 * its Gram B·Bᵀ. O(mn(r + p)(2q + 2)) instead of the exact path's O(n³): worth it when r ≪ min(m, n). Not optimal
 * in general: callers compare its error with Eckart–Young's (known from the spectrum) and fall back to the exact SVD.
 */
export function randomizedSvd(w: Matrix, rank: number, opts: RandomizedOptions = {}): LowRankFactors {
  const { rows, cols } = w;
  const r = Math.max(0, Math.min(rank, rows, cols));
  const k = Math.min(Math.min(rows, cols), r + (opts.oversample ?? 10));
  const next = normals(opts.seed ?? 1);
  const omega = Float64Array.from({ length: cols * k }, next);
  let y = times(w, omega, k);
  orthonormalize(y, rows, k);
  for (let it = 0; it < (opts.powerIterations ?? 2); it++) {
    const z = timesT(w, y, k);
    orthonormalize(z, cols, k);
    y = times(w, z, k);
    orthonormalize(y, rows, k);
  }
  // Bᵀ = Wᵀ·Q [cols, k]; B·Bᵀ = (Bᵀ)ᵀ·Bᵀ [k, k]
  const bt = timesT(w, y, k);
  const g = new Float64Array(k * k);
  for (let q = 0; q < cols; q++) for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) g[i * k + j] += bt[q * k + i] * bt[q * k + j];
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) g[j * k + i] = g[i * k + j];
  const eig = symmetricEigen(g, k);
  // B = Ũ·Σ·Ṽᵀ with Ũ the eigenvectors of B·Bᵀ; W ≈ Q·B: left = Q·Ũ_r·√σ, right = √σ·Ṽ_rᵀ = Ũ_rᵀ·B/√σ.
  const left = new Float64Array(rows * r);
  const right = new Float64Array(r * cols);
  const sv = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    const vec = eig.vectors.subarray((k - 1 - i) * k, (k - i) * k);
    const s = Math.sqrt(Math.max(0, eig.values[k - 1 - i]));
    sv[i] = s;
    const ok = s > 0 && s > (Math.sqrt(Math.max(0, eig.values[k - 1])) || 0) * 1e-15;
    const rs = ok ? Math.sqrt(s) : 0;
    for (let p = 0; p < rows; p++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += y[p * k + j] * vec[j];
      left[p * r + i] = acc * rs;
    }
    const inv = ok ? 1 / Math.sqrt(s) : 0;
    for (let q = 0; q < cols; q++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += bt[q * k + j] * vec[j];
      right[i * cols + q] = acc * inv;
    }
  }
  return { rows, cols, rank: r, left, right, singularValues: sv };
}
