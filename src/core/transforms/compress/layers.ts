import { JobCancelledError } from '../../cancel';
import type { Checkpoint, TensorInfo } from '../../checkpoint/types';
import { matrixSpectrum, type GramBackend } from '../../linalg/spectrum';
import type { WritableDtype } from '../../writers/encode';
import { type FactorLayout, factorLayout } from './factor-layout';
import { decideRanks, type RankCriterion, type RankDecision } from './ranks';
import { randomizedSvd } from './randomized-svd';
import { type LowRankFactors, optimalRelativeError, reconstruct, relativeFrobeniusError, truncatedSvd } from './truncated-svd';

/** One tensor of the input and what compression does with it. */
export interface LayerWork {
  info: TensorInfo;
  layout?: FactorLayout;
  decision?: RankDecision;
  /** Why it is not a candidate (not a weight matrix, filtered out, too large). */
  skip?: string;
  /** Eigenvalues of WᵀW, when analysed. */
  evals?: Float64Array;
}

/** The per-layer figures of the report (issue 6: name, shape, rank, params_before, params_after, rel_error). */
export interface CompressLayerResult {
  name: string;
  shape: number[];
  /** Rank kept (= full rank for layers left as they are). */
  rank: number;
  full_rank: number;
  compressed: boolean;
  /** Parameters of this tensor in the input, and as written (factor sizes for factorized/lora/ONNX split layers). */
  params_before: number;
  params_after: number;
  /** ‖W − Ŵ‖_F / ‖W‖_F of the float64 factors (before rounding to the stored dtype); 0 when unchanged. */
  rel_error: number;
  /** Eckart–Young's minimum √(Σ dropped σ² / Σ σ²) at this rank: equal to rel_error for an exact truncated SVD. */
  optimal_rel_error?: number;
  /** Which factorisation produced the factors (randomized only when its error passed the check). */
  svd?: 'exact' | 'randomized';
  reason?: string;
}

/** exact: tred2/tql2 on the Gram; randomized: HMT range finder, accepted when its error ≤ optimum·(1 + tolerance). */
export interface SvdChoice {
  method: 'exact' | 'randomized' | 'auto';
  /** Accepted excess of the randomized error over Eckart–Young's, relative (default 0.01). */
  tolerance?: number;
  seed?: number;
}

export interface PlanOptions {
  criterion: RankCriterion;
  minRatio: number;
  filter?: RegExp;
  /** Largest min(rows, cols) we factorise exactly (the eigendecomposition is O(n³)). */
  maxSide: number;
  gram?: GramBackend;
  shouldStop?: () => boolean;
  onProgress?: (done: number, total: number, name: string) => void;
}

/** Reads every candidate weight matrix once, computes its spectrum and decides its rank. */
export async function planCompression(ck: Checkpoint, opts: PlanOptions): Promise<{ layers: LayerWork[]; tau?: number }> {
  const layers: LayerWork[] = ck.tensors.map((info) => {
    if (opts.filter && !opts.filter.test(info.name)) return { info, skip: 'filtered out' };
    const layout = factorLayout(info, ck.format);
    if ('skip' in layout) return { info, skip: layout.skip };
    if (Math.min(layout.rows, layout.cols) > opts.maxSide) {
      return { info, skip: `min(m, n) = ${Math.min(layout.rows, layout.cols)} > ${opts.maxSide} (exact SVD size limit)` };
    }
    return { info, layout };
  });
  const candidates = layers.filter((l) => l.layout);
  let done = 0;
  for (const l of candidates) {
    if (opts.shouldStop?.()) throw new JobCancelledError();
    const data = await ck.read(l.info.name, 'float32');
    const m = { rows: l.layout!.rows, cols: l.layout!.cols, data };
    l.evals = (await matrixSpectrum(m, { gram: opts.gram })).evals;
    opts.onProgress?.(++done, candidates.length, l.info.name);
  }
  const plan = decideRanks(
    candidates.map((l) => ({ evals: l.evals!, rows: l.layout!.rows, cols: l.layout!.cols })),
    opts.criterion,
    opts.minRatio,
  );
  candidates.forEach((l, i) => (l.decision = plan.decisions[i]));
  return { layers, tau: plan.tau };
}

export interface Factorized {
  factors: LowRankFactors;
  /** The matrix as read (float64). */
  w: Float64Array;
  relError: number;
  optimal: number;
  svd: 'exact' | 'randomized';
}

/** auto: the randomized path where it is much cheaper (a large matrix, r + oversampling ≤ min(m, n)/4). */
function wantsRandomized(choice: SvdChoice | undefined, rows: number, cols: number, r: number): boolean {
  if (!choice || choice.method === 'exact') return false;
  if (choice.method === 'randomized') return true;
  const n = Math.min(rows, cols);
  return n > 1024 && r + 10 <= n / 4;
}

/**
 * Reads W and computes its rank-r factors and their error. A randomized result is checked against the exact
 * optimum √(Σ dropped σ²/Σ σ²) from the spectrum; more power iterations (2, 4, 6), then the exact SVD, when it misses.
 */
export async function factorizeLayer(ck: Checkpoint, l: LayerWork, gram?: GramBackend, choice?: SvdChoice, done?: (name: string) => void): Promise<Factorized> {
  const f = await factorize(ck, l, gram, choice);
  done?.(l.info.name);
  return f;
}

async function factorize(ck: Checkpoint, l: LayerWork, gram?: GramBackend, choice?: SvdChoice): Promise<Factorized> {
  const w = (await ck.read(l.info.name, 'float64')) as Float64Array;
  const layout = l.layout!;
  const r = l.decision!.rank;
  const m = { rows: layout.rows, cols: layout.cols, data: w };
  const optimal = optimalRelativeError(l.evals!, r);
  if (wantsRandomized(choice, layout.rows, layout.cols, r)) {
    const tolerance = choice?.tolerance ?? 0.01;
    for (const q of [2, 4, 6]) {
      const factors = randomizedSvd(m, r, { powerIterations: q, seed: choice?.seed });
      const relError = relativeFrobeniusError(w, reconstruct(factors));
      if (relError <= optimal * (1 + tolerance) + 1e-12) return { factors, w, relError, optimal, svd: 'randomized' };
    }
  }
  const factors = await truncatedSvd(m, r, gram);
  return { factors, w, relError: relativeFrobeniusError(w, reconstruct(factors)), optimal, svd: 'exact' };
}

/** The stored dtype of an output tensor: the input's when we can write it, float32 for other floats (quantized, fp8). */
export function outputDtype(dtype: string): WritableDtype {
  switch (dtype) {
    case 'float64':
    case 'float32':
    case 'float16':
    case 'bfloat16':
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint8':
    case 'bool':
      return dtype;
    case 'uint16':
      return 'int32';
    case 'uint32':
    case 'uint64':
      return 'int64';
    default:
      return 'float32';
  }
}

/** The result row of a layer left as it is. */
export function unchangedRow(l: LayerWork): CompressLayerResult {
  const full = l.decision?.fullRank ?? (l.layout ? Math.min(l.layout.rows, l.layout.cols) : 0);
  return {
    name: l.info.name,
    shape: [...l.info.shape],
    rank: full,
    full_rank: full,
    compressed: false,
    params_before: l.info.numel,
    params_after: l.info.numel,
    rel_error: 0,
    reason: l.decision?.reason,
  };
}

/** The result row of a compressed layer; `paramsAfter` as written by the emit mode. */
export function compressedRow(l: LayerWork, f: Factorized, paramsAfter: number): CompressLayerResult {
  return {
    name: l.info.name,
    shape: [...l.info.shape],
    rank: l.decision!.rank,
    full_rank: l.decision!.fullRank,
    compressed: true,
    params_before: l.info.numel,
    params_after: paramsAfter,
    rel_error: f.relError,
    optimal_rel_error: f.optimal,
    svd: f.svd,
  };
}
