import type { Matrix } from '../tensor/matrix-view';

/**
 * The Gram matrix on the smaller side, in float64: WᵀW (cols×cols) when rows ≥ cols, else WWᵀ (rows×rows).
 * Products of float32 values are exact in float64; sums round once per term. Returns both triangles.
 */
export function gramSmallSide(m: Matrix, scale = 1): { gram: Float64Array; n: number } {
  const { rows, cols, data } = m;
  if (rows >= cols) {
    const n = cols;
    const g = new Float64Array(n * n);
    const row = new Float64Array(n);
    // Σ over rows of the outer product rowᵀ·row, upper triangle only.
    for (let k = 0; k < rows; k++) {
      const base = k * cols;
      for (let j = 0; j < n; j++) row[j] = data[base + j];
      for (let i = 0; i < n; i++) {
        const ri = row[i];
        if (ri === 0) continue;
        const gi = i * n;
        for (let j = i; j < n; j++) g[gi + j] += ri * row[j];
      }
    }
    return { gram: symmetrize(g, n, scale), n };
  }
  const n = rows;
  const g = new Float64Array(n * n);
  const a = Float64Array.from(data.subarray(0, rows * cols) as ArrayLike<number>);
  for (let i = 0; i < n; i++) {
    const bi = i * cols;
    for (let j = i; j < n; j++) {
      const bj = j * cols;
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += a[bi + k] * a[bj + k];
      g[i * n + j] = acc;
    }
  }
  return { gram: symmetrize(g, n, scale), n };
}

function symmetrize(g: Float64Array, n: number, scale: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = g[i * n + j] * scale;
      g[i * n + j] = v;
      g[j * n + i] = v;
    }
  }
  return g;
}
