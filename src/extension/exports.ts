/**
 * What the report tab's export buttons write: the report JSON (as `weight-spectra analyze --json` writes it, without
 * eigenvalues), one CSV row per layer, or the standalone HTML report (the CLI's renderHtmlReport, eigenvalues kept for
 * its ESD charts). No vscode import.
 */
import * as path from 'node:path';
import type { AnalysisReport, LayerResult } from '../core/report/model';
import type { ExportFormat } from '../protocol';
import { renderHtmlReport } from '../cli/html-report';

export const EXPORT_EXTENSIONS: Record<ExportFormat, string> = { json: 'json', csv: 'csv', html: 'html' };
export const EXPORT_LABELS: Record<ExportFormat, string> = { json: 'JSON', csv: 'CSV', html: 'HTML report' };

/** CSV columns, in order: identity, WeightWatcher power-law and norm metrics, MP fit, conditioning, rank, WeLore, FARMS. */
const CSV_COLUMNS: [header: string, value: (l: LayerResult) => unknown][] = [
  ['layer_id', (l) => l.layer_id],
  ['name', (l) => l.name],
  ['kind', (l) => l.kind],
  ['layer_type', (l) => l.layer_type],
  ['dtype', (l) => l.dtype],
  ['shape', (l) => l.shape.join('x')],
  ['N', (l) => l.N],
  ['M', (l) => l.M],
  ['rf', (l) => l.rf],
  ['status', (l) => (l.error ? 'failed' : l.skipped ? 'skipped' : 'analysed')],
  ['reason', (l) => l.error ?? l.skipped],
  ['method', (l) => l.method],
  ['num_evals', (l) => l.num_evals],
  ...(['alpha', 'xmin', 'xmax', 'D', 'sigma', 'num_pl_spikes', 'warning'] as const).map((k) => [k, (l: LayerResult) => l[k]] as [string, (l: LayerResult) => unknown]),
  ...(
    [
      'lambda_max', 'norm', 'log_norm', 'spectral_norm', 'log_spectral_norm', 'alpha_weighted', 'log_alpha_norm', 'stable_rank',
      'matrix_rank', 'entropy', 'sv_max', 'sv_min', 'rank_loss', 'weak_rank_loss',
      'num_spikes', 'sigma_mp', 'mp_softrank', 'bulk_max', 'bulk_min', 'W_scale',
      'sigma_max', 'sigma_min', 'condition_number', 'numerically_singular',
      'effective_rank', 'energy_rank_90', 'energy_rank_95', 'energy_rank_99', 'numerical_rank',
    ] as const
  ).map((k) => [k, (l: LayerResult) => l[k]] as [string, (l: LayerResult) => unknown]),
  ['welore_class', (l) => l.welore?.class],
  ['welore_keep_rank', (l) => l.welore?.keep_rank],
  ['welore_k', (l) => l.welore?.k],
  ['farms_alpha', (l) => l.farms?.alpha],
  ['farms_D', (l) => l.farms?.D],
  ['farms_xmin', (l) => l.farms?.xmin],
  ['farms_num_windows', (l) => l.farms?.num_windows],
  ['farms_skipped', (l) => l.farms_skipped],
  ['flags', (l) => l.flags?.join(';')],
];

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; numbers at full precision. */
function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(report: AnalysisReport): string {
  const lines = [CSV_COLUMNS.map(([h]) => h).join(',')];
  for (const l of report.layers) lines.push(CSV_COLUMNS.map(([, value]) => csvField(value(l))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function reportJson(report: AnalysisReport): string {
  const layers = report.layers.map(({ eigenvalues: _dropped, ...rest }) => rest);
  return `${JSON.stringify({ ...report, layers }, null, 1)}\n`;
}

export function renderExport(format: ExportFormat, report: AnalysisReport): string {
  if (format === 'csv') return reportCsv(report);
  if (format === 'json') return reportJson(report);
  return renderHtmlReport(report);
}

/** Where the save dialog starts: next to the checkpoint, e.g. model.safetensors → model-spectra.csv. */
export function defaultExportPath(checkpoint: string, format: ExportFormat): string {
  const base = path.basename(checkpoint).replace(/\.(safetensors|gguf|onnx|npz|npy|h5|pt|pth|ckpt|bin|json)$/i, '').replace(/\.index$/i, '');
  return path.join(path.dirname(checkpoint), `${base || 'model'}-spectra.${EXPORT_EXTENSIONS[format]}`);
}

const CHECKPOINT_NAME = /\.(safetensors|gguf|onnx|npz|npy|h5|hdf5|pt|pth|ckpt|bin|data)$|(^|[\\/])model\.json$|\.index\.json$|weights_manifest\.json$/i;

/** A file a checkpoint reader would open (or a shard/manifest of one): an export never replaces it. */
export function looksLikeCheckpoint(file: string): boolean {
  return CHECKPOINT_NAME.test(path.basename(file)) || CHECKPOINT_NAME.test(file);
}
