/**
 * Householder QR of an m×b panel P (row-major, overwritten): P = Q R with Q = H₁⋯H_k = I − V T Vᵀ, k = min(m, b)
 * (LAPACK dgeqr2 for the reflectors, dlarft "forward, columnwise" for the upper-triangular T, here from the Gram
 * matrix VᵀV in one pass). Writes V (m×k row-major, unit lower trapezoidal, zeros above the diagonal) and T (k×k
 * row-major); R is left in the upper trapezoid of P. Returns k. Works on a column-major copy so that every inner
 * loop runs down a contiguous column.
 */
export function panelQr(p: Float64Array, m: number, b: number, V: Float64Array, T: Float64Array, work?: Float64Array): number {
  const k = Math.min(m, b);
  const need = m * b + k + k * k;
  const w = work && work.length >= need ? work : new Float64Array(need);
  const col = w.subarray(0, m * b); // column j at j·m
  const taus = w.subarray(m * b, m * b + k);
  const g = w.subarray(m * b + k, need);
  for (let i = 0; i < m; i++) {
    const row = i * b;
    for (let j = 0; j < b; j++) col[j * m + i] = p[row + j];
  }
  for (let j = 0; j < k; j++) {
    const cj = j * m;
    // Reflector for col[j.., j] (LAPACK dlarfg): β = −sign(α)‖x‖, τ = (β − α)/β, v = x/(α − β), v₀ = 1.
    const alpha = col[cj + j];
    let tail2 = 0;
    for (let i = j + 1; i < m; i++) tail2 += col[cj + i] * col[cj + i];
    let tau = 0;
    if (tail2 !== 0) {
      const norm = Math.sqrt(alpha * alpha + tail2);
      const beta = alpha >= 0 ? -norm : norm;
      tau = (beta - alpha) / beta;
      const scale = 1 / (alpha - beta);
      for (let i = j + 1; i < m; i++) col[cj + i] *= scale;
      col[cj + j] = beta;
    }
    taus[j] = tau;
    if (tau === 0) continue;
    // col[j.., c] −= τ v (vᵀ col[j.., c]) for the columns right of j, v = (1, col[j+1.., j]).
    for (let c = j + 1; c < b; c++) {
      const cc = c * m;
      let s = col[cc + j];
      for (let i = j + 1; i < m; i++) s += col[cj + i] * col[cc + i];
      s *= tau;
      col[cc + j] -= s;
      for (let i = j + 1; i < m; i++) col[cc + i] -= s * col[cj + i];
    }
  }
  // R back into P, V out (row-major, unit diagonal).
  for (let i = 0; i < m; i++) {
    const row = i * b;
    const vrow = i * k;
    for (let j = 0; j < b; j++) {
      const x = col[j * m + i];
      if (j >= i) p[row + j] = x;
      else p[row + j] = 0;
      if (j < k) V[vrow + j] = j < i ? x : j === i ? 1 : 0;
    }
  }
  // G = VᵀV (upper triangle), then T column by column: T[0:j, j] = −τ_j T[0:j, 0:j] G[0:j, j], T[j, j] = τ_j.
  for (let r = 0; r < k; r++) {
    for (let c = r + 1; c < k; c++) {
      // V[:, r]·V[:, c] over rows ≥ c (V[c, c] = 1, V[i, r] = col[r·m + i] below the diagonal).
      let s = col[r * m + c];
      for (let i = c + 1; i < m; i++) s += col[r * m + i] * col[c * m + i];
      g[r * k + c] = s;
    }
  }
  T.fill(0, 0, k * k);
  for (let j = 0; j < k; j++) {
    const tau = taus[j];
    T[j * k + j] = tau;
    if (tau === 0) continue;
    for (let r = 0; r < j; r++) {
      let s = 0;
      for (let c = r; c < j; c++) s += T[r * k + c] * g[c * k + j];
      T[r * k + j] = -tau * s;
    }
  }
  return k;
}
