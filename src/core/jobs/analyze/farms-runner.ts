import { farmsConv2d, farmsLinear, farmsConfig, planWindows, type FarmsConfig, type FarmsWindow } from '../../analysis/farms';
import type { TensorData } from '../../checkpoint/types';
import { matrixSpectrum, matrixSpectrumSync, spectrumFromGram, type GramBackend } from '../../linalg/spectrum';
import type { FarmsResult } from '../../report/model';
import { giveWork, takeWork } from '../../linalg/workspace';
import { throwIfCancelled } from '../../cancel';
import { Slots } from '../../concurrency';
import { extractMatrix, type Matrix } from '../../tensor/matrix-view';
import type { LayerPlan } from './plan';

/** Copies W[r0:r0+r, c0:c0+c] of a row-major matrix (optionally of its transpose) into a new matrix of the same type. */
function window(m: Matrix, r0: number, c0: number, r: number, c: number, transposed = false): Matrix {
  const out = m.data instanceof Float64Array ? new Float64Array(r * c) : new Float32Array(r * c);
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

const key = (rs: number, cs: number, re: number, ce: number) => `${rs},${cs},${re},${ce}`;

/** Square windows at least this large share one Gram per row (or column) range instead of one Gram each. */
const SHARED_GRAM_MIN = 256;

/**
 * Eigenvalues of WᵀW for every distinct window. Square windows of a grid overlap heavily: the windows of one row range
 * [rs, re) are principal submatrices of that range's column Gram W[rs:re, :]ᵀ W[rs:re, :], so one Gram (onnxruntime,
 * float64) serves a whole row of windows — the LLaMA setting needs 15 Grams of 4096² instead of 225 of 2000² (same
 * products, summed in a different order). Tall layers share column Grams of row ranges, wide ones row Grams of column
 * ranges, so the shared Gram is min(rows, cols)². Ill-conditioned windows still take the direct SVD.
 */
async function windowSpectra(m: Matrix, windows: FarmsWindow[], gram?: GramBackend, parallel = 1): Promise<Map<string, Float64Array>> {
  const cache = new Map<string, Float64Array>();
  const unique = [...new Map(windows.map((w) => [key(w.rowStart, w.colStart, w.rowEnd, w.colEnd), w])).values()];
  const square = unique.every((w) => w.rowEnd - w.rowStart === w.colEnd - w.colStart);
  const size = unique.length ? unique[0].rowEnd - unique[0].rowStart : 0;
  const sideGram = gram?.sideGram;
  // With an off-thread eigen-solver, `parallel` windows are solved at once and two more wait, copied, in its queue:
  // the pool stays busy while this thread forms the next shared Gram.
  const slots = new Slots(parallel > 1 ? parallel + 2 : 1);
  const solved: Promise<void>[] = [];
  const keep = (w: FarmsWindow, spectrum: Promise<{ evals: Float64Array }>) =>
    spectrum.then((spec) => void cache.set(key(w.rowStart, w.colStart, w.rowEnd, w.colEnd), spec.evals));
  try {
    if (!gram || !sideGram || !square || size < SHARED_GRAM_MIN) {
      for (const w of unique) {
        throwIfCancelled();
        const sub = window(m, w.rowStart, w.colStart, w.rowEnd - w.rowStart, w.colEnd - w.colStart);
        solved.push((await slots.run(() => keep(w, matrixSpectrum(sub, { gram })))).done);
      }
      await Promise.all(solved);
      return cache;
    }
    const byRows = m.rows >= m.cols;
    const groups = new Map<string, FarmsWindow[]>();
    for (const w of unique) {
      const g = byRows ? `${w.rowStart},${w.rowEnd}` : `${w.colStart},${w.colEnd}`;
      groups.set(g, [...(groups.get(g) ?? []), w]);
    }
    const ranges = [...groups.values()];
    const sharedGram = (group: FarmsWindow[]) => {
      const first = group[0];
      const block: Matrix = byRows
        ? { rows: first.rowEnd - first.rowStart, cols: m.cols, data: m.data.subarray(first.rowStart * m.cols, first.rowEnd * m.cols) as TensorData }
        : window(m, 0, first.colStart, m.rows, first.colEnd - first.colStart);
      return sideGram(block, byRows ? 'cols' : 'rows');
    };
    let current: { gram: Float64Array; n: number } | undefined = await sharedGram(ranges[0]);
    for (let g = 0; g < ranges.length; g++) {
      const { gram: shared, n } = current!;
      let next: { gram: Float64Array; n: number } | undefined;
      for (let i = 0; i < ranges[g].length; i++) {
        throwIfCancelled();
        const w = ranges[g][i];
        const from = byRows ? w.colStart : w.rowStart;
        const started = await slots.run(async () => {
          const sub = takeWork(size * size).subarray(0, size * size);
          for (let r = 0; r < size; r++) sub.set(shared.subarray((from + r) * n + from, (from + r) * n + from + size), r * size);
          const spec = spectrumFromGram(() => window(m, w.rowStart, w.colStart, size, size), sub, size, gram);
          return keep(w, spec).finally(() => giveWork(sub));
        });
        solved.push(started.done);
        // Off-thread solver: once its queue is full, form the next range's Gram instead of waiting for a free slot.
        if (parallel > 1 && !next && g + 1 < ranges.length && i === Math.min(ranges[g].length, parallel + 2) - 1) next = await sharedGram(ranges[g + 1]);
      }
      // Every window of this range has its copy: the shared Gram goes back while the last ones are solved.
      giveWork(shared);
      current = next ?? (g + 1 < ranges.length ? await sharedGram(ranges[g + 1]) : undefined);
    }
    await Promise.all(solved);
    return cache;
  } finally {
    await slots.drain();
  }
}

/**
 * FARMS for one layer (Hu et al. 2025). Linear: every window's eigenvalues are computed first (through the Gram
 * backend, e.g. onnxruntime), then pooled and fitted by src/core/analysis/farms.ts. Conv2D: the authors'
 * image-classification variant on WeightWatcher slices (rows ≥ cols), blocks computed on this thread.
 */
export async function farmsForLayer(plan: LayerPlan, data: TensorData, overrides: Partial<FarmsConfig>, gram?: GramBackend, parallel = 1): Promise<FarmsResult | { skipped: string }> {
  const config = farmsConfig(overrides);
  const fit = config.fix_fingers ?? 'full';
  if (plan.layout.type === 'dense') {
    const m = extractMatrix(data, plan.layout, 0);
    const cache = await windowSpectra(m, planWindows(m.rows, m.cols, config).windows, gram, parallel);
    const outcome = farmsLinear(m.rows, m.cols, (rs, cs, r, c) => cache.get(key(rs, cs, rs + r, cs + c))!, config);
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
