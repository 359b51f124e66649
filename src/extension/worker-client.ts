import * as path from 'node:path';
import type { InspectReport } from '../core/inspect';
import type { ProgressMessage } from '../protocol';
import { inspectInWorker as runInspect } from '../worker/client';

/** Runs inspect in the bundled worker; VS Code's cancellation token cancels it. */
export function inspectInWorker(
  extensionPath: string,
  checkpointPath: string,
  onProgress: (p: ProgressMessage) => void,
  cancel: { onCancellationRequested(listener: () => void): unknown },
): Promise<InspectReport> {
  const job = runInspect(path.join(extensionPath, 'dist', 'worker.js'), checkpointPath, false, { onProgress });
  cancel.onCancellationRequested(() => job.cancel());
  return job.result;
}
