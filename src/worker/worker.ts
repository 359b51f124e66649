/** worker_threads entry: runs core jobs off the extension host's thread, posts progress and results, honours cancel. */
import { parentPort } from 'node:worker_threads';
import { openCheckpoint } from '../core/checkpoint/registry';
import { CheckpointError } from '../core/errors';
import { inspectCheckpoint } from '../core/inspect';
import { FromWorker, ToWorker, type WorkerMessage, type WorkerRequest } from '../protocol';

class Cancelled extends Error {}

const cancelled = new Set<number>();

function post(msg: WorkerMessage): void {
  parentPort!.postMessage(msg);
}

async function runInspect(jobId: number, path: string, stats: boolean): Promise<void> {
  const ckpt = await openCheckpoint(path);
  try {
    const report = await inspectCheckpoint(ckpt, {
      stats,
      onTensor: (done, total) => {
        if (cancelled.has(jobId)) throw new Cancelled();
        post({ type: FromWorker.Progress, jobId, done, total });
      },
    });
    post({ type: FromWorker.Result, jobId, report });
  } finally {
    await ckpt.close();
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  if (req.type === ToWorker.Cancel) {
    cancelled.add(req.jobId);
    return;
  }
  runInspect(req.jobId, req.path, req.stats)
    .catch((e: unknown) => {
      const kind = e instanceof Cancelled ? 'cancelled' : e instanceof CheckpointError ? e.kind : 'internal';
      post({ type: FromWorker.Failed, jobId: req.jobId, kind, message: e instanceof Error ? e.message : String(e) });
    })
    .finally(() => cancelled.delete(req.jobId));
});
