/**
 * Runs one job in a fresh worker thread and streams its messages. Used by the CLI and the extension host (no vscode
 * import here). Cancelling terminates the thread, so the job stops at once and its memory is freed.
 */
import { Worker } from 'node:worker_threads';
import type { InspectReport } from '../core/inspect';
import type { AnalysisReport, LayerResult } from '../core/report/model';
import { FromWorker, ToWorker, type ProgressMessage, type WireAnalyzeOptions, type WorkerMessage, type WorkerRequest } from '../protocol';

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
}

function runJob<T>(workerFile: string, request: WorkerRequest, pick: (m: WorkerMessage) => T | undefined, cb: JobCallbacks): JobHandle<T> {
  const worker = new Worker(workerFile);
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  let settle: { resolve: (v: T) => void; reject: (e: Error) => void };
  const result = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  let finished = false;
  const finish = (f: () => void) => {
    if (finished) return;
    finished = true;
    f();
    void worker.terminate();
  };
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === FromWorker.Progress) cb.onProgress?.(m);
    else if (m.type === FromWorker.Layer) cb.onLayer?.(m.layer, m.done, m.total, m.bytesRead);
    else if (m.type === FromWorker.Failed) finish(() => settle.reject(new JobFailedError(m.kind, m.message)));
    else {
      const value = pick(m);
      if (value !== undefined) finish(() => settle.resolve(value));
    }
  });
  worker.on('error', (e) => finish(() => settle.reject(new JobFailedError('internal', e.message))));
  worker.on('exit', (code) => finish(() => settle.reject(new JobFailedError('internal', `worker exited with code ${code}`))));
  worker.postMessage(request);
  return {
    result,
    exited,
    cancel: () => {
      worker.postMessage({ type: ToWorker.Cancel, jobId: request.jobId });
      finish(() => settle.reject(new JobFailedError('cancelled', 'cancelled')));
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
