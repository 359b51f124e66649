/**
 * Eigenvalues of a real symmetric matrix: Householder reduction to tridiagonal form (as LAPACK dsytd2),
 * then the implicit QL algorithm with Wilkinson shifts on the tridiagonal (as EISPACK tql1).
 * float64 throughout. The input (row-major n×n, both triangles filled) is overwritten.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  if (a.length < n * n) throw new RangeError(`need ${n * n} elements, got ${a.length}`);
  const { d, e } = householderTridiagonalize(a, n);
  return tridiagonalEigenvalues(d, e);
}

/**
 * Householder tridiagonalisation A = Q T Qᵀ. Returns the diagonal d (n) and the sub-diagonal e (n − 1).
 * Each step k annihilates A[k+2.., k] with a reflector H = I − τ v vᵀ and applies the symmetric rank-2 update
 * A ← A − v wᵀ − w vᵀ with w = τ A v − (τ² vᵀAv / 2) v (Golub & Van Loan §8.3.1). Both triangles are kept so
 * every inner loop runs along a contiguous row.
 */
export function householderTridiagonalize(a: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const v = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const s = k + 1; // the reflector acts on rows/cols s..n-1
    // x = A[s.., k]
    let norm2 = 0;
    for (let i = s; i < n; i++) {
      const x = a[i * n + k];
      norm2 += x * x;
    }
    const x0 = a[s * n + k];
    const tailNorm2 = norm2 - x0 * x0;
    if (tailNorm2 === 0) {
      // Already tridiagonal in this column.
      d[k] = a[k * n + k];
      e[k] = x0;
      continue;
    }
    const alpha = -Math.sign(x0 || 1) * Math.sqrt(norm2);
    // v = x − alpha·e1, scaled so v[s] = 1; tau = 2 / (vᵀv)
    const v0 = x0 - alpha;
    v[s] = 1;
    let vtv = 1;
    for (let i = s + 1; i < n; i++) {
      const vi = a[i * n + k] / v0;
      v[i] = vi;
      vtv += vi * vi;
    }
    const tau = 2 / vtv;
    // p = tau · A[s.., s..] v
    for (let i = s; i < n; i++) {
      const row = i * n;
      let acc = 0;
      for (let j = s; j < n; j++) acc += a[row + j] * v[j];
      w[i] = tau * acc;
    }
    // w = p − (tau/2)(pᵀv) v
    let pv = 0;
    for (let i = s; i < n; i++) pv += w[i] * v[i];
    const c = 0.5 * tau * pv;
    for (let i = s; i < n; i++) w[i] -= c * v[i];
    // A[s.., s..] −= v wᵀ + w vᵀ
    for (let i = s; i < n; i++) {
      const row = i * n;
      const vi = v[i];
      const wi = w[i];
      for (let j = s; j < n; j++) a[row + j] -= vi * w[j] + wi * v[j];
    }
    d[k] = a[k * n + k];
    e[k] = alpha;
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)];
    e[n - 2] = a[(n - 1) * n + (n - 2)];
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + (n - 1)];
  return { d, e };
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix (d, e) by implicit QL with Wilkinson shifts (EISPACK tql1),
 * sorted ascending. d and e are copied, not modified.
 */
export function tridiagonalEigenvalues(dIn: Float64Array, eIn: Float64Array): Float64Array {
  const n = dIn.length;
  const d = Float64Array.from(dIn);
  const e = new Float64Array(n); // e[i] couples d[i] and d[i+1]; e[n-1] = 0
  e.set(eIn.subarray(0, Math.max(0, n - 1)));
  const eps = 2 ** -52;
  // Also split where e is negligible against the whole matrix (EISPACK tql1's test): with zero diagonals (the
  // Golub–Kahan form of a rank-deficient matrix) the local test alone can stall.
  const floor = eps * tridiagonalNorm(d, e);
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      // Find a negligible off-diagonal element to split at.
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= eps * dd || Math.abs(e[m]) <= floor) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new Error(`tridiagonal QL did not converge at index ${l}`);
      // Wilkinson shift from the leading 2×2 block.
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        let f = s * e[i];
        const b = c * e[i];
        r = hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: deflate and restart this eigenvalue.
          d[i + 1] -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        f = 0;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d.sort();
}

/** max |d_i| + |e_i|: the scale of the matrix for the deflation test. */
function tridiagonalNorm(d: Float64Array, e: Float64Array): number {
  let t = 0;
  for (let i = 0; i < d.length; i++) t = Math.max(t, Math.abs(d[i]) + Math.abs(e[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  return t;
}

/** √(x² + y²) without Math.hypot's cost on the hot path; falls back to it where squaring would over/underflow. */
function hypot(x: number, y: number): number {
  const s = x * x + y * y;
  return s < 1e300 && s > 1e-300 ? Math.sqrt(s) : Math.hypot(x, y);
}
