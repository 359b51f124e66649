import { keepTopMagnitude } from '../sparsify';
import type { MergeMethod, TensorInputs } from '../types';

/** Trimmed, weighted task vector of model i: top-density magnitudes of θᵢ − θ₀, times wᵢ. */
async function trimmed(t: TensorInputs, base: Float32Array, i: number): Promise<{ d: Float32Array; kept: number }> {
  const x = await t.read(i);
  for (let k = 0; k < x.length; k++) x[k] -= base[k];
  const { values, kept } = keepTopMagnitude(x, t.params.density);
  const w = t.weights[i];
  if (w !== 1) for (let k = 0; k < values.length; k++) values[k] *= w;
  return { d: values, kept };
}

/**
 * TIES-Merging (Yadav et al. 2023), as mergekit's `ties`: trim each task vector to its top `density` magnitudes,
 * weight it, elect the sign of each entry as the sign of the summed weighted vectors (≥ 0 → +), and average only
 * the entries that agree with it (disjoint mean: divide by the summed weights of the agreeing models);
 * θ = θ₀ + λ · mean. Two passes over the models per tensor keep memory constant in their number.
 */
export const ties: MergeMethod = {
  name: 'ties',
  description: 'trim, elect sign, disjoint mean of task vectors',
  source: 'Yadav et al. 2023 (TIES-Merging); mergekit generalized_task_arithmetic.py (magnitude sparsification, sign consensus "sum", normalize=true)',
  params: [
    { name: 'density', default: 0.5, min: 0, max: 1, description: 'fraction of each task vector kept (largest magnitudes)' },
    { name: 'lambda', default: 1, description: 'scaling λ of the merged task vector' },
  ],
  base: 'required',
  minModels: 1,
  async mergeTensor(t) {
    const base = await t.base();
    const n = base.length;
    const signSum = new Float64Array(n);
    let keptTotal = 0;
    for (let i = 0; i < t.count; i++) {
      const { d, kept } = await trimmed(t, base, i);
      keptTotal += kept;
      for (let k = 0; k < n; k++) signSum[k] += d[k];
    }
    const mixed = new Float64Array(n);
    const divisor = new Float64Array(n);
    let conflicts = 0;
    const seenPos = new Uint8Array(n);
    const seenNeg = new Uint8Array(n);
    for (let i = 0; i < t.count; i++) {
      const { d } = await trimmed(t, base, i);
      const w = t.weights[i];
      for (let k = 0; k < n; k++) {
        const s = Math.sign(d[k]);
        if (s > 0) seenPos[k] = 1;
        else if (s < 0) seenNeg[k] = 1;
        const majority = signSum[k] >= 0 ? 1 : -1;
        if (s === majority) {
          mixed[k] += d[k];
          divisor[k] += w;
        }
      }
    }
    for (let k = 0; k < n; k++) if (seenPos[k] && seenNeg[k]) conflicts++;
    const lambda = t.params.lambda;
    const values = Float32Array.from(base, (b, k) => b + (lambda * mixed[k]) / (divisor[k] === 0 ? 1 : divisor[k]));
    return { values, figures: { kept_fraction: keptTotal / (n * t.count || 1), sign_conflict_fraction: conflicts / (n || 1) } };
  },
};
