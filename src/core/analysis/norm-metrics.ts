/**
 * WeightWatcher's norm and rank columns (weightwatcher.py apply_esd l.2905, apply_norm_metrics l.4525,
 * RMT_Util.matrix_rank l.317 / calc_rank_loss / matrix_entropy l.336), all over the full eigenvalues (no threshold).
 */

/** float64 machine epsilon (np.finfo(np.float64).eps). */
export const EPS64 = 2 ** -52;
/** apply_esd: weak_rank_loss counts eigenvalues below this tolerance (analyze(tolerance=1e-6)). */
export const WEAK_RANK_TOLERANCE = 1e-6;
/** RMT_Util.matrix_entropy: EPSILON added to p and to the rank. */
const ENTROPY_EPSILON = 1e-10;

/** Compensated (Neumaier) sum, close to numpy's pairwise sum at any length. */
export function accurateSum(values: ArrayLike<number>, map?: (v: number) => number): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const v = map ? map(values[i]) : values[i];
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

function maxOf(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

/** RMT_Util.matrix_rank: #{ s > max(s)·N·eps64 }, s = sqrt(evals), N the largest dimension (np.linalg.matrix_rank's tolerance). */
export function matrixRank(evals: ArrayLike<number>, N: number): number {
  let svMax = -Infinity;
  for (let i = 0; i < evals.length; i++) svMax = Math.max(svMax, Math.sqrt(evals[i]));
  const tol = svMax * N * EPS64;
  let rank = 0;
  for (let i = 0; i < evals.length; i++) if (Math.sqrt(evals[i]) > tol) rank++;
  return rank;
}

/** RMT_Util.matrix_entropy (0.7.5.5): -Σ p ln p / ln(rank + 1e-10), p = evals/Σevals + 1e-10; 1 means a flat spectrum. */
export function matrixEntropy(evals: ArrayLike<number>, N: number): number {
  const rank = matrixRank(evals, N) + ENTROPY_EPSILON;
  const total = accurateSum(evals);
  const h = -accurateSum(evals, (v) => {
    const p = v / total + ENTROPY_EPSILON;
    return p * Math.log(p);
  });
  return h / Math.log(rank);
}

/** Per-slice facts WeightWatcher takes before pooling Conv2D slices (combined_eigenvalues l.2757). */
export interface SliceSummary {
  /** Smallest singular value of the slice. */
  minSv: number;
  /** len(sv) - matrix_rank(sv, N) of the slice (RMT_Util.calc_rank_loss). */
  rankLoss: number;
}

/** What apply_esd records for one slice's eigenvalues; N = the largest dimension of the slice. */
export function sliceSummary(sliceEvals: ArrayLike<number>, N: number): SliceSummary {
  let minEval = Infinity;
  for (let i = 0; i < sliceEvals.length; i++) minEval = Math.min(minEval, sliceEvals[i]);
  return { minSv: Math.sqrt(minEval), rankLoss: sliceEvals.length - matrixRank(sliceEvals, N) };
}

/** Columns of apply_esd and apply_norm_metrics that do not need the power-law alpha. */
export interface NormMetrics {
  num_evals: number;
  sv_max: number;
  sv_min: number;
  rank_loss: number;
  weak_rank_loss: number;
  lambda_max: number;
  norm: number;
  log_norm: number;
  spectral_norm: number;
  log_spectral_norm: number;
  stable_rank: number;
  matrix_rank: number;
  entropy: number;
}

/**
 * Norm metrics of one layer from its pooled eigenvalues. For Conv2D pass the per-slice summaries: WeightWatcher's
 * sv_min is the largest of the slice minima and rank_loss the sum of the slice rank losses; without them the pooled
 * spectrum is treated as one matrix.
 */
export function normMetrics(evals: ArrayLike<number>, N: number, slices?: readonly SliceSummary[]): NormMetrics {
  const lambdaMax = maxOf(evals);
  const norm = accurateSum(evals);
  let weak = 0;
  for (let i = 0; i < evals.length; i++) if (evals[i] < WEAK_RANK_TOLERANCE) weak++;
  const rank = matrixRank(evals, N);
  let svMin: number;
  let rankLoss: number;
  if (slices && slices.length > 0) {
    svMin = Math.max(...slices.map((s) => s.minSv));
    rankLoss = slices.reduce((a, s) => a + s.rankLoss, 0);
  } else {
    let minEval = Infinity;
    for (let i = 0; i < evals.length; i++) minEval = Math.min(minEval, evals[i]);
    svMin = Math.sqrt(minEval);
    rankLoss = evals.length - rank;
  }
  return {
    num_evals: evals.length,
    sv_max: Math.sqrt(lambdaMax),
    sv_min: svMin,
    rank_loss: rankLoss,
    weak_rank_loss: weak,
    lambda_max: lambdaMax,
    norm,
    log_norm: Math.log10(norm),
    spectral_norm: lambdaMax,
    log_spectral_norm: Math.log10(lambdaMax),
    stable_rank: norm / lambdaMax,
    matrix_rank: rank,
    entropy: matrixEntropy(evals, N),
  };
}

/** The alpha-dependent columns of apply_norm_metrics. */
export interface AlphaNormMetrics {
  /** alpha · log10(lambda_max), "alpha-hat". */
  alpha_weighted: number;
  /** log10 Σ evals^alpha. */
  log_alpha_norm: number;
}

export function alphaNormMetrics(evals: ArrayLike<number>, alpha: number): AlphaNormMetrics {
  return {
    alpha_weighted: alpha * Math.log10(maxOf(evals)),
    log_alpha_norm: Math.log10(accurateSum(evals, (v) => Math.pow(v, alpha))),
  };
}
