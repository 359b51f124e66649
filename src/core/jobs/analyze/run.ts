import type { Checkpoint, TensorData } from '../../checkpoint/types';
import type { GramBackend } from '../../linalg/spectrum';
import type { AnalysisReport, LayerResult } from '../../report/model';
import { solveWeloreTau, weloreLayer } from '../../analysis/rank';
import { isCancellation } from '../../cancel';
import { parameterCount } from '../../inspect';
import { CancelledError, layerSpectrum } from './layer-spectrum';
import { buildLayerResult, skippedLayerResult, summarizeModel } from './layer-result';
import type { AnalyzeOptions } from './options';
import { planLayers, type LayerPlan } from './plan';

export interface AnalyzeProgress {
  /** Layers finished (analysed, skipped or failed) and the total planned. */
  done: number;
  total: number;
  bytesRead: number;
  layer: string;
}

/** What is known of the model before the first layer: the report header's fields, and how many rows will come. */
export interface AnalyzeStart {
  format: string;
  parameters: number;
  provider: string;
  total: number;
}

export interface AnalyzeHooks {
  /** Once, after planning and before any layer (lets a UI fill its header at once). */
  onStart?: (start: AnalyzeStart) => void;
  onLayer?: (layer: LayerResult, progress: AnalyzeProgress) => void;
  /** Polled between slices and layers; true stops the job with CancelledError. */
  shouldStop?: () => boolean;
}

export interface AnalyzeContext {
  gram?: GramBackend;
  provider: string;
  /** Why providers before `provider` in the configured order were not used. */
  providerFallbacks?: readonly string[];
  /**
   * How many layers may be in flight at once (default 1). Worth more than one only when the Gram backend computes
   * spectra off this thread (the worker's eigen pool): this thread then reads the next tensors and computes metrics
   * while the pool works on earlier layers.
   */
  parallelLayers?: number;
}

/** Layers overlap only while their tensors and Grams together stay under this (the 7B memory bound). */
const IN_FLIGHT_BYTES = 256 * 2 ** 20;

/** What a layer in flight holds: its float32 tensor, its float64 Gram and the solver's copy of it. */
function layerBytes(plan: LayerPlan): number {
  const elements = plan.shape.reduce((a, b) => a * b, 1);
  const n = Math.min(plan.layout.rows, plan.layout.cols);
  return 4 * elements + 16 * n * n;
}

interface InFlight {
  plan: LayerPlan;
  bytes: number;
  result: Promise<LayerResult>;
}

/**
 * Analyses every weight matrix of a checkpoint. Tensors are read ahead (asynchronous positional reads, in libuv's
 * thread pool) while earlier ones are computed, so I/O hides behind compute; with `parallelLayers` > 1 several small
 * layers are computed at once. Rows are reported in checkpoint order. A failing layer becomes a row with `error`;
 * the others go on.
 */
export async function analyzeCheckpoint(
  ckpt: Checkpoint,
  opts: AnalyzeOptions,
  ctx: AnalyzeContext,
  hooks: AnalyzeHooks = {},
): Promise<AnalysisReport> {
  const started = performance.now();
  const plans = planLayers(ckpt, opts);
  hooks.onStart?.({ format: ckpt.format, parameters: parameterCount(ckpt), provider: ctx.provider, total: plans.length });
  const toRead = plans.filter((p) => !p.skipped);
  const bytesOf = new Map(ckpt.tensors.map((t) => [t.name, t.bytes]));
  const shouldStop = hooks.shouldStop ?? (() => false);
  const parallel = Math.max(1, Math.floor(ctx.parallelLayers ?? 1));
  const read = (p: LayerPlan | undefined): Promise<TensorData> | undefined => (p ? ckpt.read(p.name, 'float32') : undefined);

  const layers: LayerResult[] = [];
  const spectra = new Map<LayerResult, Float64Array>();
  let bytesRead = 0;
  let nextIndex = 0;
  let pending = read(toRead[nextIndex]);
  // Avoid unhandled rejections for prefetches that fail while an earlier layer computes.
  pending?.catch(() => undefined);

  const compute = async (plan: LayerPlan, tensor: Promise<TensorData>): Promise<LayerResult> => {
    try {
      const data = await tensor;
      bytesRead += bytesOf.get(plan.name) ?? 0;
      const spectrum = await layerSpectrum(plan, data, ctx.gram, shouldStop);
      const result = await buildLayerResult(plan, spectrum, data, opts, ctx.gram, parallel);
      if (opts.weloreTarget !== undefined) spectra.set(result, spectrum.evals);
      return result;
    } catch (e) {
      if (isCancellation(e)) throw e;
      const result: LayerResult = { ...skippedLayerResult(plan), error: e instanceof Error ? e.message : String(e) };
      delete result.skipped;
      return result;
    }
  };

  const window: InFlight[] = [];
  let inFlightBytes = 0;
  const emitOldest = async () => {
    const oldest = window.shift()!;
    const result = await oldest.result;
    inFlightBytes -= oldest.bytes;
    layers.push(result);
    hooks.onLayer?.(result, { done: layers.length, total: plans.length, bytesRead, layer: oldest.plan.name });
  };
  try {
    for (const plan of plans) {
      if (shouldStop()) throw new CancelledError();
      if (plan.skipped) {
        window.push({ plan, bytes: 0, result: Promise.resolve(skippedLayerResult(plan)) });
      } else {
        const bytes = layerBytes(plan);
        const computing = () => window.filter((w) => w.bytes > 0).length;
        while (window.length && (computing() >= parallel || inFlightBytes + bytes > IN_FLIGHT_BYTES)) await emitOldest();
        const current = pending!;
        nextIndex++;
        pending = read(toRead[nextIndex]);
        pending?.catch(() => undefined);
        const result = compute(plan, current);
        result.catch(() => undefined);
        window.push({ plan, bytes, result });
        inFlightBytes += bytes;
      }
      // Rows already known (skipped layers at the head) go out at once, in order.
      while (window.length && window[0].bytes === 0) await emitOldest();
    }
    while (window.length) await emitOldest();
  } finally {
    // Never leave a layer computing behind a failure: the caller releases the sessions it uses next.
    await Promise.allSettled(window.map((w) => w.result));
  }
  const weloreTau = opts.weloreTarget !== undefined ? applyGlobalWeloreTau(layers, spectra, opts) : undefined;
  const summary = summarizeModel(layers);
  if (weloreTau) summary.welore = weloreTau;
  return {
    model: {
      path: ckpt.path,
      format: ckpt.format,
      parameters: parameterCount(ckpt),
      provider: ctx.provider,
      ...(ctx.providerFallbacks?.length ? { provider_fallbacks: [...ctx.providerFallbacks] } : {}),
      seconds: (performance.now() - started) / 1000,
      summary,
      options: optionsForReport(opts),
    },
    layers,
  };
}

function optionsForReport(opts: AnalyzeOptions): Record<string, unknown> {
  return { ...opts, filter: opts.filter?.source };
}

/**
 * WeLore with one model-wide threshold (Jaiswal et al. 2024): τ solved over every layer's normalised singular values so
 * the rank reduction Σk / Σmin(m, n) reaches the target; each row's class and keep_rank are recomputed with it.
 */
function applyGlobalWeloreTau(layers: readonly LayerResult[], spectra: Map<LayerResult, Float64Array>, opts: AnalyzeOptions): { tau: number; target: number; achieved: number } {
  // Checkpoint order, not completion order (layers finish out of order in parallel): the same τ to the last bit.
  const rows = layers.filter((l) => spectra.has(l));
  const solved = solveWeloreTau(rows.map((r) => ({ evals: spectra.get(r)!, m: r.N, n: r.M })), opts.weloreTarget!);
  for (const r of rows) {
    const w = weloreLayer(spectra.get(r)!, { tau: solved.tau, min_ratio: opts.weloreMinRatio });
    r.welore = { class: w.class, keep_rank: w.keep_rank, k: w.k };
  }
  return { tau: solved.tau, target: opts.weloreTarget!, achieved: solved.achieved };
}
