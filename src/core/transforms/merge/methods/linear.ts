import type { MergeMethod } from '../types';

/** Weighted average Σ wᵢθᵢ / Σ wᵢ (Wortsman et al. 2022 "model soups"; mergekit `linear` with normalize: true). */
export const linear: MergeMethod = {
  name: 'linear',
  description: 'weighted average of the models',
  source: 'Wortsman et al. 2022 (model soups); mergekit merge_methods/linear.py, normalize=true',
  params: [],
  base: 'none',
  minModels: 1,
  async mergeTensor(t) {
    const acc = new Float64Array(t.shape.reduce((a, b) => a * b, 1));
    let wsum = 0;
    for (let i = 0; i < t.count; i++) {
      const x = await t.read(i);
      const w = t.weights[i];
      wsum += w;
      for (let k = 0; k < acc.length; k++) acc[k] += w * x[k];
    }
    const div = Math.abs(wsum) < 1e-8 ? 1 : wsum;
    return { values: Float32Array.from(acc, (v) => v / div) };
  },
};
