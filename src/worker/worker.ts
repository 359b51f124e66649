/** worker_threads entry: runs core jobs off the caller's thread, streams progress and layers, honours cancel. */
import * as path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { openCheckpoint } from '../core/checkpoint/registry';
import { setCancellationCheck } from '../core/cancel';
import { inspectCheckpoint } from '../core/inspect';
import { CancelledError } from '../core/jobs/analyze/layer-spectrum';
import { analyzeCheckpoint } from '../core/jobs/analyze/run';
import { createOrtGram } from '../core/linalg/ort/gram-session';
import { planLayers } from '../core/jobs/analyze/plan';
import { analysisBackend, type EigenPool } from './eigen-pool';
import { FromWorker, ToWorker, type AnalyzeRequest, type InspectRequest, type WorkerMessage, type WorkerRequest } from '../protocol';
import { describeFailure } from './failure';
import { runTransform } from './transform-jobs';

const cancelled = new Set<number>();

function post(msg: WorkerMessage): void {
  parentPort!.postMessage(msg);
}

async function runInspect(req: InspectRequest, isStopped: () => boolean): Promise<void> {
  const ckpt = await openCheckpoint(req.path);
  try {
    const report = await inspectCheckpoint(ckpt, {
      stats: req.stats,
      onTensor: (done, total) => {
        if (isStopped()) throw new CancelledError();
        post({ type: FromWorker.Progress, jobId: req.jobId, done, total });
      },
    });
    post({ type: FromWorker.InspectResult, jobId: req.jobId, report });
  } finally {
    await ckpt.close();
  }
}

async function runAnalyze(req: AnalyzeRequest, isStopped: () => boolean): Promise<void> {
  const { filter, ...rest } = req.options;
  const options = { ...rest, filter: filter ? new RegExp(filter) : undefined };
  const ckpt = await openCheckpoint(req.path);
  const gram = await createOrtGram(options.provider);
  let pool: EigenPool | undefined;
  try {
    // With 'auto' (WebGPU, then CUDA, then CPU) falling back is the expected path on most machines: the reasons go
    // into the report, and only a provider the user asked for by name is worth a status line.
    if (options.provider !== 'auto') {
      for (const f of gram.fallbacks) post({ type: FromWorker.Progress, jobId: req.jobId, done: 0, total: 0, label: `provider fallback: ${f}` });
    }
    const chosen = analysisBackend(gram.backend, gram.provider, planLayers(ckpt, options), options, path.join(__dirname, 'eigen-thread.js'));
    pool = chosen.pool;
    const report = await analyzeCheckpoint(
      ckpt,
      options,
      { gram: chosen.gram, provider: gram.provider, providerFallbacks: gram.fallbacks, parallelLayers: chosen.parallelLayers },
      {
        shouldStop: isStopped,
        onStart: (info) => post({ type: FromWorker.Model, jobId: req.jobId, info }),
        onLayer: (layer, p) => post({ type: FromWorker.Layer, jobId: req.jobId, layer, done: p.done, total: p.total, bytesRead: p.bytesRead }),
      },
    );
    post({ type: FromWorker.AnalyzeResult, jobId: req.jobId, report });
  } finally {
    await pool?.close();
    await gram.release();
    await ckpt.close();
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  if (req.type === ToWorker.Cancel) {
    cancelled.add(req.jobId);
    return;
  }
  const flag = req.cancelFlag ? new Int32Array(req.cancelFlag) : undefined;
  const isStopped = () => cancelled.has(req.jobId) || (flag !== undefined && Atomics.load(flag, 0) === 1);
  setCancellationCheck(isStopped);
  const job = req.type === ToWorker.Inspect ? runInspect(req, isStopped) : req.type === ToWorker.Analyze ? runAnalyze(req, isStopped) : runTransform(req, { post, isStopped });
  job
    .catch((e: unknown) => {
      const { kind, message } = describeFailure(e, isStopped());
      post({ type: FromWorker.Failed, jobId: req.jobId, kind, message });
    })
    .finally(() => {
      cancelled.delete(req.jobId);
      setCancellationCheck(undefined);
      // One job per thread: with the job's native resources released, let the thread end by itself.
      parentPort?.close();
    });
});
