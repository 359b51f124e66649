/**
 * The permutation spec file (`match --spec FILE`), documented in docs/merging.md:
 *
 *   { "perms":   { "<name>": <size>, ... },
 *     "tensors": { "<tensor name>": [ <axis>, ... one per axis ] } }
 *
 *   <axis>    = null (never moved) | "<perm>" (the whole axis) | [ <segment>, ... ] (a concatenation, in order)
 *   <segment> = "<perm>" | { "fixed": <n> } | [ <factor>, ... ] (row-major product, e.g. heads × head_dim)
 *   <factor>  = "<perm>" | { "fixed": <n> }
 *
 * Sizes of "<perm>" entries come from "perms". Tensors not listed are never permuted.
 */
import { SpecError, type AxisFactor, type AxisSegment, type AxisSpec, type PermutationSpec } from './spec';

function parseFactor(x: unknown, perms: ReadonlyMap<string, number>, where: string): AxisFactor {
  if (typeof x === 'string') {
    const size = perms.get(x);
    if (size === undefined) throw new SpecError(`${where}: permutation "${x}" is not declared in "perms"`);
    return { size, perm: x };
  }
  if (x && typeof x === 'object' && !Array.isArray(x) && 'fixed' in x) {
    const n = (x as { fixed: unknown }).fixed;
    if (typeof n === 'number' && Number.isInteger(n) && n > 0) return { size: n, perm: null };
  }
  throw new SpecError(`${where}: expected a permutation name or {"fixed": n}, got ${JSON.stringify(x)}`);
}

function parseSegment(x: unknown, perms: ReadonlyMap<string, number>, where: string): AxisSegment {
  if (Array.isArray(x)) {
    if (x.length === 0) throw new SpecError(`${where}: empty factor list`);
    return x.map((f, i) => parseFactor(f, perms, `${where} factor ${i}`));
  }
  return [parseFactor(x, perms, where)];
}

function parseAxis(x: unknown, perms: ReadonlyMap<string, number>, where: string): AxisSpec {
  if (x === null) return null;
  if (typeof x === 'string') return [[parseFactor(x, perms, where)]];
  if (Array.isArray(x)) {
    if (x.length === 0) throw new SpecError(`${where}: empty segment list`);
    return x.map((s, i) => parseSegment(s, perms, `${where} segment ${i}`));
  }
  throw new SpecError(`${where}: expected null, a permutation name or a list of segments, got ${JSON.stringify(x)}`);
}

export function parseSpecJson(text: string, file = 'spec'): PermutationSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SpecError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new SpecError(`${file}: expected an object with "perms" and "tensors"`);
  const { perms: p, tensors: t } = doc as { perms?: unknown; tensors?: unknown };
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new SpecError(`${file}: "perms" must be an object of name → size`);
  if (!t || typeof t !== 'object' || Array.isArray(t)) throw new SpecError(`${file}: "tensors" must be an object of tensor name → axes`);
  const perms = new Map<string, number>();
  for (const [name, size] of Object.entries(p)) {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw new SpecError(`${file}: permutation "${name}" needs a positive whole size`);
    perms.set(name, size);
  }
  const axes = new Map<string, AxisSpec[]>();
  for (const [name, list] of Object.entries(t)) {
    if (!Array.isArray(list)) throw new SpecError(`${file}: "${name}" needs a list with one entry per axis`);
    axes.set(name, list.map((a, i) => parseAxis(a, perms, `${file}: "${name}" axis ${i}`)));
  }
  return { perms, axes };
}

/** The spec as a spec file document (inverse of parseSpecJson). */
export function specToJson(spec: PermutationSpec): { perms: Record<string, number>; tensors: Record<string, unknown[]> } {
  const factor = (f: AxisFactor) => (f.perm === null ? { fixed: f.size } : f.perm);
  const tensors: Record<string, unknown[]> = {};
  for (const [name, axes] of spec.axes) {
    tensors[name] = axes.map((ax) => {
      if (ax === null) return null;
      if (ax.length === 1 && ax[0].length === 1 && ax[0][0].perm !== null) return ax[0][0].perm;
      return ax.map((seg) => (seg.length === 1 ? factor(seg[0]) : seg.map(factor)));
    });
  }
  return { perms: Object.fromEntries(spec.perms), tensors };
}
