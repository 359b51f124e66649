import * as path from 'node:path';
import { FARMS_LLM_PAPER, type FarmsConfig } from '../../core/analysis/farms';
import { writeFileAtomic } from '../../core/io/atomic-write';
import { DEFAULT_ANALYZE_OPTIONS } from '../../core/jobs/analyze/options';
import type { ProviderSetting } from '../../core/linalg/ort/providers';
import type { AnalysisReport, LayerResult } from '../../core/report/model';
import type { WireAnalyzeOptions } from '../../protocol';
import { analyzeInWorker, JobFailedError } from '../../worker/client';
import { parseArgs, UsageError } from '../args';
import { formatTable } from '../format-table';
import { renderHtmlReport } from '../html-report';

export const ANALYZE_USAGE = `weight-spectra analyze <path> [--json FILE|-] [--html FILE] [--force] [--filter REGEX]
      [--farms] [--farms-rows N] [--farms-q Q] [--farms-windows K] [--farms-fit peak|mid|full]
      [--mp-fit] [--eigenvalues] [--provider auto|cpu|webgpu|cuda] [--threads N]
      [--min-evals N] [--max-evals N] [--max-n N] [--welore-tau T | --welore-target PCT] [--welore-min-ratio R]`;

const VALUED = new Set([
  'json', 'html', 'filter', 'farms-rows', 'farms-q', 'farms-windows', 'farms-fit', 'provider', 'threads',
  'min-evals', 'max-evals', 'max-n', 'welore-tau', 'welore-min-ratio', 'welore-target',
]);
const FLAGS = new Set(['farms', 'mp-fit', 'eigenvalues', 'force']);

function num(args: Map<string, string | true>, key: string, fallback: number, integer = false): number {
  const v = args.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`--${key} needs a ${integer ? 'whole ' : ''}number, got "${v}"`);
  return n;
}

function percent(p: number): number {
  if (!(p > 0 && p < 100)) throw new UsageError('--welore-target is a percentage between 0 and 100');
  return p / 100;
}

export function parseAnalyzeOptions(flags: Map<string, string | true>): WireAnalyzeOptions {
  for (const k of flags.keys()) if (!VALUED.has(k) && !FLAGS.has(k)) throw new UsageError(`unknown option --${k}\nusage: ${ANALYZE_USAGE}`);
  const filter = flags.get('filter');
  if (typeof filter === 'string') {
    try {
      new RegExp(filter);
    } catch (e) {
      throw new UsageError(`--filter is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const provider = (flags.get('provider') ?? 'cpu') as ProviderSetting;
  if (!['auto', 'cpu', 'webgpu', 'cuda'].includes(provider)) throw new UsageError(`--provider must be auto, cpu, webgpu or cuda`);
  const fitFlag = flags.get('farms-fit') ?? 'peak';
  const fits: Record<string, FarmsConfig['fix_fingers']> = { peak: 'xmin_peak', mid: 'xmin_mid', full: null };
  if (typeof fitFlag !== 'string' || !(fitFlag in fits)) throw new UsageError('--farms-fit must be peak, mid or full');
  const farmsOn = flags.has('farms') || [...flags.keys()].some((k) => k.startsWith('farms-'));
  const eigenvalues = flags.has('eigenvalues') || flags.has('html');
  const threads = num(flags, 'threads', DEFAULT_ANALYZE_OPTIONS.threads, true);
  if (threads < 0 || threads > 64) throw new UsageError('--threads must be 0 (one per core) to 64');
  return {
    ...DEFAULT_ANALYZE_OPTIONS,
    filter: typeof filter === 'string' ? filter : undefined,
    provider,
    mpFit: flags.has('mp-fit'),
    threads,
    eigenvalues,
    minEvals: num(flags, 'min-evals', DEFAULT_ANALYZE_OPTIONS.minEvals, true),
    maxEvals: num(flags, 'max-evals', DEFAULT_ANALYZE_OPTIONS.maxEvals, true),
    maxN: num(flags, 'max-n', DEFAULT_ANALYZE_OPTIONS.maxN, true),
    weloreTau: num(flags, 'welore-tau', DEFAULT_ANALYZE_OPTIONS.weloreTau),
    weloreMinRatio: num(flags, 'welore-min-ratio', DEFAULT_ANALYZE_OPTIONS.weloreMinRatio),
    weloreTarget: flags.has('welore-target') ? percent(num(flags, 'welore-target', 0)) : undefined,
    farms: farmsOn
      ? {
          num_row_samples: num(flags, 'farms-rows', FARMS_LLM_PAPER.num_row_samples, true),
          Q_ratio: num(flags, 'farms-q', FARMS_LLM_PAPER.Q_ratio),
          sampling_ops_per_dim: num(flags, 'farms-windows', FARMS_LLM_PAPER.sampling_ops_per_dim, true),
          fix_fingers: fits[fitFlag],
        }
      : false,
  };
}

function progressBar(done: number, total: number, name: string): string {
  const width = 24;
  const filled = total ? Math.round((done / total) * width) : 0;
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${name.slice(0, 60).padEnd(60)}`;
}

export async function runAnalyze(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, VALUED);
  if (args.positionals.length !== 1) throw new UsageError(`usage: ${ANALYZE_USAGE}`);
  const input = args.positionals[0];
  const options = parseAnalyzeOptions(args.flags);
  const jsonTarget = args.flags.get('json');
  const htmlTarget = args.flags.get('html');
  const force = args.flags.has('force');
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  const job = analyzeInWorker(path.join(__dirname, 'worker.js'), input, options, {
    onLayer: (layer, done, total) => {
      if (tty) err.write(progressBar(done, total, layer.name));
    },
    onProgress: (p) => {
      if (p.label) err.write(`${tty ? '\r' : ''}${p.label}\n`);
    },
  });
  const onSigint = () => job.cancel();
  process.once('SIGINT', onSigint);
  let report: AnalysisReport;
  try {
    report = await job.result;
  } catch (e) {
    if (e instanceof JobFailedError) {
      if (tty) err.write('\n');
      err.write(`weight-spectra analyze: error (${e.kind}): ${e.message}\n`);
      return e.kind === 'cancelled' ? 130 : 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (tty) err.write('\n');
  const inputs = [input];
  if (typeof htmlTarget === 'string') {
    writeFileAtomic(htmlTarget, renderHtmlReport(report), { force, inputs });
    err.write(`wrote ${htmlTarget}\n`);
  }
  const forJson: AnalysisReport = options.eigenvalues && !args.flags.has('eigenvalues') ? withoutEigenvalues(report) : report;
  if (jsonTarget === '-' || jsonTarget === true) out.write(`${JSON.stringify(forJson)}\n`);
  else if (typeof jsonTarget === 'string') {
    writeFileAtomic(jsonTarget, `${JSON.stringify(forJson, null, 1)}\n`, { force, inputs });
    err.write(`wrote ${jsonTarget}\n`);
  }
  // The table goes to stdout unless stdout carries the JSON document.
  if (jsonTarget !== '-' && jsonTarget !== true) out.write(`${humanReport(report)}\n`);
  return 0;
}

function withoutEigenvalues(r: AnalysisReport): AnalysisReport {
  return { ...r, layers: r.layers.map(({ eigenvalues: _drop, ...rest }) => rest) };
}

function humanReport(r: AnalysisReport): string {
  const f = (x: number | undefined, digits = 3) => (x === undefined || Number.isNaN(x) ? '' : Math.abs(x) >= 1e5 ? x.toExponential(2) : x.toFixed(digits));
  // FARMS's column only when FARMS ran (an empty column reads as "FARMS found nothing").
  const withFarms = r.layers.some((l) => l.farms);
  const rows = r.layers.map((l: LayerResult) => [
    l.name,
    l.kind,
    l.shape.join('×'),
    l.skipped ? `skipped: ${l.skipped}` : l.error ? `error: ${l.error}` : f(l.alpha),
    f(l.D),
    f(l.stable_rank, 1),
    f(l.condition_number, 1),
    l.welore?.class ?? '',
    ...(withFarms ? [l.farms ? f(l.farms.alpha) : ''] : []),
    (l.flags ?? []).join(','),
  ]);
  const s = r.model.summary;
  const head = [
    `${r.model.path}: ${r.model.format}, ${r.model.parameters.toLocaleString('en-US')} parameters, ${s.layers_analysed} layers analysed (${s.layers_skipped} skipped, ${s.layers_failed} failed) in ${r.model.seconds.toFixed(1)} s on ${r.model.provider}`,
    `mean alpha ${f(s.alpha)}, alpha_weighted ${f(s.alpha_weighted)}, log_norm ${f(s.log_norm)}, stable_rank ${f(s.stable_rank, 1)}; ${s.flagged?.length ?? 0} layers flagged`,
    '',
  ];
  const columns = ['layer', 'kind', 'shape', 'alpha', 'D', 'stable_rank', 'κ', 'WeLore', ...(withFarms ? ['FARMS α'] : []), 'flags'];
  return head.join('\n') + formatTable(columns, rows, new Set(withFarms ? [3, 4, 5, 6, 8] : [3, 4, 5, 6]));
}
