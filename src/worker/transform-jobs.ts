/**
 * The transform jobs (compress, match, merge, lmc) as the worker runs them: the core job with the caller's cancel flag
 * as its signal, progress posted as it goes, and the document `weight-spectra <job> --json` prints as the result.
 */
import * as fs from 'node:fs';
import { JobCancelledError } from '../core/cancel';
import { compressCheckpoint } from '../core/transforms/compress/run';
import { runLmcJob } from '../core/transforms/lmc/run-lmc';
import { runMatchJob } from '../core/transforms/match/run-match';
import { runMergeJob } from '../core/transforms/merge/run-merge';
import { FromWorker, ToWorker, type TransformRequest, type WorkerMessage } from '../protocol';

export interface JobContext {
  post(message: WorkerMessage): void;
  /** The caller asked to cancel (read from shared memory, so it is current even inside a long computation). */
  isStopped(): boolean;
}

/**
 * A cancel that arrives after the writers renamed their files into place (e.g. during compress's onnxruntime check)
 * still means "no output": the files this job just wrote are removed, and a folder it left empty too.
 */
function discardOutputs(files: readonly string[], out: string | undefined): void {
  for (const f of files) fs.rmSync(f, { force: true });
  if (!out) return;
  try {
    if (fs.statSync(out).isDirectory() && fs.readdirSync(out).length === 0) fs.rmdirSync(out);
  } catch {
    // nothing there
  }
}

export async function runTransform(req: TransformRequest, ctx: JobContext): Promise<void> {
  const signal = {
    get aborted() {
      return ctx.isStopped();
    },
  };
  const jobId = req.jobId;
  const progress = (done: number, total: number, label?: string, phase?: string) => ctx.post({ type: FromWorker.Progress, jobId, done, total, label, phase });
  const finish = (files: readonly string[], out: string | undefined, message: WorkerMessage) => {
    if (ctx.isStopped()) {
      discardOutputs(files, out);
      throw new JobCancelledError();
    }
    ctx.post(message);
  };
  switch (req.type) {
    case ToWorker.Compress: {
      const { filter, ...rest } = req.options;
      const report = await compressCheckpoint(req.input, req.out, {
        ...rest,
        filter: filter ? new RegExp(filter) : undefined,
        signal,
        onProgress: (phase, done, total, name) => progress(done, total, name, phase),
      });
      return finish(report.files, req.out, { type: FromWorker.CompressResult, jobId, report });
    }
    case ToWorker.Match: {
      const report = await runMatchJob(req.a, req.b, { ...req.options, signal, onProgress: (label) => progress(0, 0, label, 'match') });
      return finish(report.files, req.options.out, { type: FromWorker.MatchResult, jobId, report });
    }
    case ToWorker.Merge: {
      const report = await runMergeJob(req.inputs, { ...req.options, signal, onProgress: (done, total, name) => progress(done, total, name, 'merge') });
      return finish(report.files, req.options.out, { type: FromWorker.MergeResult, jobId, report });
    }
    case ToWorker.Lmc: {
      // One model is evaluated per λ of the grid: count them for a determinate progress bar.
      const steps = req.options.steps ?? 11;
      let evaluated = 0;
      const onProgress = (label: string) => (label.startsWith('λ') ? progress(++evaluated, steps, label, 'lmc') : progress(0, 0, label, 'lmc'));
      const report = await runLmcJob(req.a, req.b, { ...req.options, signal, onProgress });
      return finish([], undefined, { type: FromWorker.LmcResult, jobId, report });
    }
  }
}
