import type { ProviderSetting } from '../../core/linalg/ort/providers';
import { formatFigure } from '../../core/report/format-figure';
import { CancelledWriteError } from '../../core/writers/staged-outputs';
import type { SpecKind } from '../../core/transforms/match/infer';
import { transformErrorKind } from '../../core/transforms/match/errors';
import { runMatchJob, type MatchReport } from '../../core/transforms/match/run-match';
import { parseArgs, UsageError } from '../args';
import { formatTable } from '../format-table';

export const MATCH_USAGE = `weight-spectra match <a> <b> [--out <b-aligned>.safetensors|.onnx] [--spec auto|mlp|cnn|transformer|FILE]
      [--heads N] [--seed N] [--max-sweeps N] [--provider cpu|cuda|webgpu|auto] [--force] [--json]`;

const VALUED = new Set(['out', 'spec', 'heads', 'seed', 'max-sweeps', 'provider']);
const FLAGS = new Set(['json', 'force']);

export function intFlag(flags: Map<string, string | true>, key: string, min = 0): number | undefined {
  const v = flags.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < min) throw new UsageError(`--${key} needs a whole number ≥ ${min}, got "${v}"`);
  return n;
}

export function checkFlags(flags: Map<string, string | true>, valued: ReadonlySet<string>, bare: ReadonlySet<string>, usage: string): void {
  for (const [k, v] of flags) {
    if (!valued.has(k) && !bare.has(k)) throw new UsageError(`unknown option --${k}\nusage: ${usage}`);
    if (valued.has(k) && v === true) throw new UsageError(`--${k} needs a value`);
  }
}

/** Prints a job error the user can act on and returns the exit code; rethrows anything else (main prints those). */
export function reportJobError(command: string, e: unknown, err: NodeJS.WritableStream): number {
  if (e instanceof CancelledWriteError) {
    err.write(`weight-spectra ${command}: cancelled; nothing was written\n`);
    return 130;
  }
  const kind = transformErrorKind(e);
  if (!kind) throw e;
  err.write(`weight-spectra ${command}: ${kind === 'cancelled' ? 'cancelled' : `error (${kind}): ${(e as Error).message}`}\n`);
  return kind === 'cancelled' ? 130 : 1;
}

/** SIGINT stops the job between steps; the writers then leave nothing behind. */
export function cancelOnSigint(): { signal: { aborted: boolean }; dispose(): void } {
  const signal = { aborted: false };
  const on = () => {
    signal.aborted = true;
  };
  process.once('SIGINT', on);
  return { signal, dispose: () => process.off('SIGINT', on) };
}

export async function runMatch(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, VALUED);
  checkFlags(args.flags, VALUED, FLAGS, MATCH_USAGE);
  if (args.positionals.length !== 2) throw new UsageError(`usage: ${MATCH_USAGE}`);
  const specFlag = (args.flags.get('spec') as string | undefined) ?? 'auto';
  const spec: SpecKind | { file: string } = ['auto', 'mlp', 'cnn', 'transformer'].includes(specFlag) ? (specFlag as SpecKind) : { file: specFlag };
  const json = args.flags.has('json');
  const provider = (args.flags.get('provider') as string | undefined) ?? 'cpu';
  if (!['auto', 'cpu', 'cuda', 'webgpu'].includes(provider)) throw new UsageError('--provider must be auto, cpu, cuda or webgpu');
  const cancel = cancelOnSigint();
  let report: MatchReport;
  try {
    report = await runMatchJob(args.positionals[0], args.positionals[1], {
      spec,
      heads: intFlag(args.flags, 'heads', 1),
      seed: intFlag(args.flags, 'seed') ?? 0,
      maxSweeps: intFlag(args.flags, 'max-sweeps', 1),
      out: args.flags.get('out') as string | undefined,
      force: args.flags.has('force'),
      provider: provider as ProviderSetting,
      signal: cancel.signal,
      onProgress: json ? undefined : (label) => err.write(`${label}\n`),
    });
  } catch (e) {
    return reportJobError('match', e, err);
  } finally {
    cancel.dispose();
  }
  out.write(json ? `${JSON.stringify(report)}\n` : `${humanMatch(report)}\n`);
  return 0;
}

function humanMatch(r: MatchReport): string {
  const f = formatFigure;
  const perms = Object.entries(r.permutations).map(([n, p]) => `${n} (${p.moved}/${p.size} moved)`);
  const head = [
    `${r.b} → basis of ${r.a} (${r.format}, spec ${r.spec}, ${r.sweeps} sweeps, seed ${r.seed}, ${r.seconds.toFixed(1)} s)`,
    ...r.notes.map((n) => `note: ${n}`),
    `‖θa − θb‖ ${f(r.distance_before)} → ${f(r.distance_after)}`,
    `permutations: ${perms.join(', ') || 'none'}`,
    ...(r.files.length ? [`wrote ${r.files.join(', ')}`] : []),
    '',
  ];
  const rows = r.layers
    .filter((l) => l.permuted)
    .map((l) => [
      l.name,
      `[${l.shape.join(', ')}]`,
      f(l.distance_before),
      f(l.distance_after),
      l.sv_alignment ? `${l.sv_alignment.before.u.toFixed(3)}/${l.sv_alignment.before.v.toFixed(3)}` : '',
      l.sv_alignment ? `${l.sv_alignment.after.u.toFixed(3)}/${l.sv_alignment.after.v.toFixed(3)}` : '',
    ]);
  return head.join('\n') + formatTable(['tensor', 'shape', 'distance before', 'after', 'sv align u/v before', 'after'], rows, new Set([2, 3, 4, 5]));
}
