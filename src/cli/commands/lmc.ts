import * as fs from 'node:fs';
import { formatFigure } from '../../core/report/format-figure';
import { openCheckpoint } from '../../core/checkpoint/registry';
import { runLmcJob, type LmcReport } from '../../core/transforms/lmc/run-lmc';
import type { SpecKind } from '../../core/transforms/match/infer';
import { parseArgs, UsageError } from '../args';
import { formatTable } from '../format-table';
import { cancelOnSigint, checkFlags, intFlag, reportJobError } from './match';

export const LMC_USAGE = `weight-spectra lmc <a> <b> [--rebasin] [--steps 11] [--inputs data.npz] [--labels labels.json|.npy]
      [--input-shapes "name=1,512;other=2,1,128"] [--seed N] [--spec auto|mlp|cnn|transformer|FILE] [--heads N] [--json]`;

const VALUED = new Set(['steps', 'inputs', 'labels', 'input-shapes', 'seed', 'spec', 'heads']);
const FLAGS = new Set(['json', 'rebasin']);

/** Class labels from a JSON array of whole numbers, or the first array of a file we read (.npy, .npz, …). */
async function readLabels(file: string): Promise<number[]> {
  if (file.toLowerCase().endsWith('.json')) {
    let doc: unknown;
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`--labels ${file}: ${(e as Error).message}`);
    }
    if (!Array.isArray(doc) || !doc.every((x) => Number.isInteger(x) && x >= 0)) throw new UsageError(`--labels ${file}: expected a JSON array of class indices`);
    return doc as number[];
  }
  const c = await openCheckpoint(file);
  try {
    if (!c.tensors.length) throw new UsageError(`--labels ${file}: no array in the file`);
    return [...(await c.read(c.tensors[0].name, 'float64'))];
  } finally {
    await c.close();
  }
}

function parseShapes(s: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const part of s.split(';').filter((p) => p.trim())) {
    const m = /^\s*([^=]+?)\s*=\s*([\d,\s]+)$/.exec(part);
    if (!m) throw new UsageError(`--input-shapes: "${part}" is not name=d1,d2,…`);
    out[m[1]] = m[2].split(',').map((d) => Number(d.trim()));
  }
  return out;
}

export async function runLmc(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, VALUED);
  checkFlags(args.flags, VALUED, FLAGS, LMC_USAGE);
  if (args.positionals.length !== 2) throw new UsageError(`usage: ${LMC_USAGE}`);
  const specFlag = (args.flags.get('spec') as string | undefined) ?? 'auto';
  const spec: SpecKind | { file: string } = ['auto', 'mlp', 'cnn', 'transformer'].includes(specFlag) ? (specFlag as SpecKind) : { file: specFlag };
  const labelsFile = args.flags.get('labels') as string | undefined;
  const shapes = args.flags.get('input-shapes') as string | undefined;
  const json = args.flags.has('json');
  const cancel = cancelOnSigint();
  let report: LmcReport;
  try {
    report = await runLmcJob(args.positionals[0], args.positionals[1], {
      steps: intFlag(args.flags, 'steps', 2) ?? 11,
      rebasin: args.flags.has('rebasin'),
      spec,
      heads: intFlag(args.flags, 'heads', 1),
      inputs: args.flags.get('inputs') as string | undefined,
      labels: labelsFile ? await readLabels(labelsFile) : undefined,
      inputShapes: shapes ? parseShapes(shapes) : undefined,
      seed: intFlag(args.flags, 'seed') ?? 0,
      signal: cancel.signal,
      onProgress: json ? undefined : (label) => err.write(`${label}\n`),
    });
  } catch (e) {
    return reportJobError('lmc', e, err);
  } finally {
    cancel.dispose();
  }
  out.write(json ? `${JSON.stringify(report)}\n` : `${humanLmc(report)}\n`);
  return 0;
}

function humanLmc(r: LmcReport): string {
  const f = formatFigure;
  const head = [
    `${r.a} → ${r.b} (${r.format}${r.rebasin ? ', weight-matched' : ''}, ${r.seconds.toFixed(1)} s)`,
    ...r.notes.map((n) => `note: ${n}`),
    `‖θa − θb‖ ${f(r.distance_before)}${r.rebasin ? ` → ${f(r.distance_after)} after matching` : ''}`,
  ];
  if (!r.loss) return head.join('\n');
  head.push(`${r.loss_kind} on ${r.inputs} inputs; barrier ${f(r.barrier!)} at λ = ${r.barrier_lambda!.toFixed(3)}`, '');
  const rows = r.lambdas.map((lam, i) => [lam.toFixed(3), f(r.loss![i]), f(r.output_distance_to_a![i]), f(r.output_distance_to_b![i])]);
  return head.join('\n') + formatTable(['λ', 'loss', 'output distance to A', 'to B'], rows, new Set([0, 1, 2, 3]));
}
