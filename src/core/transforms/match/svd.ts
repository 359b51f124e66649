/**
 * Thin SVD with singular vectors by one-sided Jacobi rotations (Hestenes 1958; Demmel & Veselić 1992 for its
 * accuracy): rotate pairs of columns until all are orthogonal; σ_j = ‖column j‖, u_j = column j / σ_j, V = the
 * accumulated rotations. O(sweeps · m · n²) for m ≥ n: meant for layers up to a few thousand on the short side.
 */

export interface Svd {
  /** Column-major factors: u[j] is the j-th left singular vector (length m), v[j] the right one (length n). */
  u: Float64Array[];
  s: Float64Array;
  v: Float64Array[];
  m: number;
  n: number;
}

const MAX_SWEEPS = 60;

/** SVD of the row-major m × n matrix `a`, singular values in descending order, min(m, n) triplets. */
export function thinSvd(a: ArrayLike<number>, m: number, n: number): Svd {
  if (m < n) {
    // SVD of Aᵀ, with U and V swapped.
    const t = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
    const r = thinSvd(t, n, m);
    return { u: r.v, s: r.s, v: r.u, m, n };
  }
  // Columns of A (length m each) and of V (length n each).
  const cols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = a[i * n + j];
    cols.push(c);
  }
  const v: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const c = new Float64Array(n);
    c[j] = 1;
    v.push(c);
  }
  const norms = cols.map((c) => dot(c, c));
  const eps = 1e-15;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = norms[p];
        const beta = norms[q];
        const gamma = dot(cols[p], cols[q]);
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(cols[p], cols[q], c, s);
        rotate(v[p], v[q], c, s);
        norms[p] = dot(cols[p], cols[p]);
        norms[q] = dot(cols[q], cols[q]);
      }
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => norms[y] - norms[x]);
  const s = new Float64Array(n);
  const u: Float64Array[] = [];
  const vv: Float64Array[] = [];
  order.forEach((j, k) => {
    const sigma = Math.sqrt(norms[j]);
    s[k] = sigma;
    const col = cols[j];
    if (sigma > 0) for (let i = 0; i < m; i++) col[i] /= sigma;
    u.push(col);
    vv.push(v[j]);
  });
  return { u, s, v: vv, m, n };
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

function rotate(x: Float64Array, y: Float64Array, c: number, s: number): void {
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const yi = y[i];
    x[i] = c * xi - s * yi;
    y[i] = s * xi + c * yi;
  }
}
