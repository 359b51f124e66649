import { CheckpointError } from '../../core/errors';
import { OutputError } from '../../core/io/atomic-write';
import { isCancellation } from '../../core/cancel';
import type { RankCriterion } from '../../core/transforms/compress/ranks';
import { compressCheckpoint, type CompressOptions, type CompressReport, type EmitMode } from '../../core/transforms/compress/run';
import { EigenError } from '../../core/transforms/compress/symmetric-eigenvectors';
import { parseArgs, UsageError } from '../args';
import { formatTable } from '../format-table';

export const COMPRESS_USAGE = `weight-spectra compress <path> --out <path> (--rank-reduction PCT | --energy F | --welore-tau T)
      [--min-ratio R] [--emit factorized|dense|lora|onnx] [--filter REGEX] [--shard-size BYTES] [--max-side N]
      [--svd exact|randomized|auto] [--svd-tolerance F] [--inputs x.npz] [--input-shape NAME=D,D,...] [--seed N] [--no-check] [--json] [--force]`;

const VALUED = new Set(['out', 'rank-reduction', 'energy', 'welore-tau', 'min-ratio', 'emit', 'filter', 'shard-size', 'max-side', 'inputs', 'input-shape', 'seed', 'svd', 'svd-tolerance']);
const FLAGS = new Set(['json', 'force', 'no-check']);
const EMITS: readonly EmitMode[] = ['factorized', 'dense', 'lora', 'onnx'];

function number(flags: Map<string, string | true>, key: string): number | undefined {
  const v = flags.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${key} needs a number, got "${v === true ? '' : v}"`);
  return n;
}

/** "2GB", "500MB", "1e9", "4096" → bytes (powers of 1000, as transformers' max_shard_size; KiB/MiB/GiB are powers of 1024). */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`--shard-size must be a size like 2GB, 500MB or 1000000, got "${text}"`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const scale: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  const bytes = Math.floor(Number(m[1]) * scale[unit]);
  if (!(bytes > 0)) throw new UsageError('--shard-size must be positive');
  return bytes;
}

function parseShapes(text: string | true | undefined): Record<string, number[]> | undefined {
  if (text === undefined) return undefined;
  if (text === true) throw new UsageError('--input-shape needs NAME=D,D,... (several separated by ;)');
  const shapes: Record<string, number[]> = {};
  for (const part of text.split(';').filter((s) => s.trim())) {
    const eq = part.indexOf('=');
    const dims = part.slice(eq + 1).split(',').filter((s) => s.trim() !== '').map(Number);
    if (eq <= 0 || !dims.every((d) => Number.isInteger(d) && d >= 0)) throw new UsageError(`--input-shape: "${part}" is not NAME=D,D,...`);
    shapes[part.slice(0, eq).trim()] = dims;
  }
  return shapes;
}

export function parseCompressOptions(flags: Map<string, string | true>): CompressOptions & { out: string; json: boolean } {
  for (const k of flags.keys()) if (!VALUED.has(k) && !FLAGS.has(k)) throw new UsageError(`unknown option --${k}\nusage: ${COMPRESS_USAGE}`);
  const out = flags.get('out');
  if (typeof out !== 'string' || !out) throw new UsageError(`--out <path> is required\nusage: ${COMPRESS_USAGE}`);
  const given = ['rank-reduction', 'energy', 'welore-tau'].filter((k) => flags.has(k));
  if (given.length !== 1) throw new UsageError(`give exactly one of --rank-reduction PCT, --energy F, --welore-tau T\nusage: ${COMPRESS_USAGE}`);
  let criterion: RankCriterion;
  if (given[0] === 'rank-reduction') {
    const pct = number(flags, 'rank-reduction')!;
    if (!(pct > 0 && pct < 100)) throw new UsageError('--rank-reduction is a percentage of ranks to remove, between 0 and 100');
    criterion = { type: 'rank-reduction', fraction: pct / 100 };
  } else if (given[0] === 'energy') {
    const f = number(flags, 'energy')!;
    if (!(f > 0 && f <= 1)) throw new UsageError('--energy is the fraction of Σσ² to keep, in (0, 1]');
    criterion = { type: 'energy', fraction: f };
  } else {
    const tau = number(flags, 'welore-tau')!;
    if (!(tau >= 0 && tau <= 1)) throw new UsageError('--welore-tau is a threshold on min–max normalised singular values, in [0, 1]');
    criterion = { type: 'welore-tau', tau };
  }
  const minRatio = number(flags, 'min-ratio') ?? 0;
  if (!(minRatio >= 0 && minRatio < 1)) throw new UsageError('--min-ratio is in [0, 1)');
  const emit = (flags.get('emit') ?? 'factorized') as EmitMode;
  if (!EMITS.includes(emit)) throw new UsageError(`--emit must be ${EMITS.join(', ')}`);
  const filterText = flags.get('filter');
  let filter: RegExp | undefined;
  if (typeof filterText === 'string') {
    try {
      filter = new RegExp(filterText);
    } catch (e) {
      throw new UsageError(`--filter is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const shard = flags.get('shard-size');
  if (shard !== undefined && emit !== 'factorized' && emit !== 'dense') throw new UsageError('--shard-size works with --emit factorized or dense');
  const maxSide = number(flags, 'max-side');
  if (maxSide !== undefined && !(Number.isInteger(maxSide) && maxSide > 0)) throw new UsageError('--max-side is a positive whole number');
  const seed = number(flags, 'seed');
  if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError('--seed is a whole number');
  const svdMethod = flags.get('svd') ?? 'exact';
  if (svdMethod !== 'exact' && svdMethod !== 'randomized' && svdMethod !== 'auto') throw new UsageError('--svd must be exact, randomized or auto');
  const tolerance = number(flags, 'svd-tolerance');
  if (tolerance !== undefined && !(tolerance >= 0)) throw new UsageError('--svd-tolerance is a non-negative fraction');
  const onnxOnly = ['inputs', 'input-shape', 'no-check'].filter((k) => flags.has(k));
  if (onnxOnly.length && emit !== 'onnx') throw new UsageError(`--${onnxOnly[0]} works with --emit onnx`);
  const inputs = flags.get('inputs');
  if (inputs === true) throw new UsageError('--inputs needs an .npz file');
  return {
    out,
    json: flags.has('json'),
    criterion,
    minRatio,
    emit,
    filter,
    force: flags.has('force'),
    shardBytes: typeof shard === 'string' ? parseByteSize(shard) : undefined,
    maxSide,
    svd: { method: svdMethod, tolerance, seed },
    onnxInputs: inputs,
    inputShapes: parseShapes(flags.get('input-shape')),
    seed,
    check: !flags.has('no-check'),
  };
}

export async function runCompress(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, VALUED);
  if (args.positionals.length !== 1) throw new UsageError(`usage: ${COMPRESS_USAGE}`);
  const input = args.positionals[0];
  const { out: target, json, ...options } = parseCompressOptions(args.flags);
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  const signal = { aborted: false };
  const onSigint = () => {
    signal.aborted = true;
  };
  process.once('SIGINT', onSigint);
  let report: CompressReport;
  try {
    report = await compressCheckpoint(input, target, {
      ...options,
      signal,
      onProgress: (phase, done, total, name) => {
        if (tty) err.write(`\r${phase === 'spectra' ? 'spectra' : 'writing'} ${done}/${total} ${name.slice(0, 60).padEnd(60)}`);
      },
    });
  } catch (e) {
    if (tty) err.write('\n');
    if (isCancellation(e) || (e instanceof OutputError && signal.aborted)) {
      err.write('weight-spectra compress: cancelled; nothing was written\n');
      return 130;
    }
    if (e instanceof EigenError) {
      err.write(`weight-spectra compress: error (numeric): ${input}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CheckpointError || e instanceof OutputError) throw e;
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && !(e instanceof ReferenceError)) {
      err.write(`weight-spectra compress: error: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (tty) err.write('\n');
  if (json) out.write(`${JSON.stringify(report)}\n`);
  else out.write(`${humanReport(report)}\n`);
  if (report.onnx_check && 'error' in report.onnx_check) err.write(`weight-spectra compress: warning: output check not run: ${report.onnx_check.error}\n`);
  return 0;
}

function humanReport(r: CompressReport): string {
  const rows = r.layers.map((l) => [
    l.name,
    l.shape.join('×'),
    l.compressed ? `${l.rank}/${l.full_rank}` : `kept (${l.reason ?? 'unchanged'})`,
    l.params_before.toLocaleString('en-US'),
    l.params_after.toLocaleString('en-US'),
    l.compressed ? l.rel_error.toFixed(4) : '',
  ]);
  const t = r.totals;
  const saved = t.params_before ? (100 * (1 - t.params_after / t.params_before)).toFixed(1) : '0';
  const lines = [
    `${r.input} → ${r.emit}: ${t.compressed_layers} of ${t.layers} weight matrices compressed; parameters ${t.params_before.toLocaleString('en-US')} → ${t.params_after.toLocaleString('en-US')} (${saved}% fewer)${r.tau !== undefined ? `; WeLore τ = ${r.tau.toPrecision(4)}` : ''}`,
    `wrote ${r.files.join(', ')}`,
  ];
  if (r.onnx_check && 'outputs' in r.onnx_check) {
    lines.push(`onnxruntime check (${r.onnx_check.inputs}): ${r.onnx_check.outputs.map((o) => `${o.name} rel_error ${o.rel_error.toExponential(3)}, max |Δ| ${o.max_abs_error.toExponential(3)}`).join('; ')}`);
  }
  lines.push('');
  return lines.join('\n') + formatTable(['layer', 'shape', 'rank', 'params before', 'params after', 'rel_error'], rows, new Set([3, 4, 5]));
}
