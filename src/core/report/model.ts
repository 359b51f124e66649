/**
 * The analysis report: one row of metrics per layer (WeightWatcher's snake_case names), and a model summary.
 * This is the JSON the CLI writes and the data the HTML report and the VS Code webview render. Types only.
 */

import type { TensorKind } from '../checkpoint/kind';

/** Tensor roles, as guessed by src/core/checkpoint/kind.ts. */
export type LayerKind = TensorKind;

export interface FarmsResult {
  alpha: number;
  D: number;
  xmin: number;
  /** Submatrices pooled (Linear) or blocks averaged (Conv2D). */
  num_windows: number;
  /** Pooled eigenvalues fitted. */
  n_eigs: number;
  /** 'xmin_peak' | 'xmin_mid' | 'full' */
  fit: string;
  alpha_hat?: number;
  stable_rank?: number;
  spectral_norm?: number;
}

export interface LayerResult {
  name: string;
  layer_id: number;
  shape: number[];
  kind: LayerKind;
  dtype: string;
  layer_type: 'dense' | 'conv2d' | 'conv1d' | 'stack';
  N: number;
  M: number;
  rf: number;
  /** Set when WeightWatcher's layer filter leaves the layer out (no metrics then). */
  skipped?: string;
  /** Set when this layer failed; the other layers are unaffected. */
  error?: string;
  num_evals?: number;
  /** 'gram' (float64 Gram eigenvalues) or 'svd' (direct SVD for ill-conditioned layers). */
  method?: 'gram' | 'svd';
  // WeightWatcher power-law fit (WW_powerlaw.WWFit)
  alpha?: number;
  xmin?: number;
  xmax?: number;
  D?: number;
  sigma?: number;
  num_pl_spikes?: number;
  status?: string;
  warning?: string;
  // WeightWatcher norm metrics (apply_norm_metrics)
  lambda_max?: number;
  norm?: number;
  log_norm?: number;
  spectral_norm?: number;
  log_spectral_norm?: number;
  alpha_weighted?: number;
  log_alpha_norm?: number;
  stable_rank?: number;
  matrix_rank?: number;
  entropy?: number;
  sv_max?: number;
  sv_min?: number;
  rank_loss?: number;
  weak_rank_loss?: number;
  // WeightWatcher MP fit (mp_fit=True)
  num_spikes?: number;
  sigma_mp?: number;
  mp_softrank?: number;
  bulk_max?: number;
  bulk_min?: number;
  W_scale?: number;
  // Conditioning
  sigma_max?: number;
  sigma_min?: number;
  condition_number?: number;
  /** σmin is at the round-off level of the stored precision: condition_number is not meaningful. */
  numerically_singular?: boolean;
  // Rank
  effective_rank?: number;
  energy_rank_90?: number;
  energy_rank_95?: number;
  energy_rank_99?: number;
  numerical_rank?: number;
  welore?: { class: 'LRC' | 'N-LRC'; keep_rank: number; k: number };
  farms?: FarmsResult;
  /** Why FARMS left this layer out (too few pooled eigenvalues, unsupported layout). */
  farms_skipped?: string;
  /** All eigenvalues, ascending (with --eigenvalues). */
  eigenvalues?: number[];
  /** Flags for the report: 'over-trained', 'under-trained', 'ill-conditioned', 'rank-collapsed'. */
  flags?: string[];
}

export interface ModelSummary {
  /** WeightWatcher get_summary: means over analysed layers. */
  log_norm?: number;
  alpha?: number;
  alpha_weighted?: number;
  log_alpha_norm?: number;
  log_spectral_norm?: number;
  stable_rank?: number;
  mp_softrank?: number;
  layers_analysed: number;
  layers_skipped: number;
  layers_failed: number;
  /** Means of alpha (and counts) by layer kind and by block index. */
  by_kind?: Record<string, { count: number; alpha: number }>;
  by_block?: Record<string, { count: number; alpha: number }>;
  flagged?: { name: string; flags: string[] }[];
  /** The model-wide WeLore threshold when it was solved from a target rank reduction. */
  welore?: { tau: number; target: number; achieved: number };
  /** Product of spectral norms along the layer sequence, an upper bound on the Lipschitz constant. */
  lipschitz?: { log10_bound: number; factors: number; assumptions: string };
}

export interface AnalysisReport {
  model: {
    path: string;
    format: string;
    parameters: number;
    /** onnxruntime execution provider that ran the GEMM kernels. */
    provider: string;
    /** Why earlier providers in the configured order could not run (e.g. no WebGPU adapter, CUDA libraries missing). */
    provider_fallbacks?: string[];
    seconds: number;
    summary: ModelSummary;
    options?: Record<string, unknown>;
  };
  layers: LayerResult[];
}
