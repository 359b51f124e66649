/** Rank measures of a weight matrix from its eigenvalues λ = σ² (any order, none negative beyond round-off). */

import { EPS64, accurateSum } from './norm-metrics';

/** Singular values, descending, from eigenvalues (negative round-off clamped to 0). */
export function singularValuesDescending(evals: ArrayLike<number>): Float64Array {
  const sv = new Float64Array(evals.length);
  for (let i = 0; i < evals.length; i++) sv[i] = Math.sqrt(Math.max(0, evals[i]));
  return sv.sort().reverse();
}

/** Stable rank ‖W‖_F² / ‖W‖_2² = Σλ / max λ (Rudelson & Vershynin 2007; WeightWatcher RMT_Util.stable_rank). */
export function stableRank(evals: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < evals.length; i++) max = Math.max(max, evals[i]);
  return accurateSum(evals) / max;
}

/** Effective rank exp(H(p)), p_i = σ_i / Σσ (Roy & Vetterli, "The effective rank", EUSIPCO 2007, Def. 1); 0·ln 0 = 0. */
export function effectiveRank(evals: ArrayLike<number>): number {
  const sv = singularValuesDescending(evals);
  const total = accurateSum(sv);
  if (!(total > 0)) return 0;
  const h = -accurateSum(sv, (s) => (s > 0 ? (s / total) * Math.log(s / total) : 0));
  return Math.exp(h);
}

/** Smallest r whose top-r singular values keep at least `fraction` of Σσ² (the energy / Eckart–Young criterion). */
export function energyRank(evals: ArrayLike<number>, fraction: number): number {
  const lambdas = Float64Array.from(evals, (v) => Math.max(0, v)).sort().reverse();
  const total = accurateSum(lambdas);
  if (!(total > 0)) return 0;
  const goal = fraction * total;
  let s = 0;
  let c = 0;
  for (let r = 0; r < lambdas.length; r++) {
    const v = lambdas[r];
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
    if (s + c >= goal) return r + 1;
  }
  return lambdas.length;
}

/** Numerical rank #{σ > σ_max · max(m, n) · eps} (numpy.linalg.matrix_rank's default tolerance with eps = float64 epsilon). */
export function numericalRank(evals: ArrayLike<number>, m: number, n: number, eps = EPS64): number {
  const sv = singularValuesDescending(evals);
  if (sv.length === 0) return 0;
  const tol = sv[0] * Math.max(m, n) * eps;
  let r = 0;
  for (const s of sv) if (s > tol) r++;
  return r;
}

/** WeLore layer class (Jaiswal et al. 2024, "From GaLore to WeLore", arXiv 2407.11239): low-rank component or not. */
export interface WeloreLayer {
  class: 'LRC' | 'N-LRC';
  /** Singular values whose min–max normalised value is below tau. */
  k: number;
  /** min(m, n) - k: the rank a low-rank factorisation would keep. */
  keep_rank: number;
  /** k / min(m, n). */
  reduction: number;
  tau: number;
}

export interface WeloreOptions {
  /** Threshold on min–max normalised singular values. Default 0.1 (choose it model-wide with solveWeloreTau). */
  tau?: number;
  /** A layer is an LRC when k / min(m, n) exceeds this. Default 0.5. */
  min_ratio?: number;
}

/** Min–max normalised singular values s̃ = (σ - σ_min)/(σ_max - σ_min), descending. */
export function minMaxNormalised(evals: ArrayLike<number>): Float64Array {
  const sv = singularValuesDescending(evals);
  const hi = sv[0];
  const lo = sv[sv.length - 1];
  const span = hi - lo;
  return sv.map((s) => (span > 0 ? (s - lo) / span : 0));
}

/**
 * WeLore per layer: k = #{s̃ < tau}; LRC when k / min(m, n) > min_ratio; keep_rank = min(m, n) - k. `evals` are the
 * layer's min(m, n) eigenvalues.
 */
export function weloreLayer(evals: ArrayLike<number>, options: WeloreOptions = {}): WeloreLayer {
  const tau = options.tau ?? 0.1;
  const minRatio = options.min_ratio ?? 0.5;
  const full = evals.length;
  const s = minMaxNormalised(evals);
  let k = 0;
  for (const v of s) if (v < tau) k++;
  const reduction = full > 0 ? k / full : 0;
  return { class: reduction > minRatio ? 'LRC' : 'N-LRC', k, keep_rank: full - k, reduction, tau };
}

/** One layer's input to the global WeLore threshold. */
export interface WeloreInput {
  evals: ArrayLike<number>;
  /** Matrix dimensions (only used by the 'parameters' weighting). */
  m: number;
  n: number;
}

export interface WeloreTau {
  tau: number;
  /** The reduction that tau achieves under the chosen weighting (≥ the target unless the target is unreachable). */
  achieved: number;
  ks: number[];
}

/**
 * Global WeLore threshold: the smallest achievable reduction ≥ target, exactly, by sorting all normalised singular
 * values. weighting 'ranks' (default): Σk / Σmin(m,n); 'parameters': each removed rank-1 direction of an m×n layer
 * weighs m+n (the parameters it costs in a factorised layer), Σk(m+n) / Σmin(m,n)(m+n). tau is placed half-way
 * between the last value counted and the next one, so k = #{s̃ < tau} reproduces the count.
 */
export function solveWeloreTau(layers: readonly WeloreInput[], targetReduction: number, weighting: 'ranks' | 'parameters' = 'ranks'): WeloreTau {
  const values: { v: number; w: number }[] = [];
  let total = 0;
  const norms = layers.map((l) => minMaxNormalised(l.evals));
  layers.forEach((l, i) => {
    const w = weighting === 'parameters' ? l.m + l.n : 1;
    for (const v of norms[i]) values.push({ v, w });
    total += w * norms[i].length;
  });
  values.sort((a, b) => a.v - b.v);
  const goal = targetReduction * total;
  let acc = 0;
  let tau = 0;
  let achieved = 0;
  if (goal > 0 && values.length > 0) {
    let t = 0;
    while (t < values.length) {
      // take every value tied with values[t] together: k counts strictly-below, so ties move as one
      const v = values[t].v;
      while (t < values.length && values[t].v === v) acc += values[t++].w;
      if (acc >= goal || t === values.length) {
        tau = t < values.length ? (v + values[t].v) / 2 : v + Math.max(Math.abs(v), 1) * EPS64 * 4;
        achieved = acc / total;
        break;
      }
    }
  }
  const ks = norms.map((s) => s.reduce((a, v) => a + (v < tau ? 1 : 0), 0));
  return { tau, achieved, ks };
}
