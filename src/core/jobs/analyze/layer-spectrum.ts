import { JobCancelledError as CancelledError } from '../../cancel';
import { sliceSummary } from '../../analysis/norm-metrics';
import type { TensorData } from '../../checkpoint/types';
import { matrixSpectrum, type GramBackend } from '../../linalg/spectrum';
import { extractMatrix } from '../../tensor/matrix-view';
import type { LayerPlan } from './plan';

export interface LayerSpectrum {
  /** Pooled eigenvalues of every slice's WᵀW, ascending (WeightWatcher combined_eigenvalues). */
  evals: Float64Array;
  /** Per slice: its smallest and largest singular value, and how many eigenvalues it contributed. */
  slices: { svMin: number; svMax: number; count: number; rankLoss: number }[];
  /** 'svd' when any slice needed the direct SVD (ill-conditioned). */
  method: 'gram' | 'svd';
}

/** Conv2D slices are scaled by √½ (WeightWatcher conv2d_norm with pooling: sqrt(conv2d_count/2), count 1). */
export function sliceScale(plan: LayerPlan): number {
  return plan.layout.type === 'conv2d' ? Math.SQRT1_2 : 1;
}

export async function layerSpectrum(
  plan: LayerPlan,
  data: TensorData,
  gram: GramBackend | undefined,
  shouldStop: () => boolean = () => false,
): Promise<LayerSpectrum> {
  const parts: Float64Array[] = [];
  const slices: LayerSpectrum['slices'] = [];
  let method: LayerSpectrum['method'] = 'gram';
  for (let s = 0; s < plan.layout.count; s++) {
    if (shouldStop()) throw new CancelledError();
    const spec = await matrixSpectrum(extractMatrix(data, plan.layout, s), { scale: sliceScale(plan), gram });
    if (spec.method === 'svd') method = 'svd';
    const ev = spec.evals;
    parts.push(ev);
    const summary = sliceSummary(ev, plan.N);
    slices.push({ svMin: summary.minSv, svMax: Math.sqrt(Math.max(0, ev[ev.length - 1])), count: ev.length, rankLoss: summary.rankLoss });
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const evals = new Float64Array(total);
  let o = 0;
  for (const p of parts) {
    evals.set(p, o);
    o += p.length;
  }
  if (parts.length > 1) evals.sort();
  return { evals, slices, method };
}

/** The job was cancelled (one error type for every job: src/core/cancel.ts). */
export { CancelledError };
