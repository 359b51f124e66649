/**
 * worker_threads entry of the eigen pool (eigen-pool.ts): solves one problem at a time on one-thread onnxruntime
 * sessions — the eigenvalues of a symmetric matrix, or a matrix's whole spectrum as matrixSpectrum computes it — and
 * sends the input buffer back with the answer so the analysis thread can reuse it.
 */
import { parentPort } from 'node:worker_threads';
import { createOrtGram, type OrtGram } from '../core/linalg/ort/gram-session';
import { matrixSpectrum, type Spectrum } from '../core/linalg/spectrum';
import type { EigenReply, EigenRequest } from './eigen-pool';

// Sessions are created as the thread starts, while the analysis thread opens the checkpoint and reads the first
// tensor, so the first layer does not wait for them.
const ort: Promise<OrtGram> = createOrtGram('cpu', 1);
ort.catch(() => undefined);

async function solve(msg: Exclude<EigenRequest, { type: 'close' }>): Promise<Spectrum> {
  const { backend } = await ort;
  if (msg.type === 'eigen') return { evals: await backend.eigenvalues!(new Float64Array(msg.buffer, msg.byteOffset, msg.n * msg.n), msg.n), method: 'gram' };
  const length = msg.rows * msg.cols;
  const data = msg.dtype === 'float32' ? new Float32Array(msg.buffer, msg.byteOffset, length) : new Float64Array(msg.buffer, msg.byteOffset, length);
  return matrixSpectrum({ rows: msg.rows, cols: msg.cols, data }, { scale: msg.scale, gram: backend });
}

parentPort!.on('message', (msg: EigenRequest) => {
  if (msg.type === 'close') {
    void (async () => {
      try {
        await (await ort).release();
      } catch {
        // Sessions that never opened have nothing to release.
      }
      parentPort!.close();
    })();
    return;
  }
  void (async () => {
    let reply: EigenReply;
    try {
      const { evals, method } = await solve(msg);
      reply = { id: msg.id, buffer: msg.buffer, evals, method };
    } catch (e) {
      reply = { id: msg.id, error: e instanceof Error ? e.message : String(e), buffer: msg.buffer };
    }
    const transfer: ArrayBuffer[] = [msg.buffer];
    if ('evals' in reply && reply.evals.buffer !== msg.buffer) transfer.push(reply.evals.buffer as ArrayBuffer);
    parentPort!.postMessage(reply, transfer);
  })();
});
