import { guessKind, type TensorKind } from '../../checkpoint/kind';
import type { Checkpoint, TensorInfo } from '../../checkpoint/types';
import { matrixLayout, type MatrixLayout } from '../../tensor/matrix-view';

/** Which tensors are analysed, and WeightWatcher's layer filter (layer_supported, weightwatcher.py l.1665). */
export interface LayerFilterOptions {
  /** Only tensors whose name matches. */
  filter?: RegExp;
  /** Skip when M·rf < min_evals (WeightWatcher default 10). */
  minEvals: number;
  /** Skip when M·rf > max_evals (WeightWatcher default 15000). */
  maxEvals: number;
  /** Skip when N > max_N (WeightWatcher default 50000). */
  maxN: number;
}

export const DEFAULT_LAYER_FILTER: LayerFilterOptions = { minEvals: 10, maxEvals: 15000, maxN: 50000 };

export interface LayerPlan {
  /** The tensor's name as stored. */
  name: string;
  /** 1-based position among the analysable tensors, in checkpoint order (WeightWatcher's layer_id). */
  layerId: number;
  shape: number[];
  kind: TensorKind;
  dtype: string;
  layout: MatrixLayout;
  /** max / min of one matrix's dimensions (per slice for convolutions), as WeightWatcher's N and M. */
  N: number;
  M: number;
  /** Receptive field: how many slices are pooled (kh·kw for Conv2D). */
  rf: number;
  /** Why WeightWatcher's filter leaves this layer out; undefined when it is analysed. */
  skipped?: string;
}

/** Integer tensors are indices and shapes, never weight matrices. */
const NON_WEIGHT_DTYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint16', 'uint32', 'uint64', 'bool']);

/** True for tensors that are weight matrices (rank ≥ 2, floating or quantized, not a norm or bias). */
export function isWeightMatrix(t: TensorInfo, kind: TensorKind): boolean {
  if (t.shape.length < 2 || t.shape.length > 4) return false;
  if (NON_WEIGHT_DTYPES.has(t.dtype)) return false;
  if (kind === 'norm' || kind === 'bias') return false;
  return t.shape.every((d) => d > 0);
}

export function planLayers(ckpt: Checkpoint, opts: LayerFilterOptions = DEFAULT_LAYER_FILTER): LayerPlan[] {
  const plans: LayerPlan[] = [];
  for (const t of ckpt.tensors) {
    if (opts.filter && !opts.filter.test(t.name)) continue;
    const kind = guessKind(t.name, t.shape);
    if (!isWeightMatrix(t, kind)) continue;
    const layout = matrixLayout(t.shape, kind, ckpt.format);
    if (!layout) continue;
    const N = Math.max(layout.rows, layout.cols);
    const M = Math.min(layout.rows, layout.cols);
    const rf = layout.count;
    const plan: LayerPlan = { name: t.name, layerId: plans.length + 1, shape: [...t.shape], kind, dtype: t.dtype, layout, N, M, rf };
    if (M * rf < opts.minEvals) plan.skipped = `M·rf = ${M * rf} < min_evals (${opts.minEvals})`;
    else if (M * rf > opts.maxEvals) plan.skipped = `M·rf = ${M * rf} > max_evals (${opts.maxEvals})`;
    else if (N > opts.maxN) plan.skipped = `N = ${N} > max_N (${opts.maxN})`;
    plans.push(plan);
  }
  return plans;
}
