import { JobCancelledError as CancelledError } from '../../cancel';
/** The `match` job: open two checkpoints, build the permutation spec, run weight matching, report and write B aligned to A. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint } from '../../checkpoint/registry';
import type { Checkpoint, FormatId } from '../../checkpoint/types';
import type { ProviderSetting } from '../../linalg/ort/providers';
import { emitModel } from './emit';
import { matchFigures, type LayerFigures } from './figures';
import { inferSpec, type SpecKind } from './infer';
import { inferKerasSpec, readKerasTopology } from './infer/keras-topology';
import { isTfLayout } from './infer/layers';
import { assertSameArchitecture, isParameter, loadParameters } from './load';
import { createOrtCost } from './ort-cost';
import { permuteAll } from './permute';
import { parseSpecJson } from './spec-file';
import { validateSpec, type PermutationSpec } from './spec';
import type { HeldTensor } from './tensor';
import { weightMatching } from './weight-matching';

export interface MatchJobOptions {
  /** auto|mlp|cnn|transformer, or a spec file path. */
  spec: SpecKind | { file: string };
  heads?: number;
  seed?: number;
  maxSweeps?: number;
  out?: string;
  force?: boolean;
  provider?: ProviderSetting;
  signal?: { readonly aborted: boolean };
  onProgress?: (label: string) => void;
}

export interface PermutationFigure {
  size: number;
  /** Units that moved (perm[i] ≠ i). */
  moved: number;
  /** perm[i] = the unit of B placed at A's position i. */
  perm: number[];
}

export interface MatchReport {
  a: string;
  b: string;
  format: FormatId;
  spec: string;
  notes: string[];
  sweeps: number;
  seed: number;
  distance_before: number;
  distance_after: number;
  permutations: Record<string, PermutationFigure>;
  layers: LayerFigures[];
  files: string[];
  seconds: number;
}

/** The job was cancelled (one error type for every job: src/core/cancel.ts). */
export { CancelledError };

/** Heads per attention block from a Hugging Face config.json beside the model, when there is one. */
export function headsFromConfig(modelPath: string): number | undefined {
  const dir = fs.existsSync(modelPath) && fs.statSync(modelPath).isDirectory() ? modelPath : path.dirname(modelPath);
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const h = cfg.num_attention_heads ?? cfg.n_head ?? cfg.num_heads;
    return typeof h === 'number' && Number.isInteger(h) && h > 0 ? h : undefined;
  } catch {
    return undefined;
  }
}

/** The spec for a pair of checkpoints (A's tensors in file order). */
export function buildSpec(a: Checkpoint, opts: Pick<MatchJobOptions, 'spec' | 'heads'>): { spec: PermutationSpec; kind: string; notes: string[] } {
  const tensors = a.tensors.filter(isParameter).map((t) => ({ name: t.name, shape: t.shape }));
  let result: { spec: PermutationSpec; kind: string; notes: string[] };
  if (typeof opts.spec === 'object') {
    result = { spec: parseSpecJson(fs.readFileSync(opts.spec.file, 'utf8'), opts.spec.file), kind: `file ${opts.spec.file}`, notes: [] };
  } else {
    // A TF.js layers model carries its graph: exact spec from the topology when `auto` can use it.
    const topology = opts.spec === 'auto' && a.format === 'tfjs' ? readKerasTopology(a.path) : undefined;
    const fromGraph = topology ? inferKerasSpec(topology, tensors) : undefined;
    result = fromGraph
      ? { ...fromGraph, kind: 'graph (TF.js topology)' }
      : inferSpec(opts.spec, tensors, a.format, { heads: opts.heads ?? headsFromConfig(a.path) });
  }
  const shapes = new Map(tensors.map((t) => [t.name, t.shape]));
  validateSpec(result.spec, (n) => shapes.get(n));
  return result;
}

/** Loads both models, matches B to A; returns the aligned B in memory with the report (no file written). */
export async function matchCheckpoints(a: Checkpoint, b: Checkpoint, opts: MatchJobOptions) {
  const started = Date.now();
  assertSameArchitecture(a, b);
  const { spec, kind, notes } = buildSpec(a, opts);
  opts.onProgress?.(`spec ${kind}: ${spec.perms.size} permutations over ${spec.axes.size} tensors`);
  const ta = await loadParameters(a);
  const tb = await loadParameters(b);
  const cost = await createOrtCost(opts.provider ?? 'cpu');
  const seed = opts.seed ?? 0;
  let result;
  try {
    result = await weightMatching(ta, tb, spec, {
      seed,
      maxSweeps: opts.maxSweeps,
      product: cost.product,
      onStep: ({ sweep, perm, gain }) => {
        if (opts.signal?.aborted) throw new CancelledError();
        if (gain > 0) opts.onProgress?.(`sweep ${sweep + 1}: ${perm} +${gain.toPrecision(4)}`);
      },
    });
  } finally {
    await cost.release();
  }
  const aligned = permuteAll(tb, spec, result.perms);
  const figures = matchFigures(ta, tb, aligned, new Set(spec.axes.keys()), isTfLayout(a.format) ? 'last' : 'first');
  const permutations: Record<string, PermutationFigure> = {};
  for (const [name, p] of result.perms) {
    let moved = 0;
    p.forEach((v, i) => (moved += v === i ? 0 : 1));
    permutations[name] = { size: p.length, moved, perm: [...p] };
  }
  const report: MatchReport = {
    a: a.path,
    b: b.path,
    format: a.format,
    spec: kind,
    notes,
    sweeps: result.sweeps,
    seed,
    distance_before: figures.distance_before,
    distance_after: figures.distance_after,
    permutations,
    layers: figures.layers,
    files: [],
    seconds: (Date.now() - started) / 1000,
  };
  return { report, aligned, spec, perms: result.perms };
}

/** The whole job from paths: match, then write B aligned when `out` is given. */
export async function runMatchJob(pathA: string, pathB: string, opts: MatchJobOptions): Promise<MatchReport> {
  const a = await openCheckpoint(pathA);
  try {
    const b = await openCheckpoint(pathB);
    try {
      const { report, aligned } = await matchCheckpoints(a, b, opts);
      if (opts.out) {
        opts.onProgress?.(`writing ${opts.out}`);
        const { files } = await emitModel(opts.out, b, async (t) => aligned.get(t.name)?.data, {
          force: opts.force,
          inputs: [...a.files, ...b.files],
          signal: opts.signal,
          metadata: { 'weight-spectra': `match: ${path.basename(pathB)} permuted into the basis of ${path.basename(pathA)} (Git Re-Basin weight matching, seed ${report.seed})` },
        });
        report.files = files;
      }
      return report;
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}

export type { HeldTensor };
