import type { MergeMethod } from '../types';

/** θ = θ₀ + λ Σ wᵢ(θᵢ − θ₀) (Ilharco et al. 2023, "Editing models with task arithmetic"; mergekit task_arithmetic, λ = 1). */
export const taskArithmetic: MergeMethod = {
  name: 'task-arithmetic',
  description: 'base + λ · weighted sum of task vectors (θᵢ − base)',
  source: 'Ilharco et al. 2023; mergekit generalized_task_arithmetic.py (no sparsification, no consensus, normalize=false)',
  params: [{ name: 'lambda', default: 1, description: 'scaling λ of the summed task vectors' }],
  base: 'required',
  minModels: 1,
  async mergeTensor(t) {
    const base = await t.base();
    const mixed = new Float64Array(base.length);
    for (let i = 0; i < t.count; i++) {
      const x = await t.read(i);
      const w = t.weights[i];
      for (let k = 0; k < mixed.length; k++) mixed[k] += w * (x[k] - base[k]);
    }
    const lambda = t.params.lambda;
    return { values: Float32Array.from(base, (b, k) => b + lambda * mixed[k]) };
  },
};
