/**
 * worker_threads entry of the eigen pool (eigen-pool.ts): computes the eigenvalues of symmetric float64 matrices with
 * the two-stage solver on a one-thread onnxruntime session, one request at a time, and sends the input buffer back
 * with the result so the analysis thread can reuse it.
 */
import { parentPort } from 'node:worker_threads';
import { createOrtBandKernels, type OrtBandKernels } from '../core/linalg/ort/band-session';
import { linalgSessionOptions } from '../core/linalg/ort/session-options';
import { symmetricEigenvaluesTwoStage } from '../core/linalg/two-stage-eigen';
import type { EigenReply, EigenRequest } from './eigen-pool';

let kernels: Promise<OrtBandKernels> | undefined;

parentPort!.on('message', (msg: EigenRequest) => {
  if (msg.type === 'close') {
    void (async () => {
      if (kernels) await (await kernels).release().catch(() => undefined);
      parentPort!.close();
    })();
    return;
  }
  void (async () => {
    const a = new Float64Array(msg.buffer, msg.byteOffset, msg.n * msg.n);
    let reply: EigenReply;
    try {
      const k = await (kernels ??= createOrtBandKernels(linalgSessionOptions('cpu', 1)));
      const evals = await symmetricEigenvaluesTwoStage(a, msg.n, k);
      reply = { id: msg.id, evals, buffer: msg.buffer };
    } catch (e) {
      reply = { id: msg.id, error: e instanceof Error ? e.message : String(e), buffer: msg.buffer };
    }
    const transfer: ArrayBuffer[] = [msg.buffer];
    if ('evals' in reply && reply.evals.buffer !== msg.buffer) transfer.push(reply.evals.buffer as ArrayBuffer);
    parentPort!.postMessage(reply, transfer);
  })();
});
