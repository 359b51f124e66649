/**
 * The `lmc` job: linear mode connectivity of two models with the same ONNX graph. For λ on a grid, θ(λ) =
 * (1 − λ)θa + λθb (θb first weight-matched to θa with `rebasin`) is written as an ONNX model (same graph, new
 * initializer/Constant values), run in onnxruntime on the inputs, and scored (loss.ts). Other formats get the
 * weight-space figures of `match` instead (distances, singular-vector alignment), with a note.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { openCheckpoint } from '../../checkpoint/registry';
import type { Checkpoint } from '../../checkpoint/types';
import { emitModel } from '../match/emit';
import { TransformInputError } from '../match/errors';
import { matchFigures, type LayerFigures } from '../match/figures';
import type { SpecKind } from '../match/infer';
import { isTfLayout } from '../match/infer/layers';
import { assertSameArchitecture, loadParameters } from '../match/load';
import { ort } from '../match/ort-cost';
import { CancelledError, matchCheckpoints } from '../match/run-match';
import type { HeldTensor } from '../match/tensor';
import { feedsFromFile, randomFeeds, type Feeds } from './feeds';
import { barrier, crossEntropy, outputDeviation, rmsDistance, type OutputsAt } from './loss';

export interface LmcJobOptions {
  steps?: number;
  rebasin?: boolean;
  spec?: SpecKind | { file: string };
  heads?: number;
  inputs?: string;
  /** Class index per sample (cross-entropy); without them the output deviation is used. */
  labels?: readonly number[];
  /** Shapes for random inputs with unknown dimensions. */
  inputShapes?: Readonly<Record<string, readonly number[]>>;
  seed?: number;
  signal?: { readonly aborted: boolean };
  onProgress?: (label: string) => void;
}

export interface LmcReport {
  a: string;
  b: string;
  format: string;
  rebasin: boolean;
  /** 'cross-entropy' | 'output-deviation' | null (weight space only). */
  loss_kind: string | null;
  inputs: string;
  lambdas: number[];
  loss: number[] | null;
  barrier: number | null;
  barrier_lambda: number | null;
  /** RMS distance of the outputs at each λ to the outputs of A and of B. */
  output_distance_to_a: number[] | null;
  output_distance_to_b: number[] | null;
  /** ‖θa − θb‖ (after matching with rebasin) and the per-layer figures of match. */
  distance_before: number;
  distance_after: number;
  layers: LayerFigures[];
  notes: string[];
  seconds: number;
}

function grid(steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 2) throw new TransformInputError(`--steps must be a whole number ≥ 2, got ${steps}`);
  return Array.from({ length: steps }, (_, i) => i / (steps - 1));
}

async function collect(session: Ort.InferenceSession, feeds: Feeds): Promise<OutputsAt> {
  const out = await session.run(feeds);
  const parts: Float64Array[] = [];
  let first: Float64Array | undefined;
  let firstShape: readonly number[] = [];
  for (const name of session.outputNames) {
    const t = out[name];
    if (t.type !== 'float32' && t.type !== 'float64') continue;
    const v = Float64Array.from(t.data as Float32Array);
    parts.push(v);
    if (!first) {
      first = v;
      firstShape = t.dims;
    }
  }
  if (!first) throw new TransformInputError('the model has no float output to score');
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return { all, first, firstShape };
}

export async function runLmcJob(pathA: string, pathB: string, opts: LmcJobOptions = {}): Promise<LmcReport> {
  const started = Date.now();
  const lambdas = grid(opts.steps ?? 11);
  const notes: string[] = [];
  const a = await openCheckpoint(pathA);
  let b: Checkpoint | undefined;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'weight-spectra-lmc-'));
  try {
    b = await openCheckpoint(pathB);
    assertSameArchitecture(a, b);
    const ta = await loadParameters(a);
    let tb: ReadonlyMap<string, HeldTensor>;
    let figures;
    if (opts.rebasin) {
      opts.onProgress?.('weight matching B to A');
      const m = await matchCheckpoints(a, b, { spec: opts.spec ?? 'auto', heads: opts.heads, seed: opts.seed, signal: opts.signal });
      tb = m.aligned;
      notes.push(...m.report.notes);
      figures = { distance_before: m.report.distance_before, distance_after: m.report.distance_after, layers: m.report.layers };
    } else {
      tb = await loadParameters(b);
      figures = matchFigures(ta, tb, tb, new Set(), isTfLayout(a.format) ? 'last' : 'first');
    }
    const base: LmcReport = {
      a: pathA,
      b: pathB,
      format: a.format,
      rebasin: !!opts.rebasin,
      loss_kind: null,
      inputs: opts.inputs ?? 'random',
      lambdas,
      loss: null,
      barrier: null,
      barrier_lambda: null,
      output_distance_to_a: null,
      output_distance_to_b: null,
      distance_before: figures.distance_before,
      distance_after: figures.distance_after,
      layers: figures.layers,
      notes,
      seconds: 0,
    };
    if (a.format !== 'onnx' || b.format !== 'onnx') {
      notes.push(`${a.format} models cannot be run here: weight-space figures only (lmc runs ONNX models in onnxruntime)`);
      return { ...base, seconds: (Date.now() - started) / 1000 };
    }
    const outputs: OutputsAt[] = [];
    let feeds: Feeds | undefined;
    for (const lam of lambdas) {
      if (opts.signal?.aborted) throw new CancelledError();
      opts.onProgress?.(`λ = ${lam.toFixed(3)}`);
      const file = path.join(scratch, `theta_${outputs.length}.onnx`);
      await emitModel(file, a, async (t) => {
        const x = ta.get(t.name);
        const y = tb.get(t.name);
        if (!x || !y) return undefined;
        return Float32Array.from(x.data, (v, k) => (1 - lam) * v + lam * y.data[k]);
      }, { force: true, inputs: [...a.files, ...b.files] });
      const session = await ort().InferenceSession.create(file);
      try {
        feeds ??= opts.inputs ? await feedsFromFile(session, opts.inputs) : randomFeeds(session, opts.seed ?? 0, opts.inputShapes);
        outputs.push(await collect(session, feeds));
      } finally {
        await session.release();
        fs.rmSync(file, { force: true });
      }
    }
    const f0 = outputs[0].all;
    const f1 = outputs[outputs.length - 1].all;
    const loss = opts.labels ? outputs.map((o) => crossEntropy(o, opts.labels!)) : outputs.map((o, i) => outputDeviation(o.all, f0, f1, lambdas[i]));
    const bar = barrier(lambdas, loss);
    return {
      ...base,
      loss_kind: opts.labels ? 'cross-entropy' : 'output-deviation',
      loss,
      barrier: bar.barrier,
      barrier_lambda: bar.at,
      output_distance_to_a: outputs.map((o) => rmsDistance(o.all, f0)),
      output_distance_to_b: outputs.map((o) => rmsDistance(o.all, f1)),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    await b?.close();
    await a.close();
  }
}
