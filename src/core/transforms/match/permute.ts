/**
 * Applying permutations to tensors. Convention of Git Re-Basin's `get_permuted_param`: a permutation `p` of size n
 * maps B into A's basis by taking, along the axis, position i of the result from position p[i] of B.
 */
import type { AxisSpec, PermutationSpec } from './spec';
import { numelOf, type HeldTensor } from './tensor';

export type Permutations = ReadonlyMap<string, Int32Array>;

/**
 * The gather index of one axis: result[i] = source[index[i]]. `skip` names a (segment, factor) left unpermuted
 * (used while solving for that factor's permutation). Returns undefined for an axis that does not move.
 */
export function axisGather(ax: AxisSpec, length: number, perms: Permutations, skip?: { segment: number; factor: number }): Int32Array | undefined {
  if (ax === null) return undefined;
  const index = new Int32Array(length);
  let offset = 0;
  ax.forEach((seg, s) => {
    const sizes = seg.map((f) => f.size);
    const maps = seg.map((f, k) => (f.perm === null || (skip && skip.segment === s && skip.factor === k) ? undefined : perms.get(f.perm)));
    const n = numelOf(sizes);
    const digits = new Int32Array(sizes.length);
    for (let lin = 0; lin < n; lin++) {
      // Row-major digits of `lin`, each mapped through its factor's permutation, recombined.
      let rest = lin;
      for (let k = sizes.length - 1; k >= 0; k--) {
        digits[k] = rest % sizes[k];
        rest = (rest - digits[k]) / sizes[k];
      }
      let src = 0;
      for (let k = 0; k < sizes.length; k++) src = src * sizes[k] + (maps[k] ? maps[k]![digits[k]] : digits[k]);
      index[offset + lin] = offset + src;
    }
    offset += n;
  });
  return index;
}

/** result = source with `index` gathered along `axis` (row-major). */
export function gatherAxis(data: Float32Array, shape: readonly number[], axis: number, index: Int32Array): Float32Array {
  const dim = shape[axis];
  const inner = numelOf(shape.slice(axis + 1));
  const outer = numelOf(shape.slice(0, axis));
  const out = new Float32Array(data.length);
  for (let o = 0; o < outer; o++) {
    const base = o * dim * inner;
    for (let i = 0; i < dim; i++) {
      const from = base + index[i] * inner;
      out.set(data.subarray(from, from + inner), base + i * inner);
    }
  }
  return out;
}

/** The tensor with every axis of its spec permuted (a copy; the input is untouched when nothing moves it). */
export function permuteTensor(
  t: HeldTensor,
  axes: readonly AxisSpec[] | undefined,
  perms: Permutations,
  skip?: { axis: number; segment: number; factor: number },
): HeldTensor {
  if (!axes) return t;
  let data = t.data;
  axes.forEach((ax, i) => {
    const index = axisGather(ax, t.shape[i], perms, skip && skip.axis === i ? skip : undefined);
    if (index && !isIdentity(index)) data = gatherAxis(data, t.shape, i, index);
  });
  return { shape: t.shape, data };
}

function isIdentity(index: Int32Array): boolean {
  for (let i = 0; i < index.length; i++) if (index[i] !== i) return false;
  return true;
}

/** Every tensor of the set with the spec's permutations applied: B expressed in A's basis. */
export function permuteAll(tensors: ReadonlyMap<string, HeldTensor>, spec: PermutationSpec, perms: Permutations): Map<string, HeldTensor> {
  const out = new Map<string, HeldTensor>();
  for (const [name, t] of tensors) out.set(name, permuteTensor(t, spec.axes.get(name), perms));
  return out;
}

export function identityPermutations(spec: PermutationSpec): Map<string, Int32Array> {
  const out = new Map<string, Int32Array>();
  for (const [name, n] of spec.perms) out.set(name, Int32Array.from({ length: n }, (_, i) => i));
  return out;
}
