/**
 * The `merge` job. Streaming: one tensor name at a time across all inputs, each input read on demand, so memory holds
 * a few tensors whatever the model size or count. OPCM computes every tensor once, keeps the results in a scratch file
 * beside the output, and scales them in a second pass (its norm scaling is model-wide). `rebasin` is the exception:
 * weight matching needs both whole models in memory.
 */
import * as path from 'node:path';
import { guessKind } from '../../checkpoint/kind';
import { openCheckpoint } from '../../checkpoint/registry';
import type { Checkpoint, FormatId, TensorInfo } from '../../checkpoint/types';
import { emitModel } from '../match/emit';
import { TransformInputError } from '../match/errors';
import type { SpecKind } from '../match/infer';
import { assertSameArchitecture, isParameter } from '../match/load';
import { CancelledError, matchCheckpoints } from '../match/run-match';
import { MERGE_METHODS, REBASIN, resolveParams } from './registry';
import { Spill } from './spill';
import type { MergeMethod, TensorInputs, TensorResult } from './types';

export interface MergeJobOptions {
  method: string;
  base?: string;
  out: string;
  /** Method parameters by name (t, density, lambda, alpha); defaults from the method's declaration. */
  params?: Record<string, number>;
  weights?: number[];
  seed?: number;
  force?: boolean;
  /** rebasin: the permutation spec. */
  spec?: SpecKind | { file: string };
  heads?: number;
  signal?: { readonly aborted: boolean };
  onProgress?: (done: number, total: number, name: string) => void;
}

export interface MergeLayer {
  name: string;
  shape: number[];
  /** ‖merged‖ and ‖merged − θᵢ‖ for each input model i. */
  norm: number;
  distance_to_inputs: number[];
  [figure: string]: unknown;
}

export interface MergeReport {
  method: string;
  inputs: string[];
  base: string | null;
  params: Record<string, number>;
  weights: number[];
  seed: number;
  format: FormatId;
  layers: MergeLayer[];
  files: string[];
  seconds: number;
}

function l2(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function distance(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return Math.sqrt(s);
}

async function readCopy(c: Checkpoint, name: string): Promise<Float32Array> {
  const v = await c.read(name, 'float32');
  return v instanceof Float32Array ? v.slice() : Float32Array.from(v);
}

export async function runMergeJob(inputPaths: readonly string[], opts: MergeJobOptions): Promise<MergeReport> {
  const started = Date.now();
  const isRebasin = opts.method === REBASIN.name;
  const method = MERGE_METHODS.get(opts.method);
  if (!method && !isRebasin) throw new TransformInputError(`unknown merge method "${opts.method}" (${[...MERGE_METHODS.keys(), REBASIN.name].join(', ')})`);
  const decl = method ?? REBASIN;
  if (inputPaths.length < decl.minModels) throw new TransformInputError(`${decl.name} needs at least ${decl.minModels} models, got ${inputPaths.length}`);
  if ('maxModels' in decl && decl.maxModels !== undefined && inputPaths.length > decl.maxModels) {
    throw new TransformInputError(`${decl.name} merges exactly ${decl.maxModels} models, got ${inputPaths.length}`);
  }
  if (decl.base === 'required' && !opts.base) throw new TransformInputError(`${decl.name} needs --base (the model the others were fine-tuned from)`);
  if (decl.base === 'none' && opts.base) throw new TransformInputError(`${decl.name} takes no --base`);
  const params = resolveParams(decl, opts.params ?? {});
  const weights = opts.weights ?? inputPaths.map(() => 1);
  if (weights.length !== inputPaths.length) throw new TransformInputError(`--weights gives ${weights.length} values for ${inputPaths.length} models`);
  const seed = opts.seed ?? 0;

  const opened: Checkpoint[] = [];
  try {
    for (const p of inputPaths) opened.push(await openCheckpoint(p));
    const base = opts.base ? await openCheckpoint(opts.base) : undefined;
    if (base) opened.push(base);
    const models = opened.slice(0, inputPaths.length);
    if (path.extname(opts.out).toLowerCase() === '.onnx') {
      const other = opened.find((c) => c.format !== 'onnx');
      if (other) throw new TransformInputError(`an .onnx output needs every input to be the same ONNX graph; ${other.path} is ${other.format}`);
    }
    for (const c of opened.slice(1)) assertSameArchitecture(models[0], c);
    const template = models[0];
    const params_ = template.tensors.filter(isParameter);
    const layers = new Map<string, MergeLayer>();
    const checkCancel = () => {
      if (opts.signal?.aborted) throw new CancelledError();
    };
    const inputsFor = (t: TensorInfo): TensorInputs => ({
      name: t.name,
      shape: t.shape,
      kind: guessKind(t.name, t.shape),
      count: models.length,
      read: (i) => readCopy(models[i], t.name),
      base: () => {
        if (!base) throw new TransformInputError(`${decl.name} needs --base`);
        return readCopy(base, t.name);
      },
      weights,
      params,
      seed,
    });
    const record = async (t: TensorInfo, values: Float32Array, figures?: TensorResult['figures']) => {
      const dist: number[] = [];
      for (const m of models) dist.push(distance(values, await readCopy(m, t.name)));
      layers.set(t.name, { name: t.name, shape: [...t.shape], norm: l2(values), distance_to_inputs: dist, ...(figures ?? {}) });
    };

    let valueOf: (t: TensorInfo) => Promise<Float32Array | undefined>;
    let spill: Spill | undefined;
    let done = 0;
    const progress = (name: string) => opts.onProgress?.(++done, params_.length, name);
    try {
      if (isRebasin) {
        valueOf = await rebasinValues(models, params, weights, opts, seed, layers);
      } else if (method!.globalPass) {
        // First pass: every tensor merged, results kept on disk, model-wide statistics gathered.
        const pass = method!.globalPass();
        spill = new Spill(opts.out);
        const figuresOf = new Map<string, TensorResult['figures']>();
        for (const t of params_) {
          checkCancel();
          const inp = inputsFor(t);
          const r = await method!.mergeTensor(inp);
          pass.accumulate(inp, r, r.extra ?? {});
          spill.write(t.name, r.values);
          figuresOf.set(t.name, r.figures);
          progress(t.name);
        }
        const finish = pass.finalize();
        const s = spill;
        valueOf = async (t) => {
          if (!isParameter(t)) return undefined;
          checkCancel();
          const values = finish(s.read(t.name), await readCopy(base!, t.name));
          await record(t, values, figuresOf.get(t.name));
          return values;
        };
      } else {
        valueOf = async (t) => {
          if (!isParameter(t)) return undefined;
          checkCancel();
          const r = await method!.mergeTensor(inputsFor(t));
          await record(t, r.values, r.figures);
          progress(t.name);
          return r.values;
        };
      }
      const { files } = await emitModel(opts.out, template, valueOf, {
        force: opts.force,
        inputs: opened.flatMap((c) => c.files),
        signal: opts.signal,
        metadata: {
          'weight-spectra': `merge ${decl.name} ${JSON.stringify(params)} of ${inputPaths.map((p) => path.basename(p)).join(', ')}${opts.base ? ` on base ${path.basename(opts.base)}` : ''}`,
        },
      });
      return {
        method: decl.name,
        inputs: [...inputPaths],
        base: opts.base ?? null,
        params,
        weights,
        seed,
        format: template.format,
        layers: params_.map((t) => layers.get(t.name)).filter((l): l is MergeLayer => l !== undefined),
        files,
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      spill?.dispose();
    }
  } finally {
    for (const c of opened) await c.close();
  }
}

/** rebasin: match models 1.. to model 0, then (1 − t)·θ₀ + t·θ₁′ for two models, or the weighted average for more. */
async function rebasinValues(
  models: Checkpoint[],
  params: Record<string, number>,
  weights: readonly number[],
  opts: MergeJobOptions,
  seed: number,
  layers: Map<string, MergeLayer>,
): Promise<(t: TensorInfo) => Promise<Float32Array | undefined>> {
  const aligned: Map<string, { data: Float32Array }>[] = [];
  const matchFigures: Map<string, { distance_before: number; distance_after: number }>[] = [];
  for (let i = 1; i < models.length; i++) {
    const r = await matchCheckpoints(models[0], models[i], { spec: opts.spec ?? 'auto', heads: opts.heads, seed, signal: opts.signal });
    aligned.push(r.aligned);
    matchFigures.push(new Map(r.report.layers.map((l) => [l.name, l])));
  }
  const coef = models.length === 2 ? [1 - params.t, params.t] : weights.map((w) => w / weights.reduce((a, b) => a + b, 0));
  return async (t) => {
    if (!isParameter(t)) return undefined;
    const a = await readCopy(models[0], t.name);
    const out = Float32Array.from(a, (x) => coef[0] * x);
    aligned.forEach((m, j) => {
      const b = m.get(t.name)!.data;
      for (let k = 0; k < out.length; k++) out[k] += coef[j + 1] * b[k];
    });
    const dist = [distance(out, a), ...aligned.map((m) => distance(out, m.get(t.name)!.data))];
    layers.set(t.name, {
      name: t.name,
      shape: [...t.shape],
      norm: l2(out),
      distance_to_inputs: dist,
      match: matchFigures.map((f) => {
        const l = f.get(t.name)!;
        return { distance_before: l.distance_before, distance_after: l.distance_after };
      }),
    });
    return out;
  };
}
