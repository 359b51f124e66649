import { Rng } from '../../match/rng';
import { dropAndRescale } from '../sparsify';
import type { MergeMethod } from '../types';

/**
 * DARE (Yu et al. 2024, "Language models are Super Mario"): drop each task-vector entry with probability
 * 1 − density and rescale the survivors by 1/density, then add the weighted sum to the base: θ = θ₀ + λ Σ wᵢ δ̃ᵢ
 * (mergekit `dare_linear`). The drop mask of model i on tensor T comes from a generator seeded with (seed, i, T), so
 * it does not depend on the order tensors are processed in.
 */
export const dare: MergeMethod = {
  name: 'dare',
  description: 'drop and rescale task vectors, then add them to the base',
  source: 'Yu et al. 2024 (DARE); mergekit dare_linear (random sparsification, rescale 1/density, normalize=false)',
  params: [
    { name: 'density', default: 0.5, min: 0, max: 1, description: 'probability of keeping each task-vector entry' },
    { name: 'lambda', default: 1, description: 'scaling λ of the summed task vectors' },
  ],
  base: 'required',
  minModels: 1,
  async mergeTensor(t) {
    const base = await t.base();
    const mixed = new Float64Array(base.length);
    let keptTotal = 0;
    for (let i = 0; i < t.count; i++) {
      const x = await t.read(i);
      for (let k = 0; k < x.length; k++) x[k] -= base[k];
      const { values, kept } = dropAndRescale(x, t.params.density, Rng.forLabel(t.seed, `${i}\u0000${t.name}`));
      keptTotal += kept;
      const w = t.weights[i];
      for (let k = 0; k < mixed.length; k++) mixed[k] += w * values[k];
    }
    const lambda = t.params.lambda;
    return { values: Float32Array.from(base, (b, k) => b + lambda * mixed[k]), figures: { kept_fraction: keptTotal / (base.length * t.count || 1) } };
  },
};
