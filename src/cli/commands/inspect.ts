import { openCheckpoint } from '../../core/checkpoint/registry';
import { inspectCheckpoint, type InspectReport } from '../../core/inspect';
import { parseArgs, UsageError } from '../args';
import { formatBytes, formatCount, formatTable } from '../format-table';

export const INSPECT_USAGE = 'weight-spectra inspect <path> [--json] [--stats]';

export async function runInspect(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, new Set());
  for (const k of args.flags.keys()) if (k !== 'json' && k !== 'stats') throw new UsageError(`unknown option --${k}\nusage: ${INSPECT_USAGE}`);
  if (args.positionals.length !== 1) throw new UsageError(`usage: ${INSPECT_USAGE}`);
  const json = args.flags.has('json');
  const stats = args.flags.has('stats');
  const ckpt = await openCheckpoint(args.positionals[0]);
  try {
    const showProgress = stats && (err as NodeJS.WriteStream).isTTY === true;
    const report = await inspectCheckpoint(ckpt, {
      stats,
      onTensor: showProgress ? (i, n) => err.write(`\rreading tensor ${i}/${n}`) : undefined,
    });
    if (showProgress) err.write('\n');
    out.write(json ? `${JSON.stringify(report)}\n` : `${humanReport(report)}\n`);
    return 0;
  } finally {
    await ckpt.close();
  }
}

function humanReport(r: InspectReport): string {
  const head = [
    `format      ${r.format}`,
    `files       ${r.files.join('\n            ')}`,
    `tensors     ${formatCount(r.tensors.length)}`,
    `parameters  ${formatCount(r.parameters)}`,
    '',
  ];
  const withStats = r.tensors.some((t) => t.stats);
  const header = ['name', 'dtype', 'shape', 'bytes', 'kind', ...(withStats ? ['mean', 'std', 'min', 'max', 'nonfinite'] : [])];
  const g = (x: number) => (Number.isFinite(x) ? x.toPrecision(5) : String(x));
  const rows = r.tensors.map((t) => [
    t.name,
    t.dtype,
    `[${t.shape.join(', ')}]`,
    formatBytes(t.bytes),
    t.kind,
    ...(t.stats ? [g(t.stats.mean), g(t.stats.std), g(t.stats.min), g(t.stats.max), String(t.stats.nonfinite)] : []),
  ]);
  return head.join('\n') + formatTable(header, rows, new Set([3, 5, 6, 7, 8, 9]));
}
