/**
 * Completes a symmetric n×n row-major matrix whose block lower triangle is filled: rows e[i]..e[i+1] get their columns
 * ≥ e[i+1] from the transposed rows below. Tiled so that both the reads and the writes stay in cache.
 */
export function mirrorBlockUpper(out: Float64Array, n: number, e: readonly number[]): void {
  const tile = 64;
  for (let i = 0; i + 1 < e.length; i++) {
    for (let r0 = e[i]; r0 < e[i + 1]; r0 += tile) {
      const r1 = Math.min(e[i + 1], r0 + tile);
      for (let c0 = e[i + 1]; c0 < n; c0 += tile) {
        const c1 = Math.min(n, c0 + tile);
        for (let r = r0; r < r1; r++) {
          const row = r * n;
          for (let c = c0; c < c1; c++) out[row + c] = out[c * n + r];
        }
      }
    }
  }
}
