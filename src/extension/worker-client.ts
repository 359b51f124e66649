import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FromWorker, ToWorker, type ProgressMessage, type WorkerMessage } from '../protocol';
import type { InspectReport } from '../core/inspect';

/** Runs one job in a fresh worker thread; the worker is terminated when the job ends or is cancelled. */
export function inspectInWorker(
  extensionPath: string,
  checkpointPath: string,
  onProgress: (p: ProgressMessage) => void,
  cancel: { onCancellationRequested(listener: () => void): unknown },
): Promise<InspectReport> {
  const worker = new Worker(path.join(extensionPath, 'dist', 'worker.js'));
  const jobId = 1;
  return new Promise<InspectReport>((resolve, reject) => {
    cancel.onCancellationRequested(() => {
      worker.postMessage({ type: ToWorker.Cancel, jobId });
      void worker.terminate();
      reject(new Error('cancelled'));
    });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === FromWorker.Progress) onProgress(m);
      else if (m.type === FromWorker.Result) resolve(m.report);
      else reject(new Error(m.message));
    });
    worker.on('error', reject);
    worker.postMessage({ type: ToWorker.Inspect, jobId, path: checkpointPath, stats: false });
  }).finally(() => void worker.terminate());
}
