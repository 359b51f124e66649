/**
 * FARMS (Hu et al., "Eigenspectrum Analysis of Neural Networks without Aspect Ratio Bias", ICML 2025, arXiv 2506.06280):
 * pool the eigenvalues of a grid of overlapping submatrices and fit one power law to the pooled ESD. Window planning
 * follows HUST-AI-HYZ/FARMS LLM_Pruning/lib/sampling.py fixed_sampling (l.137), the fit esd_utils_farms.py
 * analysis_esd (l.170), Conv2D blocks net_esd_estimator_farms (l.58-112). The caller computes the eigenvalues.
 */

import { accurateSum } from './norm-metrics';
import { EVALS_THRESH, fitWithSearch, type PeakWindow } from './powerlaw';

/** FARMS parameters (net_esd_estimator_farms arguments). */
export interface FarmsConfig {
  /** Rows of each submatrix before the min(rows, cols) clamp. */
  num_row_samples: number;
  /** Columns per row of a submatrix: c = int(r · Q_ratio). */
  Q_ratio: number;
  /** Windows per dimension (at most; ≥ 2). */
  sampling_ops_per_dim: number;
  /** Candidate xmin restriction: 'xmin_peak', 'xmin_mid' (Image_Classification's 'median'), or null for the full scan. */
  fix_fingers: 'xmin_peak' | 'xmin_mid' | null;
  /** Layers with fewer pooled eigenvalues are skipped. */
  eigs_num_thresh: number;
  /** Histogram bins of the 'xmin_peak' search. */
  bins: number;
  /** 'xmin_mid' takes i = int(n / xmin_pos). */
  xmin_pos: number;
  /** Conv2D blocks are scaled by sqrt(conv_norm) (eigenvalues by conv_norm). */
  conv_norm: number;
  /** Drop eigenvalues ≤ EVALS_THRESH before fitting (FARMS default false: near-zero eigenvalues are fitted too). */
  filter_zeros: boolean;
  EVALS_THRESH: number;
  /** r = min(num_row_samples, min(rows, cols)) as in LLM_Pruning/lib/sampling.py; Image_Classification/sampling.py lacks it. */
  clamp_row_samples: boolean;
}

const COMMON = { eigs_num_thresh: 5, bins: 100, xmin_pos: 2, conv_norm: 0.5, filter_zeros: false, EVALS_THRESH, clamp_row_samples: true };

/** LLaMA-7B/13B pruning runs (LLM_Pruning/scripts/llm_pruning_main.txt, 'alpha_peak_farms'). The default. */
export const FARMS_LLM_PAPER: FarmsConfig = { ...COMMON, num_row_samples: 2000, Q_ratio: 1.0, sampling_ops_per_dim: 15, fix_fingers: 'xmin_peak' };
/** LLM_Pruning/main.py argparse defaults. */
export const FARMS_MAIN_DEFAULTS: FarmsConfig = { ...COMMON, num_row_samples: 100, Q_ratio: 2.0, sampling_ops_per_dim: 10, fix_fingers: 'xmin_peak' };
/** Image_Classification/bash_scripts/config/*.txt (pl_fitting 'median' = xmin_mid). */
export const FARMS_IMGCLS: FarmsConfig = { ...COMMON, num_row_samples: 100, Q_ratio: 1.0, sampling_ops_per_dim: 9, fix_fingers: 'xmin_mid' };

/** CPython float floor division (float_floor_div): what `a // b` gives for floats, e.g. 1 // 0.1 == 9. */
export function pyFloorDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('division by zero');
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0) {
    if (b < 0 !== mod < 0) {
      mod += b;
      div -= 1;
    }
  }
  if (div === 0) return 0;
  let floordiv = Math.floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}

/** Resolves a Python slice start:stop on an axis of length len (negative indices wrap once, then clamp). */
export function pySlice(start: number, stop: number, len: number): { start: number; end: number } {
  const norm = (i: number): number => {
    if (i < 0) i += len;
    return Math.min(Math.max(i, 0), len);
  };
  const s = norm(start);
  const e = norm(stop);
  return { start: s, end: Math.max(s, e) };
}

/** One submatrix W[rowStart:rowEnd, colStart:colEnd] after Python slice resolution. */
export interface FarmsWindow {
  /** The offsets fixed_sampling computes (the column one may be negative: Python then wraps the slice). */
  row_start: number;
  col_start: number;
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

export interface WindowPlan {
  r: number;
  c: number;
  row_step: number;
  col_step: number;
  n_row_windows: number;
  n_col_windows: number;
  windows: FarmsWindow[];
}

/** sampling.py fixed_sampling (l.137): submatrix size, steps, window counts and offsets for a rows × cols weight (PyTorch (out, in), no transpose). */
export function planWindows(rows: number, cols: number, config: Pick<FarmsConfig, 'num_row_samples' | 'Q_ratio' | 'sampling_ops_per_dim' | 'clamp_row_samples'>): WindowPlan {
  const ops = config.sampling_ops_per_dim;
  if (!(ops >= 2) || !Number.isInteger(ops)) throw new RangeError('sampling_ops_per_dim must be an integer ≥ 2 (fixed_sampling divides by it minus one)');
  const r = config.clamp_row_samples ? Math.min(config.num_row_samples, Math.min(rows, cols)) : config.num_row_samples;
  const c = Math.trunc(r * config.Q_ratio);
  const rowStep = Math.max(1, pyFloorDiv(rows - r, ops - 1));
  const colStep = Math.max(1, pyFloorDiv(cols - c, ops - 1));
  const nRow = Math.min(ops, Math.max(1, pyFloorDiv(rows - r, rowStep) + 1));
  const nCol = Math.min(ops, Math.max(1, pyFloorDiv(cols - c, colStep) + 1));
  const windows: FarmsWindow[] = [];
  for (let i = 0; i < nRow; i++) {
    for (let j = 0; j < nCol; j++) {
      const rs = Math.min(i * rowStep, rows - r);
      const cs = Math.min(j * colStep, cols - c);
      const rsl = pySlice(rs, rs + r, rows);
      const csl = pySlice(cs, cs + c, cols);
      windows.push({ row_start: rs, col_start: cs, rowStart: rsl.start, rowEnd: rsl.end, colStart: csl.start, colEnd: csl.end });
    }
  }
  return { r, c, row_step: rowStep, col_step: colStep, n_row_windows: nRow, n_col_windows: nCol, windows };
}

/** What analysis_esd reports for one (pooled) ESD. */
export interface FarmsFit {
  alpha: number;
  D: number;
  xmin: number;
  /** Index of xmin in the sorted (and, with filter_zeros, thresholded) eigenvalues. */
  k: number;
  n_eigs: number;
  spectral_norm: number;
  /** alpha · log10(spectral_norm). */
  alpha_hat: number;
  stable_rank: number;
  norm: number;
  /** Present for 'xmin_peak'. */
  peak_xmin2?: number;
  xmin_search_lo?: number;
  xmin_search_hi?: number;
}

/** esd_utils_farms.py analysis_esd (l.170; alpha_hat l.244) on eigenvalues in any order. */
export function analyzeEsd(eigs: ArrayLike<number>, config: Pick<FarmsConfig, 'fix_fingers' | 'bins' | 'xmin_pos' | 'filter_zeros' | 'EVALS_THRESH'>): FarmsFit {
  const sorted = Float64Array.from(eigs).sort();
  const n = sorted.length;
  const norm = accurateSum(sorted);
  const spectral = sorted[n - 1];
  let data = sorted;
  if (config.filter_zeros) {
    const first = sorted.findIndex((v) => v > config.EVALS_THRESH);
    if (first >= 0) data = sorted.subarray(first);
  }
  const search = config.fix_fingers ?? 'full';
  const fit = fitWithSearch(data, search, { bins: config.bins, xminPos: config.xmin_pos });
  const out: FarmsFit = {
    alpha: fit.alpha,
    D: fit.D,
    xmin: fit.xmin,
    k: fit.k,
    n_eigs: n,
    spectral_norm: spectral,
    alpha_hat: fit.alpha * Math.log10(spectral),
    stable_rank: norm / spectral,
    norm,
  };
  const peak: PeakWindow | undefined = (fit as { peak?: PeakWindow }).peak;
  if (peak) {
    out.peak_xmin2 = peak.peak_xmin2;
    out.xmin_search_lo = peak.xmin_search_lo;
    out.xmin_search_hi = peak.xmin_search_hi;
  }
  return out;
}

/** Squared singular values of W[rowStart:rowEnd, colStart:colEnd] (float64 recommended), computed by the caller. */
export type WindowEigs = (rowStart: number, colStart: number, rowCount: number, colCount: number) => Float64Array;

export interface FarmsResult extends FarmsFit {
  num_windows: number;
  plan: Omit<WindowPlan, 'windows'>;
}

export type FarmsOutcome = { skipped: false; result: FarmsResult } | { skipped: true; reason: string; num_windows: number; n_eigs: number };

/** Fills config defaults (the LLaMA paper settings) under the given overrides. */
export function farmsConfig(overrides: Partial<FarmsConfig> = {}): FarmsConfig {
  return { ...FARMS_LLM_PAPER, ...overrides };
}

/** FARMS for a 2-D weight (rows, cols as stored, PyTorch Linear (out, in)): plan, pool every window's eigenvalues, one fit. */
export function farmsLinear(rows: number, cols: number, eigsOf: WindowEigs, overrides: Partial<FarmsConfig> = {}): FarmsOutcome {
  const config = farmsConfig(overrides);
  const plan = planWindows(rows, cols, config);
  const parts: Float64Array[] = [];
  let total = 0;
  for (const w of plan.windows) {
    const e = eigsOf(w.rowStart, w.colStart, w.rowEnd - w.rowStart, w.colEnd - w.colStart);
    parts.push(e);
    total += e.length;
  }
  if (total < config.eigs_num_thresh) {
    return { skipped: true, reason: `only ${total} pooled eigenvalues (< eigs_num_thresh ${config.eigs_num_thresh})`, num_windows: plan.windows.length, n_eigs: total };
  }
  const pooled = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    pooled.set(p, at);
    at += p.length;
  }
  const { windows, ...planInfo } = plan;
  return { skipped: false, result: { ...analyzeEsd(pooled, config), num_windows: windows.length, plan: planInfo } };
}

/** Squared singular values of slice[rowStart:rowEnd, colStart:colEnd] of a Conv2D slice (rows ≥ cols orientation), unscaled. */
export type SliceWindowEigs = (slice: number, rowStart: number, colStart: number, rowCount: number, colCount: number) => Float64Array;

export interface FarmsConvResult {
  /** Means over blocks (np.mean of the per-block values), as net_esd_estimator_farms reports them. */
  alpha: number;
  D: number;
  spectral_norm: number;
  norm: number;
  alpha_hat: number;
  stable_rank: number;
  block_rows: number;
  block_cols: number;
  n_blocks: number;
  per_block: FarmsFit[];
}

/**
 * FARMS Conv2D branch (esd_utils_farms.py l.58-112): kh·kw WeightWatcher slices of rows × cols (rows ≥ cols);
 * block (cols//Q × cols) for Q > 1 else (cols × cols//(1/Q)); blocks i < rows//cols stacked down the rows; per block the
 * slices' eigenvalues (× conv_norm) are pooled and fitted; the layer value is the mean over blocks.
 * (The released LLM code crashes after the loop, see the spec; this is the computation it intends.)
 */
export function farmsConv2d(rows: number, cols: number, sliceCount: number, eigsOf: SliceWindowEigs, overrides: Partial<FarmsConfig> = {}): FarmsConvResult {
  const config = farmsConfig(overrides);
  const Q = config.Q_ratio;
  const br = Math.max(1, Math.trunc(Q > 1 ? pyFloorDiv(cols, Q) : cols));
  const bc = Math.max(1, Math.trunc(Q > 1 ? cols : pyFloorDiv(cols, 1 / Q)));
  const division = Math.trunc(pyFloorDiv(rows, cols));
  const perBlock: FarmsFit[] = [];
  for (let i = 0; i < division; i++) {
    const rsl = pySlice(i * br, (i + 1) * br, rows);
    const csl = pySlice(0, bc, cols);
    const parts: Float64Array[] = [];
    for (let s = 0; s < sliceCount; s++) parts.push(eigsOf(s, rsl.start, csl.start, rsl.end - rsl.start, csl.end - csl.start));
    const pooled = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      for (let j = 0; j < p.length; j++) pooled[at + j] = p[j] * config.conv_norm;
      at += p.length;
    }
    perBlock.push(analyzeEsd(pooled, config));
  }
  const mean = (key: 'alpha' | 'D' | 'spectral_norm' | 'norm' | 'alpha_hat' | 'stable_rank'): number =>
    perBlock.length ? perBlock.reduce((a, b) => a + b[key], 0) / perBlock.length : NaN;
  return {
    alpha: mean('alpha'),
    D: mean('D'),
    spectral_norm: mean('spectral_norm'),
    norm: mean('norm'),
    alpha_hat: mean('alpha_hat'),
    stable_rank: mean('stable_rank'),
    block_rows: br,
    block_cols: bc,
    n_blocks: perBlock.length,
    per_block: perBlock,
  };
}
