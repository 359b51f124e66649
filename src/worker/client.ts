/**
 * Runs one job in a fresh worker thread and streams its messages. Used by the CLI and the extension host (no vscode
 * import here). Cancelling is cooperative: the caller's promise rejects at once, a shared flag tells the worker to
 * unwind at its next safe point, and the thread is terminated only once it has stopped. (Killing a thread in the middle
 * of an onnxruntime call aborts the whole process — in VS Code, the extension host.) The thread's memory is freed
 * when it exits.
 */
import { Worker } from 'node:worker_threads';
import type { InspectReport } from '../core/inspect';
import type { AnalyzeStart } from '../core/jobs/analyze/run';
import type { AnalysisReport, LayerResult } from '../core/report/model';
import {
  type CompressReport,
  FromWorker,
  type LmcReport,
  type MatchReport,
  type MergeReport,
  type ProgressMessage,
  ToWorker,
  type WireAnalyzeOptions,
  type WireCompressOptions,
  type WireLmcOptions,
  type WireMatchOptions,
  type WireMergeOptions,
  type WorkerMessage,
  type WorkerRequest,
} from '../protocol';

export class JobFailedError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'JobFailedError';
  }
}

export interface JobHandle<T> {
  result: Promise<T>;
  /** Stops the job: the promise rejects with JobFailedError('cancelled'). */
  cancel(): void;
  /** Resolves with the exit code once the worker thread has ended (after a result, a failure or a cancel). */
  exited: Promise<number>;
}

export interface JobCallbacks {
  onProgress?: (p: ProgressMessage) => void;
  onLayer?: (layer: LayerResult, done: number, total: number, bytesRead: number) => void;
  /** An analysis planned its layers: format, parameters, provider and the row count, before the first row. */
  onModel?: (info: AnalyzeStart) => void;
}

/** A worker that has not ended this long after its job ended or was cancelled is terminated anyway. */
const CANCEL_GRACE_MS = 30_000;

function runJob<T>(workerFile: string, request: WorkerRequest, pick: (m: WorkerMessage) => T | undefined, cb: JobCallbacks): JobHandle<T> {
  const worker = new Worker(workerFile);
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const cancelFlag = new SharedArrayBuffer(4);
  let settle: { resolve: (v: T) => void; reject: (e: Error) => void };
  const result = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  let settled = false;
  let cancelled = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const settleOnce = (f: () => void) => {
    if (settled) return;
    settled = true;
    f();
  };
  /**
   * The job reported its end; the worker still releases its native resources (onnxruntime sessions, files) and then
   * ends by itself. Terminating it meanwhile could land inside a native call, so only a worker that has not ended
   * after the grace period is terminated.
   */
  const stopWorker = () => {
    if (graceTimer) return;
    graceTimer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
    graceTimer.unref();
  };
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === FromWorker.Progress) {
      if (!cancelled) cb.onProgress?.(m);
    } else if (m.type === FromWorker.Layer) {
      if (!cancelled) cb.onLayer?.(m.layer, m.done, m.total, m.bytesRead);
    } else if (m.type === FromWorker.Model) {
      if (!cancelled) cb.onModel?.(m.info);
    } else if (m.type === FromWorker.Failed) {
      settleOnce(() => settle.reject(new JobFailedError(m.kind, m.message)));
      stopWorker();
    } else {
      const value = pick(m);
      if (value !== undefined) {
        settleOnce(() => settle.resolve(value));
        stopWorker();
      }
    }
  });
  worker.on('error', (e) => settleOnce(() => settle.reject(new JobFailedError('internal', e.message))));
  worker.on('exit', (code) => {
    if (graceTimer) clearTimeout(graceTimer);
    settleOnce(() => settle.reject(new JobFailedError('internal', `worker exited with code ${code}`)));
  });
  worker.postMessage({ ...request, cancelFlag });
  return {
    result,
    exited,
    cancel: () => {
      if (cancelled) return;
      cancelled = true;
      Atomics.store(new Int32Array(cancelFlag), 0, 1);
      worker.postMessage({ type: ToWorker.Cancel, jobId: request.jobId });
      settleOnce(() => settle.reject(new JobFailedError('cancelled', 'cancelled')));
      stopWorker();
    },
  };
}

let nextJobId = 1;

export function analyzeInWorker(workerFile: string, path: string, options: WireAnalyzeOptions, cb: JobCallbacks = {}): JobHandle<AnalysisReport> {
  return runJob(workerFile, { type: ToWorker.Analyze, jobId: nextJobId++, path, options }, (m) => (m.type === FromWorker.AnalyzeResult ? m.report : undefined), cb);
}

export function inspectInWorker(workerFile: string, path: string, stats: boolean, cb: JobCallbacks = {}): JobHandle<InspectReport> {
  return runJob(workerFile, { type: ToWorker.Inspect, jobId: nextJobId++, path, stats }, (m) => (m.type === FromWorker.InspectResult ? m.report : undefined), cb);
}

/** `weight-spectra compress <input> --out <out> …` in a worker; progress phases 'spectra' then 'write'. */
export function compressInWorker(workerFile: string, input: string, out: string, options: WireCompressOptions, cb: JobCallbacks = {}): JobHandle<CompressReport> {
  return runJob(workerFile, { type: ToWorker.Compress, jobId: nextJobId++, input, out, options }, (m) => (m.type === FromWorker.CompressResult ? m.report : undefined), cb);
}

/** `weight-spectra match <a> <b> …` in a worker (with `options.out`: also writes B aligned to A). */
export function matchInWorker(workerFile: string, a: string, b: string, options: WireMatchOptions, cb: JobCallbacks = {}): JobHandle<MatchReport> {
  return runJob(workerFile, { type: ToWorker.Match, jobId: nextJobId++, a, b, options }, (m) => (m.type === FromWorker.MatchResult ? m.report : undefined), cb);
}

/** `weight-spectra merge <inputs…> --out … --method …` in a worker; progress counts tensors. */
export function mergeInWorker(workerFile: string, inputs: readonly string[], options: WireMergeOptions, cb: JobCallbacks = {}): JobHandle<MergeReport> {
  return runJob(workerFile, { type: ToWorker.Merge, jobId: nextJobId++, inputs: [...inputs], options }, (m) => (m.type === FromWorker.MergeResult ? m.report : undefined), cb);
}

/** `weight-spectra lmc <a> <b> …` in a worker; progress counts the models evaluated along the λ grid. */
export function lmcInWorker(workerFile: string, a: string, b: string, options: WireLmcOptions, cb: JobCallbacks = {}): JobHandle<LmcReport> {
  return runJob(workerFile, { type: ToWorker.Lmc, jobId: nextJobId++, a, b, options }, (m) => (m.type === FromWorker.LmcResult ? m.report : undefined), cb);
}
