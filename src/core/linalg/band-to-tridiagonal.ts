import { householderVector } from './householder';

/**
 * A symmetric band matrix, lower triangle, with room for the bulges of the chase: element (r, c), 0 ≤ r − c ≤ 2b,
 * at r·(width − 1) + c + 2b (row-major, so every row segment the kernels touch is contiguous).
 */
export interface LowerBand {
  n: number;
  /** Bandwidth of the input (sub-diagonals); the chase needs up to 2b. */
  b: number;
  width: number;
  data: Float64Array;
}

export function lowerBand(n: number, b: number): LowerBand {
  const width = 2 * b + 1;
  return { n, b, width, data: new Float64Array(n * width) };
}

export function bandIndex(band: LowerBand, r: number, c: number): number {
  return r * (band.width - 1) + c + 2 * band.b;
}

/**
 * Band → tridiagonal by Householder bulge chasing, eigenvalues only (the second stage of the two-stage
 * reduction: LAPACK dsytrd_sb2st with the dsb2st_kernels task types 1–3; Haidar, Ltaief & Dongarra, SC'11).
 * Sweep i annihilates column i below its sub-diagonal with one reflector of length ≤ b, applies it to the
 * diagonal block, and chases the bulge it creates down the band one b×b block at a time. O(6 n² b) flops.
 * Overwrites the band; returns the diagonal d and sub-diagonal e.
 */
export function bandToTridiagonal(band: LowerBand): { d: Float64Array; e: Float64Array } {
  const { n, b, data: a } = band;
  const W1 = band.width - 1;
  const o = 2 * b;
  const v = new Float64Array(b + 1);
  let vn = new Float64Array(b + 1);
  let vc = v;
  const w = new Float64Array(b + 1);
  if (b > 1) {
    for (let i = 0; i < n - 2; i++) {
      let st = i + 1;
      let ed = Math.min(i + b, n - 1);
      if (ed - st + 1 < 2) continue;
      // Task 1: annihilate column i below the sub-diagonal, apply H on both sides of the diagonal block.
      let { tau, beta } = householderVector(a, st * W1 + i + o, ed - st + 1, W1, vc, 0);
      if (tau === 0) continue;
      a[st * W1 + i + o] = beta;
      for (let r = st + 1; r <= ed; r++) a[r * W1 + i + o] = 0;
      twoSided(a, W1, o, st, ed - st + 1, vc, tau, w);
      for (;;) {
        // Task 2: H from the right on the block below (creates the bulge), a new reflector annihilates the bulge's
        // first column, applied from the left to the block's other columns.
        const j1 = ed + 1;
        const j2 = Math.min(ed + b, n - 1);
        const lm = j2 - j1 + 1;
        const ln = ed - st + 1;
        if (lm <= 0) break;
        for (let r = j1; r <= j2; r++) {
          const base = r * W1 + st + o;
          let s = 0;
          for (let c = 0; c < ln; c++) s += a[base + c] * vc[c];
          s *= tau;
          if (s !== 0) for (let c = 0; c < ln; c++) a[base + c] -= s * vc[c];
        }
        const g = householderVector(a, j1 * W1 + st + o, lm, W1, vn, 0);
        a[j1 * W1 + st + o] = g.beta;
        for (let r = j1 + 1; r <= j2; r++) a[r * W1 + st + o] = 0;
        if (g.tau === 0) break;
        w.fill(0, 0, ln);
        for (let r = 0; r < lm; r++) {
          const base = (j1 + r) * W1 + st + o;
          const vr = vn[r];
          for (let c = 1; c < ln; c++) w[c] += vr * a[base + c];
        }
        for (let r = 0; r < lm; r++) {
          const base = (j1 + r) * W1 + st + o;
          const f = g.tau * vn[r];
          for (let c = 1; c < ln; c++) a[base + c] -= f * w[c];
        }
        // Task 3: the new reflector on both sides of the next diagonal block.
        twoSided(a, W1, o, j1, lm, vn, g.tau, w);
        const t = vc;
        vc = vn;
        vn = t;
        tau = g.tau;
        beta = g.beta;
        st = j1;
        ed = j2;
      }
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) d[i] = a[i * W1 + i + o];
  for (let i = 0; i + 1 < n; i++) e[i] = a[(i + 1) * W1 + i + o];
  return { d, e };
}

/** D ← H D H for the symmetric len×len diagonal block at (st, st), lower triangle (LAPACK dlarfy). */
function twoSided(a: Float64Array, W1: number, o: number, st: number, len: number, v: Float64Array, tau: number, w: Float64Array): void {
  w.fill(0, 0, len);
  for (let r = 0; r < len; r++) {
    const base = (st + r) * W1 + st + o;
    const vr = v[r];
    let acc = 0;
    for (let c = 0; c < r; c++) {
      const x = a[base + c];
      acc += x * v[c];
      w[c] += x * vr;
    }
    w[r] += acc + a[base + r] * vr;
  }
  let dot = 0;
  for (let k = 0; k < len; k++) {
    w[k] *= tau;
    dot += w[k] * v[k];
  }
  const alpha = -0.5 * tau * dot;
  for (let k = 0; k < len; k++) w[k] += alpha * v[k];
  for (let r = 0; r < len; r++) {
    const base = (st + r) * W1 + st + o;
    const vr = v[r];
    const wr = w[r];
    for (let c = 0; c <= r; c++) a[base + c] -= vr * w[c] + wr * v[c];
  }
}
