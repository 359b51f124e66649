/**
 * Helpers of the analysis tests: oracle access, and float64 singular values (src/core/analysis does no linear algebra):
 * a one-sided Jacobi SVD (Hestenes), accurate for tiny singular values, and a Gram + Householder tridiagonal +
 * implicit-shift QR eigenvalue route, fast enough for 768×768 windows of well-conditioned matrices.
 */

import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import { reader as safetensors } from '../src/core/checkpoint/formats/safetensors';

/** Rows × cols row-major block of a larger row-major matrix, as float64. */
export function subMatrix(W: ArrayLike<number>, ldw: number, rowStart: number, colStart: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = W[(rowStart + i) * ldw + colStart + j];
  return out;
}

/** Squared singular values (ascending) by one-sided Jacobi on the columns of the taller orientation. */
export function jacobiSquaredSingularValues(A: Float64Array, rows: number, cols: number): Float64Array {
  // columns of the tall orientation, each contiguous
  const tall = rows >= cols;
  const m = tall ? rows : cols;
  const n = tall ? cols : rows;
  const U: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const col = new Float64Array(m);
    for (let i = 0; i < m; i++) col[i] = tall ? A[i * cols + j] : A[j * cols + i];
    U.push(col);
  }
  const eps = 2 ** -53;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      const up = U[p];
      for (let q = p + 1; q < n; q++) {
        const uq = U[q];
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const a = up[i];
          const b = uq[i];
          alpha += a * a;
          beta += b * b;
          gamma += a * b;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const a = up[i];
          const b = uq[i];
          up[i] = c * a - s * b;
          uq[i] = s * a + c * b;
        }
      }
    }
    if (!rotated) break;
  }
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += U[j][i] * U[j][i];
    out[j] = s;
  }
  return out.sort();
}

/** Eigenvalues of a symmetric n×n matrix (row-major, overwritten): Householder tridiagonalisation, then implicit Wilkinson-shift QR. */
export function symmetricEigenvalues(S: Float64Array, n: number): Float64Array {
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += S[i * n + k] * S[i * n + k];
    const x0 = S[(k + 1) * n + k];
    const alpha = -(x0 >= 0 ? 1 : -1) * Math.sqrt(norm2);
    let vnorm2 = norm2 - x0 * x0;
    for (let i = k + 1; i < n; i++) v[i] = S[i * n + k];
    v[k + 1] = x0 - alpha;
    vnorm2 += v[k + 1] * v[k + 1];
    if (vnorm2 === 0) continue;
    // H = I - 2 v vᵀ / (vᵀv) on the trailing block: A ← H A H
    const beta = 2 / vnorm2;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += S[i * n + j] * v[j];
      p[i] = beta * s;
    }
    let K = 0;
    for (let i = k + 1; i < n; i++) K += v[i] * p[i];
    K *= beta / 2;
    for (let i = k + 1; i < n; i++) p[i] -= K * v[i];
    for (let i = k + 1; i < n; i++) {
      const vi = v[i];
      const pi = p[i];
      for (let j = k + 1; j < n; j++) S[i * n + j] -= vi * p[j] + pi * v[j];
    }
    S[(k + 1) * n + k] = alpha;
    S[k * n + k + 1] = alpha;
  }
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) d[i] = S[i * n + i];
  for (let i = 0; i < n - 1; i++) e[i] = S[(i + 1) * n + i];
  tridiagonalQr(d, e);
  return d.sort();
}

/** Implicit symmetric QR with Wilkinson shift on diagonal d and off-diagonal e (Golub & Van Loan, Algorithm 8.3.3). */
function tridiagonalQr(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  const eps = 2 ** -52;
  let hi = n - 1;
  let guard = 0;
  while (hi > 0) {
    if (Math.abs(e[hi - 1]) <= eps * (Math.abs(d[hi - 1]) + Math.abs(d[hi]))) {
      e[hi - 1] = 0;
      hi--;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && Math.abs(e[lo - 1]) > eps * (Math.abs(d[lo - 1]) + Math.abs(d[lo]))) lo--;
    if (++guard > 60 * n) throw new Error('tridiagonal QR did not converge');
    const t = (d[hi - 1] - d[hi]) / 2;
    const b = e[hi - 1];
    const mu = d[hi] - (b * b) / (t + (t >= 0 ? 1 : -1) * Math.hypot(t, b));
    let x = d[lo] - mu;
    let z = e[lo];
    for (let k = lo; k < hi; k++) {
      const r = Math.hypot(x, z);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : -z / r;
      if (k > lo) e[k - 1] = r;
      const a = d[k];
      const bk = e[k];
      const dd = d[k + 1];
      d[k] = a * c * c - 2 * bk * c * s + dd * s * s;
      d[k + 1] = a * s * s + 2 * bk * c * s + dd * c * c;
      e[k] = a * c * s + bk * (c * c - s * s) - dd * c * s;
      if (k < hi - 1) {
        z = -s * e[k + 1];
        e[k + 1] = c * e[k + 1];
        x = e[k];
      }
    }
  }
}

/** Squared singular values (ascending) as eigenvalues of the float64 Gram matrix of the smaller side. */
export function gramSquaredSingularValues(A: Float64Array, rows: number, cols: number): Float64Array {
  const tall = rows >= cols;
  const n = tall ? cols : rows;
  const m = tall ? rows : cols;
  const G = new Float64Array(n * n);
  if (tall) {
    // AᵀA: accumulate row by row (rows of A are contiguous)
    for (let r = 0; r < m; r++) {
      const off = r * cols;
      for (let i = 0; i < n; i++) {
        const a = A[off + i];
        if (a === 0) continue;
        for (let j = 0; j <= i; j++) G[i * n + j] += a * A[off + j];
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < m; k++) s += A[i * cols + k] * A[j * cols + k];
        G[i * n + j] = s;
      }
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) G[j * n + i] = G[i * n + j];
  return symmetricEigenvalues(G, n);
}

/** Jacobi for small or possibly rank-deficient blocks (high relative accuracy), Gram beyond `jacobiUpTo` columns. */
export function squaredSingularValues(A: Float64Array, rows: number, cols: number, jacobiUpTo = 128): Float64Array {
  return Math.min(rows, cols) <= jacobiUpTo ? jacobiSquaredSingularValues(A, rows, cols) : gramSquaredSingularValues(A, rows, cols);
}

// ---------------------------------------------------------------------------------------------------------------
// Oracle access for the analysis tests: test/fixtures/oracle/public-reference.json and public.safetensors.


export const ORACLE_DIR = nodePath.join(__dirname, 'fixtures', 'oracle');

/* eslint-disable @typescript-eslint/no-explicit-any */
export type OracleMatrix = Record<string, any>;
export interface Oracle {
  meta: Record<string, any>;
  matrices: Record<string, OracleMatrix>;
}

let oracleCache: Oracle | undefined;
export function loadOracle(): Oracle {
  oracleCache ??= JSON.parse(readFileSync(nodePath.join(ORACLE_DIR, 'public-reference.json'), 'utf8')) as Oracle;
  return oracleCache;
}

/** Every float32 tensor of public.safetensors as float64, read through the project's safetensors reader. */
export async function loadOracleTensors(): Promise<Map<string, Float64Array>> {
  const path = nodePath.join(ORACLE_DIR, 'public.safetensors');
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(65536);
  const got = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const ck = await safetensors.open(path, { path, size: statSync(path).size, head: head.subarray(0, got) });
  const out = new Map<string, Float64Array>();
  try {
    for (const t of ck.tensors) out.set(t.name, Float64Array.from(await ck.read(t.name)));
  } finally {
    await ck.close();
  }
  return out;
}

/** PyTorch Conv2D kernel (out, in, kh, kw) → WeightWatcher slices W[:, :, i, j] (i outer), each transposed so rows ≥ cols. */
export function conv2dSlices(W: Float64Array, shape: readonly number[]): { rows: number; cols: number; slices: Float64Array[] } {
  const [o, c, kh, kw] = shape;
  const transpose = o < c;
  const rows = Math.max(o, c);
  const cols = Math.min(o, c);
  const slices: Float64Array[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const s = new Float64Array(rows * cols);
      for (let p = 0; p < o; p++) {
        for (let q = 0; q < c; q++) {
          const v = W[((p * c + q) * kh + a) * kw + b];
          if (transpose) s[q * cols + p] = v;
          else s[p * cols + q] = v;
        }
      }
      slices.push(s);
    }
  }
  return { rows, cols, slices };
}
