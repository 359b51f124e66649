import { farmsConv2d, farmsLinear, farmsConfig, planWindows, type FarmsConfig } from '../../analysis/farms';
import type { TensorData } from '../../checkpoint/types';
import { matrixSpectrum, matrixSpectrumSync, type GramBackend } from '../../linalg/spectrum';
import type { FarmsResult } from '../../report/model';
import { extractMatrix, type Matrix } from '../../tensor/matrix-view';
import type { LayerPlan } from './plan';

/** Copies W[r0:r0+r, c0:c0+c] of a row-major matrix (optionally of its transpose) into a new matrix. */
function window(m: Matrix, r0: number, c0: number, r: number, c: number, transposed = false): Matrix {
  const out = new Float32Array(r * c);
  const src = m.data;
  if (!transposed) {
    for (let i = 0; i < r; i++) {
      const from = (r0 + i) * m.cols + c0;
      for (let j = 0; j < c; j++) out[i * c + j] = src[from + j];
    }
  } else {
    // window of Wᵀ: element (i, j) is W[c0 + j, r0 + i]
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[i * c + j] = src[(c0 + j) * m.cols + (r0 + i)];
  }
  return { rows: r, cols: c, data: out };
}

/**
 * FARMS for one layer (Hu et al. 2025). Linear: every window's eigenvalues are computed first (through the Gram
 * backend, e.g. onnxruntime), then pooled and fitted by src/core/analysis/farms.ts. Conv2D: the authors'
 * image-classification variant on WeightWatcher slices (rows ≥ cols), blocks computed on this thread.
 */
export async function farmsForLayer(plan: LayerPlan, data: TensorData, overrides: Partial<FarmsConfig>, gram?: GramBackend): Promise<FarmsResult | { skipped: string }> {
  const config = farmsConfig(overrides);
  const fit = config.fix_fingers ?? 'full';
  if (plan.layout.type === 'dense') {
    const m = extractMatrix(data, plan.layout, 0);
    const windows = planWindows(m.rows, m.cols, config).windows;
    const cache = new Map<string, Float64Array>();
    for (const w of windows) {
      const key = `${w.rowStart},${w.colStart},${w.rowEnd},${w.colEnd}`;
      if (cache.has(key)) continue;
      const spec = await matrixSpectrum(window(m, w.rowStart, w.colStart, w.rowEnd - w.rowStart, w.colEnd - w.colStart), { gram });
      cache.set(key, spec.evals);
    }
    const outcome = farmsLinear(m.rows, m.cols, (rs, cs, r, c) => cache.get(`${rs},${cs},${rs + r},${cs + c}`)!, config);
    if (outcome.skipped) return { skipped: outcome.reason };
    const r = outcome.result;
    return { alpha: r.alpha, D: r.D, xmin: r.xmin, num_windows: r.num_windows, n_eigs: r.n_eigs, fit, alpha_hat: r.alpha_hat, stable_rank: r.stable_rank, spectral_norm: r.spectral_norm };
  }
  if (plan.layout.type === 'conv2d') {
    const { rows, cols, count } = plan.layout;
    const transposed = rows < cols; // WeightWatcher slices are oriented rows ≥ cols
    const slices = Array.from({ length: count }, (_, s) => extractMatrix(data, plan.layout, s));
    const R = Math.max(rows, cols);
    const C = Math.min(rows, cols);
    const r = farmsConv2d(R, C, count, (s, rs, cs, nr, nc) => matrixSpectrumSync(window(slices[s], rs, cs, nr, nc, transposed)).evals, config);
    if (r.n_blocks === 0) return { skipped: 'no full block: rows < cols of a slice' };
    return { alpha: r.alpha, D: r.D, xmin: NaN, num_windows: r.n_blocks, n_eigs: r.n_blocks * count * C, fit: `${fit} (mean over blocks)`, alpha_hat: r.alpha_hat, stable_rank: r.stable_rank, spectral_norm: r.spectral_norm };
  }
  return { skipped: `FARMS is defined for Linear and Conv2D weights, not ${plan.layout.type}` };
}
