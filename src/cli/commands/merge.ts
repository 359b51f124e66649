import { METHOD_NAMES } from '../../core/transforms/merge/registry';
import { formatFigure } from '../../core/report/format-figure';
import { runMergeJob, type MergeReport } from '../../core/transforms/merge/run-merge';
import { MergeParameterError } from '../../core/transforms/merge/types';
import type { SpecKind } from '../../core/transforms/match/infer';
import { parseArgs, UsageError } from '../args';
import { formatTable } from '../format-table';
import { cancelOnSigint, checkFlags, intFlag, reportJobError } from './match';

export const MERGE_USAGE = `weight-spectra merge <a> <b> [more…] --out <path>.safetensors|.onnx --method ${METHOD_NAMES.join('|')}
      [--base <base>] [--t 0.5] [--weights w1,w2,…] [--density 0.5] [--lambda 1] [--alpha 0.5] [--seed N]
      [--spec auto|mlp|cnn|transformer|FILE] [--heads N] [--force] [--json]`;

const NUMERIC = ['t', 'density', 'lambda', 'alpha'];
const VALUED = new Set(['out', 'method', 'base', 'weights', 'seed', 'spec', 'heads', ...NUMERIC]);
const FLAGS = new Set(['json', 'force']);

function parseNumber(key: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${key} needs a number, got "${v}"`);
  return n;
}

export async function runMerge(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, VALUED);
  checkFlags(args.flags, VALUED, FLAGS, MERGE_USAGE);
  if (args.positionals.length < 1) throw new UsageError(`usage: ${MERGE_USAGE}`);
  const target = args.flags.get('out');
  const method = args.flags.get('method');
  if (typeof target !== 'string') throw new UsageError(`--out is required\nusage: ${MERGE_USAGE}`);
  if (typeof method !== 'string') throw new UsageError(`--method is required (${METHOD_NAMES.join(', ')})`);
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`--method must be one of ${METHOD_NAMES.join(', ')}, got "${method}"`);
  const params: Record<string, number> = {};
  for (const k of NUMERIC) {
    const v = args.flags.get(k);
    if (typeof v === 'string') params[k] = parseNumber(k, v);
  }
  const w = args.flags.get('weights');
  const weights = typeof w === 'string' ? w.split(',').map((x) => parseNumber('weights', x)) : undefined;
  const specFlag = (args.flags.get('spec') as string | undefined) ?? 'auto';
  const spec: SpecKind | { file: string } = ['auto', 'mlp', 'cnn', 'transformer'].includes(specFlag) ? (specFlag as SpecKind) : { file: specFlag };
  const json = args.flags.has('json');
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  const cancel = cancelOnSigint();
  let report: MergeReport;
  try {
    report = await runMergeJob(args.positionals, {
      method,
      out: target,
      base: args.flags.get('base') as string | undefined,
      params,
      weights,
      seed: intFlag(args.flags, 'seed') ?? 0,
      spec,
      heads: intFlag(args.flags, 'heads', 1),
      force: args.flags.has('force'),
      signal: cancel.signal,
      onProgress: tty ? (done, total, name) => err.write(`\r${done}/${total} ${name.slice(0, 60).padEnd(60)}`) : undefined,
    });
    if (tty) err.write('\n');
  } catch (e) {
    if (e instanceof MergeParameterError) throw new UsageError(e.message);
    return reportJobError('merge', e, err);
  } finally {
    cancel.dispose();
  }
  out.write(json ? `${JSON.stringify(report)}\n` : `${humanMerge(report)}\n`);
  return 0;
}

function humanMerge(r: MergeReport): string {
  const f = formatFigure;
  const head = [
    `${r.method} ${JSON.stringify(r.params)} of ${r.inputs.join(', ')}${r.base ? ` on base ${r.base}` : ''} (${r.seconds.toFixed(1)} s)`,
    `wrote ${r.files.join(', ')}`,
    '',
  ];
  const rows = r.layers.map((l) => [l.name, `[${l.shape.join(', ')}]`, f(l.norm), l.distance_to_inputs.map(f).join(' ')]);
  return head.join('\n') + formatTable(['tensor', 'shape', '‖merged‖', '‖merged − input i‖'], rows, new Set([2]));
}
