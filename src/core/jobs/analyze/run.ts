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

export interface AnalyzeHooks {
  onLayer?: (layer: LayerResult, progress: AnalyzeProgress) => void;
  /** Polled between slices and layers; true stops the job with CancelledError. */
  shouldStop?: () => boolean;
}

export interface AnalyzeContext {
  gram?: GramBackend;
  provider: string;
  /** Why providers before `provider` in the configured order were not used. */
  providerFallbacks?: readonly string[];
}

/**
 * Analyses every weight matrix of a checkpoint, one layer at a time. The next tensor is read (asynchronous
 * positional reads, in libuv's thread pool) while the current one is computed, so I/O hides behind compute.
 * A failing layer becomes a row with `error`; the others go on.
 */
export async function analyzeCheckpoint(
  ckpt: Checkpoint,
  opts: AnalyzeOptions,
  ctx: AnalyzeContext,
  hooks: AnalyzeHooks = {},
): Promise<AnalysisReport> {
  const started = performance.now();
  const plans = planLayers(ckpt, opts);
  const toRead = plans.filter((p) => !p.skipped);
  const bytesOf = new Map(ckpt.tensors.map((t) => [t.name, t.bytes]));
  const shouldStop = hooks.shouldStop ?? (() => false);
  const read = (p: LayerPlan | undefined): Promise<TensorData> | undefined => (p ? ckpt.read(p.name, 'float32') : undefined);

  const layers: LayerResult[] = [];
  const spectra = new Map<LayerResult, Float64Array>();
  let bytesRead = 0;
  let nextIndex = 0;
  let pending = read(toRead[nextIndex]);
  // Avoid unhandled rejections for prefetches that fail while an earlier layer computes.
  pending?.catch(() => undefined);
  for (const plan of plans) {
    if (shouldStop()) throw new CancelledError();
    let result: LayerResult;
    if (plan.skipped) {
      result = skippedLayerResult(plan);
    } else {
      const current = pending!;
      nextIndex++;
      pending = read(toRead[nextIndex]);
      pending?.catch(() => undefined);
      try {
        const data = await current;
        bytesRead += bytesOf.get(plan.name) ?? 0;
        const spectrum = await layerSpectrum(plan, data, ctx.gram, shouldStop);
        result = await buildLayerResult(plan, spectrum, data, opts, ctx.gram);
        if (opts.weloreTarget !== undefined) spectra.set(result, spectrum.evals);
      } catch (e) {
        if (isCancellation(e)) throw e;
        result = { ...skippedLayerResult(plan), error: e instanceof Error ? e.message : String(e) };
        delete result.skipped;
      }
    }
    layers.push(result);
    hooks.onLayer?.(result, { done: layers.length, total: plans.length, bytesRead, layer: plan.name });
  }
  const weloreTau = opts.weloreTarget !== undefined ? applyGlobalWeloreTau(spectra, opts) : undefined;
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
function applyGlobalWeloreTau(spectra: Map<LayerResult, Float64Array>, opts: AnalyzeOptions): { tau: number; target: number; achieved: number } {
  const rows = [...spectra.keys()];
  const solved = solveWeloreTau(rows.map((r) => ({ evals: spectra.get(r)!, m: r.N, n: r.M })), opts.weloreTarget!);
  for (const r of rows) {
    const w = weloreLayer(spectra.get(r)!, { tau: solved.tau, min_ratio: opts.weloreMinRatio });
    r.welore = { class: w.class, keep_rank: w.keep_rank, k: w.k };
  }
  return { tau: solved.tau, target: opts.weloreTarget!, achieved: solved.achieved };
}
