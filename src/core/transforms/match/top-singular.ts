/**
 * The top k singular triplets of a matrix: exact one-sided Jacobi for small matrices, otherwise the randomized range
 * finder with power iterations of Halko, Martinsson & Tropp (2011, Algorithms 4.4 and 5.1) followed by Jacobi on the
 * small projected matrix.
 */
import { Rng } from './rng';
import { thinSvd, type Svd } from './svd';

const EXACT_MAX_SIDE = 256;
const OVERSAMPLE = 10;
const POWER_ITERATIONS = 6;

export function topSingular(a: Float32Array | Float64Array, m: number, n: number, k: number, seed = 0): Svd {
  if (Math.min(m, n) <= EXACT_MAX_SIDE) return truncate(thinSvd(a, m, n), k);
  const l = Math.min(k + OVERSAMPLE, m, n);
  const rng = new Rng(seed);
  // Y = A Ω with Ω Gaussian n × l; columns stored as separate vectors.
  let q = orthonormalize(multiply(a, m, n, gaussian(rng, n, l)));
  for (let it = 0; it < POWER_ITERATIONS; it++) {
    const z = orthonormalize(multiplyT(a, m, n, q));
    q = orthonormalize(multiply(a, m, n, z));
  }
  // B = Qᵀ A (l × n), its SVD, U = Q Ũ.
  const bMat = new Float64Array(q.length * n);
  for (let r = 0; r < q.length; r++) {
    const qr = q[r];
    for (let i = 0; i < m; i++) {
      const w = qr[i];
      if (w === 0) continue;
      const row = i * n;
      for (let j = 0; j < n; j++) bMat[r * n + j] += w * a[row + j];
    }
  }
  const small = truncate(thinSvd(bMat, q.length, n), k);
  const u = small.u.map((ut) => {
    const out = new Float64Array(m);
    ut.forEach((w, r) => {
      for (let i = 0; i < m; i++) out[i] += w * q[r][i];
    });
    return out;
  });
  return { u, s: small.s, v: small.v, m, n };
}

function truncate(s: Svd, k: number): Svd {
  const r = Math.min(k, s.s.length);
  return { u: s.u.slice(0, r), s: s.s.slice(0, r), v: s.v.slice(0, r), m: s.m, n: s.n };
}

function gaussian(rng: Rng, n: number, l: number): Float64Array[] {
  return Array.from({ length: l }, () => Float64Array.from({ length: n }, () => rng.normal()));
}

/** A x for each column x (length n) → columns of length m. */
function multiply(a: ArrayLike<number>, m: number, n: number, xs: Float64Array[]): Float64Array[] {
  return xs.map((x) => {
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) s += a[row + j] * x[j];
      y[i] = s;
    }
    return y;
  });
}

/** Aᵀ y for each column y (length m) → columns of length n. */
function multiplyT(a: ArrayLike<number>, m: number, n: number, ys: Float64Array[]): Float64Array[] {
  return ys.map((y) => {
    const x = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const w = y[i];
      if (w === 0) continue;
      const row = i * n;
      for (let j = 0; j < n; j++) x[j] += w * a[row + j];
    }
    return x;
  });
}

/** Modified Gram–Schmidt, twice (“twice is enough”, Giraud et al. 2005); drops columns that vanish. */
function orthonormalize(cols: Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  for (const c0 of cols) {
    const c = Float64Array.from(c0);
    const before = Math.sqrt(dot(c, c));
    for (let pass = 0; pass < 2; pass++) {
      for (const q of out) {
        const d = dot(q, c);
        for (let i = 0; i < c.length; i++) c[i] -= d * q[i];
      }
    }
    const norm = Math.sqrt(dot(c, c));
    if (norm <= 1e-12 * Math.max(before, 1e-300)) continue;
    for (let i = 0; i < c.length; i++) c[i] /= norm;
    out.push(c);
  }
  return out;
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}
