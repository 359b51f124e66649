/**
 * Git Re-Basin weight matching (Ainsworth, Hayase & Srinivasa, ICLR 2023, Algorithm 1 and `weight_matching` in
 * their code): coordinate descent over the permutations, visited in a random (seeded) order each sweep; each step
 * solves a linear assignment problem maximising ⟨Wᵃ, P W′ᵇ⟩ for one permutation with the others held fixed; stop
 * when a whole sweep improves nothing. Unlike the reference code, a permutation is replaced only when the new one
 * is strictly better, so ties cannot make the search cycle.
 */
import { unfoldFactor, typescriptProduct, type CostProduct } from './cost';
import { solveAssignment } from './lap';
import { identityPermutations, permuteTensor } from './permute';
import { Rng } from './rng';
import { occurrences, type PermutationSpec } from './spec';
import type { TensorSet } from './tensor';

export interface MatchOptions {
  seed?: number;
  maxSweeps?: number;
  product?: CostProduct;
  /** Called after each permutation update (for progress and cancel: throw to stop). */
  onStep?: (info: { sweep: number; perm: string; gain: number }) => void | Promise<void>;
}

export interface MatchResult {
  perms: Map<string, Int32Array>;
  sweeps: number;
  /** Σ ⟨Wᵃ, P(Wᵇ)⟩ over the spec's tensors at the end (what the search maximises). */
  objective: number;
}

export async function weightMatching(a: TensorSet, b: TensorSet, spec: PermutationSpec, opts: MatchOptions = {}): Promise<MatchResult> {
  const product = opts.product ?? typescriptProduct;
  const maxSweeps = opts.maxSweeps ?? 100;
  const rng = new Rng(opts.seed ?? 0);
  const perms = identityPermutations(spec);
  const where = occurrences(spec);
  const names = [...spec.perms.keys()];
  let sweep = 0;
  let objective = 0;
  for (; sweep < maxSweeps; sweep++) {
    let progress = false;
    for (const idx of rng.permutation(names.length)) {
      const p = names[idx];
      const n = spec.perms.get(p)!;
      const c = new Float64Array(n * n);
      for (const occ of where.get(p)!) {
        const axes = spec.axes.get(occ.tensor)!;
        const ta = a.get(occ.tensor)!;
        const tb = permuteTensor(b.get(occ.tensor)!, axes, perms, occ);
        const xa = unfoldFactor(ta, axes, occ);
        const xb = unfoldFactor(tb, axes, occ);
        await product(c, xa.x, xb.x, n, xa.m);
      }
      const current = perms.get(p)!;
      const next = solveAssignment(c, n, n, true);
      let old = 0;
      for (let i = 0; i < n; i++) old += c[i * n + current[i]];
      const gain = next.total - old;
      if (gain > 1e-12 * Math.max(1, Math.abs(old))) {
        perms.set(p, next.colForRow);
        progress = true;
      }
      await opts.onStep?.({ sweep, perm: p, gain: Math.max(0, gain) });
    }
    if (!progress) {
      sweep++;
      break;
    }
  }
  for (const [name, axes] of spec.axes) {
    const ta = a.get(name)!.data;
    const tb = permuteTensor(b.get(name)!, axes, perms).data;
    for (let i = 0; i < ta.length; i++) objective += ta[i] * tb[i];
  }
  return { perms, sweeps: sweep, objective };
}
