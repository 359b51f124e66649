import { tridiagonalEigenvalues } from './symmetric-eigen';
import { wasmKernels } from './wasm/kernels';

/**
 * Singular values of a dense m×n matrix (row-major, float64, overwritten) without forming WᵀW, so small singular
 * values keep their accuracy (the Gram route squares the condition number): Householder bidiagonalisation
 * (Golub & Kahan 1965; LAPACK dgebd2) then the eigenvalues of the Golub–Kahan 2n×2n tridiagonal with zero
 * diagonal and off-diagonal (d1, e1, d2, …, dn), which are ±σ. Returns σ ascending (min(m, n) values).
 * The WebAssembly kernels run it where available (a is then left unchanged), else the TypeScript loops below.
 */
export function singularValues(a: Float64Array, m: number, n: number, kernels: 'wasm' | 'typescript' = 'wasm'): Float64Array {
  if (m < n) return singularValues(transpose(a, m, n), n, m, kernels);
  const wasm = kernels === 'wasm' ? wasmKernels() : undefined;
  const { d, e } = wasm ? wasm.bidiagonalize(a, m, n) : householderBidiagonalize(a, m, n);
  const off = new Float64Array(2 * n - 1);
  for (let i = 0; i < n; i++) {
    off[2 * i] = d[i];
    if (i < n - 1) off[2 * i + 1] = e[i];
  }
  const ev = wasm ? wasm.tridiagonalEigenvalues(new Float64Array(2 * n), off) : tridiagonalEigenvalues(new Float64Array(2 * n), off);
  // The n largest eigenvalues are σ; the smallest σ may come out as −0 or −tiny from round-off.
  const sv = new Float64Array(n);
  for (let i = 0; i < n; i++) sv[i] = Math.abs(ev[n + i]);
  return sv.sort();
}

function transpose(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}

/** Upper bidiagonal B = Uᵀ A V for m ≥ n: diagonal d (n), super-diagonal e (n − 1). */
export function householderBidiagonalize(a: Float64Array, m: number, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const v = new Float64Array(Math.max(m, n));
  const w = new Float64Array(Math.max(m, n));
  for (let k = 0; k < n; k++) {
    // Left reflector: zero A[k+1.., k].
    d[k] = reflect(a, n, k, m, k, 'column', v, (tau) => {
      // w = vᵀ A[k.., k+1..]; A[k.., k+1..] −= tau v wᵀ
      w.fill(0, k + 1, n);
      for (let i = k; i < m; i++) {
        const vi = v[i];
        if (vi === 0) continue;
        const row = i * n;
        for (let j = k + 1; j < n; j++) w[j] += vi * a[row + j];
      }
      for (let i = k; i < m; i++) {
        const f = tau * v[i];
        if (f === 0) continue;
        const row = i * n;
        for (let j = k + 1; j < n; j++) a[row + j] -= f * w[j];
      }
    });
    if (k < n - 1) {
      // Right reflector: zero A[k, k+2..].
      e[k] = reflect(a, n, k + 1, n, k, 'row', v, (tau) => {
        // z = A[k+1.., k+1..] u; A[k+1.., k+1..] −= tau z uᵀ
        for (let i = k + 1; i < m; i++) {
          const row = i * n;
          let z = 0;
          for (let j = k + 1; j < n; j++) z += a[row + j] * v[j];
          const f = tau * z;
          if (f === 0) continue;
          for (let j = k + 1; j < n; j++) a[row + j] -= f * v[j];
        }
      });
    }
  }
  return { d, e };
}

/**
 * Builds the Householder vector for x = A[from..to, fixed] ('column') or A[fixed, from..to] ('row') into v[from..to]
 * with v[from] = 1, calls `apply(tau)` to update the rest of the matrix, and returns the new leading entry β.
 */
function reflect(
  a: Float64Array,
  n: number,
  from: number,
  to: number,
  fixed: number,
  along: 'column' | 'row',
  v: Float64Array,
  apply: (tau: number) => void,
): number {
  const at = along === 'column' ? (i: number) => i * n + fixed : (j: number) => fixed * n + j;
  const x0 = a[at(from)];
  let tail2 = 0;
  for (let i = from + 1; i < to; i++) tail2 += a[at(i)] ** 2;
  if (tail2 === 0) return x0;
  const beta = -Math.sign(x0 || 1) * Math.sqrt(x0 * x0 + tail2);
  const v0 = x0 - beta;
  v[from] = 1;
  let vtv = 1;
  for (let i = from + 1; i < to; i++) {
    v[i] = a[at(i)] / v0;
    vtv += v[i] * v[i];
  }
  apply(2 / vtv);
  return beta;
}
