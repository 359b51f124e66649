/** Pure helpers over the report's layers: which are analysed, block indices, and the spectra the charts draw. */
import type { AnalysisReport, LayerResult } from '../../src/core/report/model';

/** WeightWatcher's EVALS_THRESH: eigenvalues below it are treated as zero (WW drops them before fitting). */
export const DEFAULT_EVALS_THRESH = 1e-5;

export function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** [min, max] of a non-empty array (a loop: spreading 10⁵ eigenvalues into Math.min overflows the stack). */
export function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Analysed layers (not skipped, not failed) in layer_id order. */
export function analysedLayers(report: AnalysisReport): LayerResult[] {
  return report.layers.filter((l) => !l.skipped && !l.error).sort((a, b) => a.layer_id - b.layer_id);
}

export function findLayer(report: AnalysisReport, name: string | undefined): LayerResult | undefined {
  return name === undefined ? undefined : report.layers.find((l) => l.name === name);
}

// Block containers of Hugging Face (model.layers.12, h.3, encoder.layer.0, blocks.1), llama.cpp (blk.5) and Keras (block_2).
const BLOCK_PATTERNS = [/(?:^|[./_])(?:layers?|h|blk|blocks?|transformer_blocks?|resblocks)[._](\d+)(?:[./_]|$)/i, /(?:^|[./])(\d+)[./]/];

/** The block (repeated unit) index in a tensor name, e.g. 12 for `model.layers.12.mlp.up_proj.weight`. */
export function blockIndexOf(name: string): number | undefined {
  for (const p of BLOCK_PATTERNS) {
    const m = p.exec(name);
    if (m) return Number(m[1]);
  }
  return undefined;
}

export function evalsThreshold(report: AnalysisReport): number {
  const t = report.model.options?.evals_thresh;
  return isNum(t) && t >= 0 ? t : DEFAULT_EVALS_THRESH;
}

export interface LogHistogram {
  /** Bin edges, length bins + 1, log-spaced. */
  edges: number[];
  /** Probability density per bin: count / (n · width). */
  density: number[];
  counts: number[];
  /** The eigenvalues binned. */
  values: number[];
  n: number;
  /** Eigenvalues left out as zero (≤ threshold). */
  hidden: number;
}

/** Density histogram on log-spaced bins of the eigenvalues above `threshold` (all positive ones if none are). */
export function logHistogram(eigenvalues: readonly number[], threshold: number): LogHistogram | undefined {
  let values = eigenvalues.filter((v) => isNum(v) && v > threshold);
  if (values.length === 0) values = eigenvalues.filter((v) => isNum(v) && v > 0);
  if (values.length === 0) return undefined;
  let [lo, hi] = extent(values);
  if (hi / lo < 1.0001) {
    lo /= 1.05;
    hi *= 1.05;
  }
  const bins = Math.min(100, Math.max(12, Math.round(1.5 * Math.sqrt(values.length))));
  const l0 = Math.log10(lo);
  const step = (Math.log10(hi) - l0) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (l0 + i * step));
  edges[0] = lo;
  edges[bins] = hi;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(v) - l0) / step)))]++;
  const density = counts.map((c, i) => c / (values.length * (edges[i + 1] - edges[i])));
  return { edges, density, counts, values, n: values.length, hidden: eigenvalues.length - values.length };
}

/**
 * The fitted power law p(x) = C·x^(−alpha) on [xmin, xmax], scaled so it integrates to the share of eigenvalues
 * ≥ xmin (the tail the fit saw). Normalised on [xmin, ∞) like powerlaw.Fit when alpha > 1, on [xmin, xmax] otherwise.
 */
export function powerLawCurve(alpha: number, xmin: number, xmax: number, tailShare: number, points = 48): { x: number[]; y: number[] } {
  const norm =
    alpha > 1
      ? (alpha - 1) / xmin
      : alpha === 1
        ? 1 / (xmin * Math.log(xmax / xmin))
        : (1 - alpha) / (xmin * ((xmax / xmin) ** (1 - alpha) - 1));
  const x: number[] = [];
  const y: number[] = [];
  const n = xmax > xmin ? points : 1;
  for (let i = 0; i < n; i++) {
    const xi = n === 1 ? xmin : xmin * (xmax / xmin) ** (i / (n - 1));
    x.push(xi);
    y.push(tailShare * norm * (xi / xmin) ** -alpha);
  }
  return { x, y };
}

export interface SingularValueDecay {
  /** σ_i, descending. */
  sigma: number[];
  /** Σ_{j≤i} σ_j² / Σ σ², as a fraction. */
  energy: number[];
  /** Smallest rank reaching 90, 95, 99 % of the energy. */
  ranks: { p: number; rank: number }[];
}

export function singularValueDecay(layer: LayerResult): SingularValueDecay | undefined {
  const evals = layer.eigenvalues;
  if (!evals || evals.length === 0) return undefined;
  const desc = evals.map((v) => (isNum(v) && v > 0 ? v : 0)).sort((a, b) => b - a);
  const total = desc.reduce((s, v) => s + v, 0);
  if (!(total > 0)) return undefined;
  const energy: number[] = [];
  let acc = 0;
  for (const v of desc) {
    acc += v;
    energy.push(acc / total);
  }
  const rankAt = (p: number) => energy.findIndex((e) => e >= p - 1e-12) + 1 || desc.length;
  const stored = { 0.9: layer.energy_rank_90, 0.95: layer.energy_rank_95, 0.99: layer.energy_rank_99 };
  const ranks = ([0.9, 0.95, 0.99] as const).map((p) => ({ p, rank: isNum(stored[p]) ? stored[p]! : rankAt(p) }));
  return { sigma: desc.map(Math.sqrt), energy, ranks };
}
