import { thinSvd } from '../../match/svd';
import type { GlobalPass, MergeMethod, TensorInputs } from '../types';

/**
 * OPCM, Tang et al. 2025, "Merging models on the fly without retraining: a sequential approach to scalable continual
 * model merging" (fusion_bench `opcm`, OPCMForCLIP). Models arrive in the given order. With τₜ = θₜ − θ₀ and the
 * running, unscaled merged update Nₜ (N₁ = τ₁):
 *  - for a linear weight (2-D, not an embedding): SVD Nₜ₋₁ = U S Vᵀ, split rank r = first i with
 *    Σ_{j≤i} s_j / Σ s > α; project τₜ: P = Uᵀ τₜ V, zero P's diagonal and its top-left r × r block, Nₜ = Nₜ₋₁ + U P Vᵀ
 *    (τₜ with its components in the merged update's top singular subspace and along its singular pairs removed);
 *  - any other parameter: Nₜ = Nₜ₋₁ + τₜ;
 *  - adaptive norm scaling: θ = θ₀ + N_T · mean_t‖τₜ‖ / ‖N_T‖, norms over the whole model. (fusion_bench rescales
 *    after every step by λₜ; the final model is the same, since each step's projection depends only on the direction
 *    of the merged update.)
 * Per tensor it holds the base, the running update and one model's tensor: memory is constant in the model count.
 */
export const opcm: MergeMethod = {
  name: 'opcm',
  description: 'sequential orthogonal-projection continual merge with adaptive norm scaling',
  source: 'Tang et al. 2025 (OPCM); fusion_bench method/opcm/opcm.py',
  params: [{ name: 'alpha', default: 0.5, min: 0, max: 1, description: 'energy fraction of the merged update whose singular subspace new task vectors avoid' }],
  base: 'required',
  minModels: 1,
  async mergeTensor(t) {
    const base = await t.base();
    const n = base.length;
    const taskNorms2: number[] = [];
    const first = await t.read(0);
    const acc = new Float64Array(n);
    let norm2 = 0;
    for (let k = 0; k < n; k++) {
      acc[k] = first[k] - base[k];
      norm2 += acc[k] * acc[k];
    }
    taskNorms2.push(norm2);
    const linear = t.shape.length === 2 && t.kind !== 'embedding';
    const splitRanks: number[] = [];
    for (let i = 1; i < t.count; i++) {
      const x = await t.read(i);
      const tau = new Float64Array(n);
      let s2 = 0;
      for (let k = 0; k < n; k++) {
        tau[k] = x[k] - base[k];
        s2 += tau[k] * tau[k];
      }
      taskNorms2.push(s2);
      if (linear) {
        const { cleaned, rank } = projectOut(acc, tau, t.shape[0], t.shape[1], t.params.alpha);
        splitRanks.push(rank);
        for (let k = 0; k < n; k++) acc[k] += cleaned[k];
      } else {
        for (let k = 0; k < n; k++) acc[k] += tau[k];
      }
    }
    let merged2 = 0;
    for (let k = 0; k < n; k++) merged2 += acc[k] * acc[k];
    const extra: Record<string, number> = { merged2 };
    taskNorms2.forEach((v, i) => (extra[`task${i}`] = v));
    return {
      values: Float32Array.from(base, (b, k) => b + acc[k]),
      figures: linear ? { split_ranks: splitRanks } : undefined,
      extra,
    };
  },
  globalPass(): GlobalPass {
    let merged2 = 0;
    const task2: number[] = [];
    return {
      accumulate(_t: TensorInputs, _r, extra) {
        merged2 += extra.merged2;
        for (const [key, v] of Object.entries(extra)) {
          const m = /^task(\d+)$/.exec(key);
          if (m) task2[Number(m[1])] = (task2[Number(m[1])] ?? 0) + v;
        }
      },
      finalize() {
        const avg = task2.reduce((a, v) => a + Math.sqrt(v), 0) / (task2.length || 1);
        const norm = Math.sqrt(merged2);
        const scale = norm > 0 ? avg / norm : 1;
        return (values, base) => Float32Array.from(values, (v, k) => base[k] + (v - base[k]) * scale);
      },
    };
  },
};

/** τ without the merged update's top-r singular block and its singular-pair diagonal (fusion_bench merge_linear_weights). */
export function projectOut(merged: Float64Array, tau: Float64Array, m: number, n: number, alpha: number): { cleaned: Float64Array; rank: number } {
  const svd = thinSvd(merged, m, n);
  const k = svd.s.length;
  let total = 0;
  for (const s of svd.s) total += s;
  let rank = 0;
  if (total > 0) {
    let cum = 0;
    rank = k - 1;
    for (let i = 0; i < k; i++) {
      cum += svd.s[i];
      if (cum / total > alpha) {
        rank = i;
        break;
      }
    }
  }
  // tv_j = τ v_j (m-vectors) for every j < k; p_ij = u_iᵀ τ v_j.
  const tv = svd.v.map((vj) => {
    const y = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      let s = 0;
      const row = r * n;
      for (let c = 0; c < n; c++) s += tau[row + c] * vj[c];
      y[r] = s;
    }
    return y;
  });
  const cleaned = Float64Array.from(tau);
  const remove = (i: number, j: number) => {
    const ui = svd.u[i];
    let p = 0;
    for (let r = 0; r < m; r++) p += ui[r] * tv[j][r];
    if (p === 0) return;
    const vj = svd.v[j];
    for (let r = 0; r < m; r++) {
      const f = p * ui[r];
      if (f === 0) continue;
      const row = r * n;
      for (let c = 0; c < n; c++) cleaned[row + c] -= f * vj[c];
    }
  };
  for (let i = 0; i < rank; i++) for (let j = 0; j < rank; j++) remove(i, j);
  for (let i = rank; i < k; i++) remove(i, i);
  return { cleaned, rank };
}
