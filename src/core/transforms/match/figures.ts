/**
 * What matching changed: ‖θa − θb‖ before and after, per tensor, and how well the top singular vectors line up.
 *
 * Singular-vector alignment (after Ito, Yamada & Kumagai 2024, "Analysis of linear mode connectivity via
 * permutation-based weight matching", who show weight matching mainly aligns the singular vectors with large σ):
 * with Wᵃ = Σ σᵃ_i uᵃ_i vᵃ_iᵀ and Wᵇ = Σ σᵇ_i uᵇ_i vᵇ_iᵀ (after matching, Wᵇ is P Wᵇ Qᵀ, whose singular vectors are
 * P uᵇ_i and Q vᵇ_i and whose singular values are unchanged), for the top k = min(8, rank) pairs by index:
 *   u = Σ_i w_i |⟨uᵃ_i, uᵇ_i⟩| / Σ_i w_i,   v = Σ_i w_i |⟨vᵃ_i, vᵇ_i⟩| / Σ_i w_i,   w_i = √(σᵃ_i σᵇ_i).
 * 1 = the top singular directions coincide (up to sign); near 0 = unrelated. u is the output side of the layer.
 */
import type { Svd } from './svd';
import { topSingular } from './top-singular';
import { squaredDistance, type HeldTensor } from './tensor';

export const SV_TOP_K = 8;
/** Larger matrices are not decomposed (the figure is left out) to keep match fast. */
export const SV_MAX_ELEMENTS = 1 << 22;

export interface SvAlignment {
  k: number;
  u: number;
  v: number;
}

/** Which axis holds a layer's outputs: the last one for TF-layout kernels ([in, out], [kh, kw, in, out]), else the first. */
export type OutputAxis = 'first' | 'last';

/** The top singular triplets of a tensor seen as a matrix, or undefined when it is not one (or too large). */
export function tensorSvd(t: HeldTensor, out: OutputAxis): Svd | undefined {
  if (t.shape.length < 2 || t.data.length > SV_MAX_ELEMENTS) return undefined;
  // Row-major reshape without copying: [first, rest] or [rest, last]; with 'last', u and v swap roles (see svAlignment).
  const rows = out === 'first' ? t.shape[0] : t.data.length / t.shape[t.shape.length - 1];
  const cols = t.data.length / rows;
  if (rows < 1 || cols < 1) return undefined;
  return topSingular(t.data, rows, cols, Math.min(SV_TOP_K, rows, cols));
}

export function svAlignment(a: HeldTensor | Svd, b: HeldTensor, out: OutputAxis): SvAlignment | undefined {
  const sa = 'data' in a ? tensorSvd(a, out) : a;
  const sb = tensorSvd(b, out);
  if (!sa || !sb) return undefined;
  const kk = Math.min(sa.s.length, sb.s.length);
  let wsum = 0;
  let left = 0;
  let right = 0;
  for (let i = 0; i < kk; i++) {
    const w = Math.sqrt(sa.s[i] * sb.s[i]);
    wsum += w;
    left += w * Math.abs(dot(sa.u[i], sb.u[i]));
    right += w * Math.abs(dot(sa.v[i], sb.v[i]));
  }
  if (!(wsum > 0)) return { k: kk, u: 0, v: 0 };
  const [uOut, vIn] = out === 'first' ? [left, right] : [right, left];
  return { k: kk, u: uOut / wsum, v: vIn / wsum };
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

export interface LayerFigures {
  name: string;
  shape: readonly number[];
  permuted: boolean;
  distance_before: number;
  distance_after: number;
  sv_alignment: { before: SvAlignment; after: SvAlignment } | null;
}

export interface MatchFigures {
  distance_before: number;
  distance_after: number;
  layers: LayerFigures[];
}

/** Figures over every tensor both sets hold; `bAligned` is B after matching. */
export function matchFigures(
  a: ReadonlyMap<string, HeldTensor>,
  b: ReadonlyMap<string, HeldTensor>,
  bAligned: ReadonlyMap<string, HeldTensor>,
  permuted: ReadonlySet<string>,
  outputAxis: OutputAxis,
): MatchFigures {
  let before = 0;
  let after = 0;
  const layers: LayerFigures[] = [];
  for (const [name, ta] of a) {
    const tb = b.get(name)!;
    const tc = bAligned.get(name)!;
    const d0 = squaredDistance(ta.data, tb.data);
    const d1 = squaredDistance(ta.data, tc.data);
    before += d0;
    after += d1;
    const moved = permuted.has(name);
    const svdA = moved ? tensorSvd(ta, outputAxis) : undefined;
    const svBefore = svdA ? svAlignment(svdA, tb, outputAxis) : undefined;
    const svAfter = svdA ? svAlignment(svdA, tc, outputAxis) : undefined;
    layers.push({
      name,
      shape: ta.shape,
      permuted: moved,
      distance_before: Math.sqrt(d0),
      distance_after: Math.sqrt(d1),
      sv_alignment: svBefore && svAfter ? { before: svBefore, after: svAfter } : null,
    });
  }
  return { distance_before: Math.sqrt(before), distance_after: Math.sqrt(after), layers };
}
