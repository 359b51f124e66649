/**
 * The weight-matching cost of one permutation (Ainsworth et al. 2023, eq. 3 / `weight_matching`):
 * C = Σ over the places it acts of Wᵃ_(k) · (W′ᵇ_(k))ᵀ, where W_(k) puts the permuted factor's positions in rows and
 * everything else (other axes, other factors of the segment) in columns, and W′ᵇ has every other permutation applied.
 */
import { segmentSize, type AxisSpec, type PermOccurrence } from './spec';
import { numelOf, type HeldTensor } from './tensor';

/** Rows = positions of factor `occ.factor` of segment `occ.segment` on axis `occ.axis`; columns in a fixed order. */
export function unfoldFactor(t: HeldTensor, axes: readonly AxisSpec[], occ: PermOccurrence): { x: Float32Array; n: number; m: number } {
  const ax = axes[occ.axis]!;
  const dim = t.shape[occ.axis];
  const inner = numelOf(t.shape.slice(occ.axis + 1));
  const outer = numelOf(t.shape.slice(0, occ.axis));
  let offset = 0;
  for (let s = 0; s < occ.segment; s++) offset += segmentSize(ax[s]);
  const sizes = ax[occ.segment].map((f) => f.size);
  const n = sizes[occ.factor];
  const pre = numelOf(sizes.slice(0, occ.factor));
  const post = numelOf(sizes.slice(occ.factor + 1));
  const m = outer * pre * post * inner;
  const x = new Float32Array(n * m);
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < pre; a++) {
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < post; c++) {
          const src = (o * dim + offset + (a * n + r) * post + c) * inner;
          const dst = r * m + ((o * pre + a) * post + c) * inner;
          x.set(t.data.subarray(src, src + inner), dst);
        }
      }
    }
  }
  return { x, n, m };
}

/** Adds xa · xbᵀ (both n × m, row-major) to the n × n matrix c. */
export type CostProduct = (c: Float64Array, xa: Float32Array, xb: Float32Array, n: number, m: number) => Promise<void>;

/** Plain TypeScript product, float64 accumulation: for small layers, and the reference for the onnxruntime one. */
export const typescriptProduct: CostProduct = async (c, xa, xb, n, m) => {
  for (let i = 0; i < n; i++) {
    const ai = i * m;
    for (let j = 0; j < n; j++) {
      const bj = j * m;
      let s = 0;
      for (let k = 0; k < m; k++) s += xa[ai + k] * xb[bj + k];
      c[i * n + j] += s;
    }
  }
};
