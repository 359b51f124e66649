import type { FarmsConfig } from '../../analysis/farms';
import type { ProviderName, ProviderSetting } from '../../linalg/ort/providers';
import { DEFAULT_LAYER_FILTER, type LayerFilterOptions } from './plan';

/** Everything a user can set for `analyze` (CLI flags, VS Code settings). */
export interface AnalyzeOptions extends LayerFilterOptions {
  /** onnxruntime execution providers for the GEMM kernels. */
  provider: ProviderSetting | readonly ProviderName[];
  /** FARMS on (with overrides of the LLaMA-paper defaults) or off. */
  farms: Partial<FarmsConfig> | false;
  /** WeightWatcher's Marchenko–Pastur fit (num_spikes, sigma_mp, mp_softrank, bulk_max, bulk_min). */
  mpFit: boolean;
  /** Keep every eigenvalue in the result (the HTML report needs them for ESD charts). */
  eigenvalues: boolean;
  /** WeLore threshold on min–max normalised singular values, and the LRC ratio. */
  weloreTau: number;
  weloreMinRatio: number;
  /** When set (0–1): solve one model-wide τ so that Σk / Σmin(m, n) reaches this rank reduction (overrides weloreTau). */
  weloreTarget?: number;
  /** Eigenvalues at or below are left out of the power-law fit (WeightWatcher EVALS_THRESH). */
  evalsThresh: number;
  /**
   * Threads for eigenvalue problems beside the analysis thread (0: one per core, at most 4; 1: none, everything on
   * the analysis thread). Same results either way; more threads analyse several small layers or FARMS windows at once.
   */
  threads: number;
}

export const DEFAULT_ANALYZE_OPTIONS: AnalyzeOptions = {
  ...DEFAULT_LAYER_FILTER,
  provider: 'cpu',
  farms: false,
  mpFit: false,
  eigenvalues: false,
  weloreTau: 0.1,
  weloreMinRatio: 0.5,
  evalsThresh: 1e-5,
  threads: 0,
};
