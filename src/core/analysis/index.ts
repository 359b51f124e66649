/**
 * Per-layer eigenspectrum metrics, WeightWatcher 0.7.5.5 compatible (see shared/spec/esd-reference.md), plus rank,
 * conditioning, WeLore and FARMS. Pure functions of eigenvalues: the caller does the linear algebra.
 */

import { conditioning } from './conditioning';
import type { FarmsConvResult, FarmsResult } from './farms';
import { mpFit } from './mp-fit';
import { alphaNormMetrics, normMetrics, type SliceSummary } from './norm-metrics';
import { EVALS_THRESH, fitPowerLaw, type FitWarning } from './powerlaw';
import { effectiveRank, energyRank, numericalRank, weloreLayer, type WeloreOptions } from './rank';

export * from './conditioning';
export * from './farms';
export * from './layer-filter';
export * from './mp-fit';
export * from './nelder-mead';
export * from './norm-metrics';
export * from './powerlaw';
export * from './rank';
export * from './summary';

/** One layer's row: WeightWatcher's columns (same names), then ours. */
export interface LayerMetrics {
  layer_type: 'dense' | 'conv2d';
  N: number;
  M: number;
  Q: number;
  rf: number;
  num_evals: number;
  has_esd: boolean;
  sv_max: number;
  sv_min: number;
  rank_loss: number;
  weak_rank_loss: number;
  lambda_max: number;
  alpha: number;
  xmin: number;
  xmax: number;
  D: number;
  sigma: number;
  num_pl_spikes: number;
  status: 'success' | 'failed';
  warning: FitWarning;
  norm: number;
  log_norm: number;
  spectral_norm: number;
  log_spectral_norm: number;
  alpha_weighted: number;
  log_alpha_norm: number;
  stable_rank: number;
  matrix_rank: number;
  entropy: number;
  /** MP fit columns (analyze(mp_fit=True)); absent when not requested. */
  num_spikes?: number;
  sigma_mp?: number;
  mp_softrank?: number;
  W_scale?: number;
  bulk_max?: number;
  bulk_min?: number;
  /** Ours: singular-value extremes and κ of the pooled spectrum (Conv2D: over all slices, after the √½ scaling). */
  sigma_max: number;
  sigma_min: number;
  condition_number: number;
  numerically_singular: boolean;
  storage_rank: number;
  effective_rank: number;
  energy_rank_90: number;
  energy_rank_95: number;
  energy_rank_99: number;
  numerical_rank: number;
  welore: { class: 'LRC' | 'N-LRC'; keep_rank: number; k: number; tau: number };
  farms?: FarmsResult | FarmsConvResult;
  /** Index of xmin in the fitted sample and its size (not WeightWatcher columns; useful to compare fits). */
  fit_k: number;
  n_fit: number;
}

/** What the caller knows about the layer besides its eigenvalues. */
export interface SpectrumMeta {
  /** Larger and smaller dimension of each matrix (Conv2D: of one slice). */
  N: number;
  M: number;
  /** Slices pooled (kh·kw for Conv2D, 1 for dense). */
  rf: number;
  layerType: 'dense' | 'conv2d';
  /** Conv2D: per-slice minimum singular value and rank loss (norm-metrics sliceSummary); sv_min/rank_loss follow WeightWatcher then. */
  slices?: readonly SliceSummary[];
  /** Shortcut when only the slice minima are known. */
  sliceMinSv?: readonly number[];
  /** Storage dtype of the weights (canonical name) for the numerically-singular test. Default float32. */
  storageDtype?: string;
}

export interface SpectrumOptions {
  /** Eigenvalues at or below are not fitted (WeightWatcher EVALS_THRESH). Default 1e-5. */
  evalsThresh?: number;
  /** Run the Marchenko–Pastur fit (WeightWatcher analyze(mp_fit=True)). Default true. */
  mpFit?: boolean;
  welore?: WeloreOptions;
  /** A FARMS result the caller computed from window eigenvalues, attached as is. */
  farms?: FarmsResult | FarmsConvResult;
}

/**
 * Everything that depends only on the pooled eigenvalues of one layer (ascending, WeightWatcher convention: σ² of
 * W as stored, Conv2D slices scaled by √½, not divided by N).
 */
export function metricsFromSpectrum(evalsAscending: Float64Array, meta: SpectrumMeta, options: SpectrumOptions = {}): LayerMetrics {
  const evals = evalsAscending;
  const slices: SliceSummary[] | undefined =
    meta.slices?.slice() ?? (meta.sliceMinSv ? meta.sliceMinSv.map((minSv) => ({ minSv, rankLoss: 0 })) : undefined);
  const norms = normMetrics(evals, meta.N, slices);
  if (slices && !meta.slices) norms.rank_loss = evals.length - norms.matrix_rank; // rank losses unknown per slice
  const pl = fitPowerLaw(evals, { evalsThresh: options.evalsThresh ?? EVALS_THRESH });
  const alphaNorms = alphaNormMetrics(evals, pl.alpha);
  const cond = conditioning(evals, meta.N, meta.M, meta.storageDtype);
  const wl = weloreLayer(evals, options.welore);
  const row: LayerMetrics = {
    layer_type: meta.layerType,
    N: meta.N,
    M: meta.M,
    Q: meta.N / meta.M,
    rf: meta.rf,
    num_evals: norms.num_evals,
    has_esd: true,
    sv_max: norms.sv_max,
    sv_min: norms.sv_min,
    rank_loss: norms.rank_loss,
    weak_rank_loss: norms.weak_rank_loss,
    lambda_max: norms.lambda_max,
    alpha: pl.alpha,
    xmin: pl.xmin,
    xmax: pl.xmax,
    D: pl.D,
    sigma: pl.sigma,
    num_pl_spikes: pl.num_pl_spikes,
    status: pl.status,
    warning: pl.warning,
    norm: norms.norm,
    log_norm: norms.log_norm,
    spectral_norm: norms.spectral_norm,
    log_spectral_norm: norms.log_spectral_norm,
    alpha_weighted: alphaNorms.alpha_weighted,
    log_alpha_norm: alphaNorms.log_alpha_norm,
    stable_rank: norms.stable_rank,
    matrix_rank: norms.matrix_rank,
    entropy: norms.entropy,
    sigma_max: cond.sigma_max,
    sigma_min: cond.sigma_min,
    condition_number: cond.condition_number,
    numerically_singular: cond.numerically_singular,
    storage_rank: cond.storage_rank,
    effective_rank: effectiveRank(evals),
    energy_rank_90: energyRank(evals, 0.9),
    energy_rank_95: energyRank(evals, 0.95),
    energy_rank_99: energyRank(evals, 0.99),
    numerical_rank: numericalRank(evals, meta.N, meta.M),
    welore: { class: wl.class, keep_rank: wl.keep_rank, k: wl.k, tau: wl.tau },
    fit_k: pl.k,
    n_fit: pl.n_fit,
  };
  if (options.mpFit ?? true) {
    const mp = mpFit(evals, meta.N, meta.M);
    row.num_spikes = mp.num_spikes;
    row.sigma_mp = mp.sigma_mp;
    row.mp_softrank = mp.mp_softrank;
    row.W_scale = mp.W_scale;
    row.bulk_max = mp.bulk_max;
    row.bulk_min = mp.bulk_min;
  }
  if (options.farms) row.farms = options.farms;
  return row;
}
