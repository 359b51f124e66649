import { farmsConfig, planWindows } from '../../analysis/farms';
import type { AnalyzeOptions } from './options';
import type { LayerPlan } from './plan';

/** Single-core rates measured on this project's reference machine (onnxruntime's MLAS, float64). */
const GRAM_FLOPS_PER_S = 20e9;
const EIGEN_FLOPS_PER_S = 15e9;
/** Below this order the one-stage TypeScript solver runs on the analysis thread (spectrum.ts TWO_STAGE_MIN_ORDER). */
const MIN_ORDER = 192;

/**
 * Rough single-core seconds of the spectra whose order lies in [192, below): Gram 2·m·n² flops (× slices) and
 * eigenvalues (4/3)·n³, plus FARMS windows when on. Decides whether starting a pool of threads (≈ 0.3 s to spawn
 * and load onnxruntime) can pay for itself.
 */
export function parallelWorkSeconds(plans: readonly LayerPlan[], opts: Pick<AnalyzeOptions, 'farms'>, below: number): number {
  let seconds = 0;
  const eigen = (n: number) => (n >= MIN_ORDER && n < below ? (4 / 3) * n ** 3 / EIGEN_FLOPS_PER_S : 0);
  for (const p of plans) {
    if (p.skipped) continue;
    const { rows, cols, count } = p.layout;
    const n = Math.min(rows, cols);
    if (n >= MIN_ORDER && n < below) seconds += count * ((2 * Math.max(rows, cols) * n * n) / GRAM_FLOPS_PER_S + eigen(n));
    if (opts.farms && p.layout.type === 'dense') {
      try {
        const windows = planWindows(rows, cols, farmsConfig(opts.farms)).windows;
        for (const w of windows) seconds += eigen(Math.min(w.rowEnd - w.rowStart, w.colEnd - w.colStart));
      } catch {
        // A configuration FARMS refuses is reported on the layer; it adds no work here.
      }
    }
  }
  return seconds;
}
