/** Model-level summary of per-layer metrics: WeightWatcher get_summary averages, groupings, flagged layers. */

import { OVER_TRAINED_ALPHA, UNDER_TRAINED_ALPHA } from './powerlaw';

/** The columns weightwatcher.py get_summary averages over the analysed layers (esd-reference.md, norm metrics). */
export const SUMMARY_METRICS = ['log_norm', 'alpha', 'alpha_weighted', 'log_alpha_norm', 'log_spectral_norm', 'stable_rank', 'mp_softrank'] as const;
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];
export type SummaryAverages = Partial<Record<SummaryMetric, number>>;

/** The fields of a layer row the summary reads. */
export interface SummaryRow {
  name: string;
  /** TensorKind from checkpoint/kind.ts ('attention_q', 'mlp_up', 'conv', ...). */
  kind?: string;
  alpha?: number;
  log_norm?: number;
  alpha_weighted?: number;
  log_alpha_norm?: number;
  log_spectral_norm?: number;
  stable_rank?: number;
  mp_softrank?: number;
  status?: string;
  condition_number?: number;
  numerically_singular?: boolean;
  storage_rank?: number;
  num_evals?: number;
}

/** Mean of each summary metric over rows where it is a finite number (pandas mean skips NaN). */
export function summaryAverages(rows: readonly SummaryRow[]): SummaryAverages {
  const out: SummaryAverages = {};
  for (const key of SUMMARY_METRICS) {
    let sum = 0;
    let count = 0;
    for (const r of rows) {
      const v = r[key];
      if (typeof v === 'number' && Number.isFinite(v)) {
        sum += v;
        count++;
      }
    }
    if (count > 0) out[key] = sum / count;
  }
  return out;
}

/** Transformer / CNN block of a tensor name: layers.12., h.3., blk.5., encoder.layer.7., blocks.2., block.4. */
export interface BlockRef {
  /** Name up to and including the index, e.g. "model.layers.12" or "encoder.layer.7" (groups encoder and decoder apart). */
  key: string;
  index: number;
}

const BLOCK_PATTERN = /^(.*?(?:^|[./_])(?:layers|layer|h|blk|blocks|block)[./_](\d+))(?:[./_]|$)/;

export function blockOf(name: string): BlockRef | undefined {
  const m = BLOCK_PATTERN.exec(name);
  return m ? { key: m[1], index: Number(m[2]) } : undefined;
}

export interface GroupSummary {
  key: string;
  layers: number;
  averages: SummaryAverages;
}

/** Rows grouped by a key (insertion order, then summarised). */
function groupBy(rows: readonly SummaryRow[], keyOf: (r: SummaryRow) => string | undefined): GroupSummary[] {
  const groups = new Map<string, SummaryRow[]>();
  for (const r of rows) {
    const k = keyOf(r);
    if (k === undefined) continue;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups].map(([key, rs]) => ({ key, layers: rs.length, averages: summaryAverages(rs) }));
}

export type LayerFlag = 'over-trained' | 'under-trained' | 'ill-conditioned' | 'rank-collapsed' | 'fit-failed';

export interface FlagOptions {
  /** alpha below: 'over-trained' (WeightWatcher constants.py l.96). Default 2. */
  overTrainedAlpha?: number;
  /** alpha above: 'under-trained' (l.97). Default 6. */
  underTrainedAlpha?: number;
  /** condition_number above: 'ill-conditioned' (when not already rank-collapsed). Default 1e5. */
  conditionThreshold?: number;
}

/**
 * Flags of one row. 'rank-collapsed': numerically singular at the storage precision (some singular values are below
 * the rounding of the stored weights, so κ is round-off); 'ill-conditioned': κ above the threshold otherwise.
 */
export function layerFlags(row: SummaryRow, options: FlagOptions = {}): LayerFlag[] {
  const flags: LayerFlag[] = [];
  if (row.status === 'failed') flags.push('fit-failed');
  else if (typeof row.alpha === 'number') {
    if (row.alpha < (options.overTrainedAlpha ?? OVER_TRAINED_ALPHA)) flags.push('over-trained');
    else if (row.alpha > (options.underTrainedAlpha ?? UNDER_TRAINED_ALPHA)) flags.push('under-trained');
  }
  if (row.numerically_singular) flags.push('rank-collapsed');
  else if (typeof row.condition_number === 'number' && row.condition_number > (options.conditionThreshold ?? 1e5)) flags.push('ill-conditioned');
  return flags;
}

export interface ModelSummary {
  layers: number;
  averages: SummaryAverages;
  byKind: GroupSummary[];
  byBlock: GroupSummary[];
  flagged: { name: string; flags: LayerFlag[] }[];
}

/** get_summary over the analysed rows, the same averages per kind and per block, and every flagged layer. */
export function summarize(rows: readonly SummaryRow[], options: FlagOptions = {}): ModelSummary {
  // blocks in numeric order within each prefix ("encoder.layer." before "decoder.layer." if it came first)
  const prefixRank = new Map<string, number>();
  const blockRefs = new Map<string, { prefix: number; index: number }>();
  for (const r of rows) {
    const b = blockOf(r.name);
    if (!b || blockRefs.has(b.key)) continue;
    const prefix = b.key.slice(0, b.key.length - String(b.index).length);
    if (!prefixRank.has(prefix)) prefixRank.set(prefix, prefixRank.size);
    blockRefs.set(b.key, { prefix: prefixRank.get(prefix) as number, index: b.index });
  }
  const byBlock = groupBy(rows, (r) => blockOf(r.name)?.key);
  byBlock.sort((a, b) => {
    const ra = blockRefs.get(a.key) as { prefix: number; index: number };
    const rb = blockRefs.get(b.key) as { prefix: number; index: number };
    return ra.prefix - rb.prefix || ra.index - rb.index;
  });
  return {
    layers: rows.length,
    averages: summaryAverages(rows),
    byKind: groupBy(rows, (r) => r.kind),
    byBlock,
    flagged: rows.map((r) => ({ name: r.name, flags: layerFlags(r, options) })).filter((f) => f.flags.length > 0),
  };
}
