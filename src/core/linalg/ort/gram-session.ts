import type * as Ort from 'onnxruntime-node';
import type { Matrix } from '../../tensor/matrix-view';
import type { GramBackend } from '../spectrum';
import { mirrorBlockUpper } from '../symmetric-blocks';
import { symmetricEigenvaluesTwoStage } from '../two-stage-eigen';
import { giveWork, takeWork } from '../workspace';
import { createOrtBandKernels, type GemmPrecision, type OrtBandKernels } from './band-session';
import { encodeModel, ONNX_DOUBLE, ONNX_FLOAT, ONNX_INT64, type GraphNode, type GraphValue } from './onnx-model-writer';
import { providerOrder, type ProviderName, type ProviderSetting } from './providers';
import { i64, ort } from './runtime';
import { linalgSessionOptions } from './session-options';

/**
 * Gram products (G = XᵀX on the small side, float64) and the two-stage symmetric eigen-solver through onnxruntime.
 * One backend for every shape; sessions are created per graph variant on first use.
 */
export interface OrtGram {
  backend: GramBackend;
  /** The provider the sessions actually run on. */
  provider: ProviderName;
  /** Why earlier providers in the order were not used (empty when the first one worked). */
  fallbacks: string[];
  release(): Promise<void>;
}

type Variant = { blocks: number; tall: boolean; input: 'float32' | 'float64'; precision: GemmPrecision };

/**
 * G = ZZᵀ for Z = Xᵀ (tall X, rows > cols) or Z = X (wide or square X), computed in symmetric blocks: Z's rows are split
 * into `blocks` ranges, only the blocks G_ij with i ≥ j are multiplied (Gemm, float64, float32 input cast per block),
 * the others are their transposes — 1 − (p+1)/2p of the flops saved (37.5% for 4 blocks). A tall X is transposed first:
 * slicing contiguous rows of Xᵀ and multiplying with transB measured faster than column slices with transA.
 */
function gramModel({ blocks: p, tall, input, precision }: Variant): Uint8Array {
  const nodes: GraphNode[] = [];
  const inputs: GraphValue[] = [{ name: 'X', elemType: input === 'float32' ? ONNX_FLOAT : ONNX_DOUBLE, dims: ['rows', 'cols'] }];
  const trans: Record<string, number> = tall ? { transA: 1 } : { transB: 1 };
  const cast = input !== precision;
  const to = precision === 'float32' ? ONNX_FLOAT : ONNX_DOUBLE;
  const block = (i: number) => (cast ? `B${i}` : `S${i}`);
  if (p === 1) {
    if (cast) nodes.push({ opType: 'Cast', inputs: ['X'], outputs: ['B0'], intAttributes: { to } });
    nodes.push({ opType: 'Gemm', inputs: [cast ? 'B0' : 'X', cast ? 'B0' : 'X'], outputs: ['G'], intAttributes: trans });
  } else {
    inputs.push({ name: 'axis', elemType: ONNX_INT64, dims: [1] });
    for (let i = 0; i <= p; i++) inputs.push({ name: `e${i}`, elemType: ONNX_INT64, dims: [1] });
    if (tall) nodes.push({ opType: 'Transpose', inputs: ['X'], outputs: ['Z'] });
    for (let i = 0; i < p; i++) {
      nodes.push({ opType: 'Slice', inputs: [tall ? 'Z' : 'X', `e${i}`, `e${i + 1}`, 'axis'], outputs: [`S${i}`] });
      if (cast) nodes.push({ opType: 'Cast', inputs: [`S${i}`], outputs: [`B${i}`], intAttributes: { to } });
    }
    for (let i = 0; i < p; i++) {
      const row: string[] = [];
      for (let j = 0; j < p; j++) {
        if (j <= i) {
          nodes.push({ opType: 'Gemm', inputs: [block(i), block(j)], outputs: [`G${i}_${j}`], intAttributes: { transB: 1 } });
          row.push(`G${i}_${j}`);
        } else {
          nodes.push({ opType: 'Transpose', inputs: [`G${j}_${i}`], outputs: [`T${i}_${j}`] });
          row.push(`T${i}_${j}`);
        }
      }
      nodes.push({ opType: 'Concat', inputs: row, outputs: [`R${i}`], intAttributes: { axis: 1 } });
    }
    nodes.push({ opType: 'Concat', inputs: Array.from({ length: p }, (_, i) => `R${i}`), outputs: ['G'], intAttributes: { axis: 0 } });
  }
  return encodeModel({ name: 'gram', nodes, inputs, outputs: [{ name: 'G', elemType: to, dims: ['n', 'n'] }] });
}

/**
 * The same blocks accumulated over a chunk [k0, k1) of the inner dimension: O_ij = C_ij + Z_i Z_jᵀ for the blocks
 * i ≥ j of Z = Xᵀ[:, k0:k1] (tall) or X[:, k0:k1] (wide). Large matrices are multiplied chunk by chunk so that
 * onnxruntime never holds more than one float64 chunk (the 7B memory bound), accumulators ping-pong between two
 * caller-owned buffers.
 */
function gramChunkModel({ blocks: p, tall, input, precision }: Variant): Uint8Array {
  const to = precision === 'float32' ? ONNX_FLOAT : ONNX_DOUBLE;
  const inputs: GraphValue[] = [
    { name: 'X', elemType: input === 'float32' ? ONNX_FLOAT : ONNX_DOUBLE, dims: ['rows', 'cols'] },
    { name: 'k0', elemType: ONNX_INT64, dims: [1] },
    { name: 'k1', elemType: ONNX_INT64, dims: [1] },
    { name: 'kaxis', elemType: ONNX_INT64, dims: [1] },
    { name: 'axis0', elemType: ONNX_INT64, dims: [1] },
  ];
  const nodes: GraphNode[] = [{ opType: 'Slice', inputs: ['X', 'k0', 'k1', 'kaxis'], outputs: ['Xc'] }];
  if (tall) nodes.push({ opType: 'Transpose', inputs: ['Xc'], outputs: ['Zc'] });
  const z = tall ? 'Zc' : 'Xc';
  for (let i = 0; i <= p; i++) inputs.push({ name: `e${i}`, elemType: ONNX_INT64, dims: [1] });
  for (let i = 0; i < p; i++) {
    nodes.push({ opType: 'Slice', inputs: [z, `e${i}`, `e${i + 1}`, 'axis0'], outputs: [`S${i}`] });
    if (input !== precision) nodes.push({ opType: 'Cast', inputs: [`S${i}`], outputs: [`B${i}`], intAttributes: { to } });
  }
  const block = (i: number) => (input !== precision ? `B${i}` : `S${i}`);
  const outputs: GraphValue[] = [];
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      inputs.push({ name: `C${i}_${j}`, elemType: to, dims: [`n${i}`, `n${j}`] });
      nodes.push({ opType: 'Gemm', inputs: [block(i), block(j), `C${i}_${j}`], outputs: [`O${i}_${j}`], intAttributes: { transB: 1 }, floatAttributes: { alpha: 1, beta: 1 } });
      outputs.push({ name: `O${i}_${j}`, elemType: to, dims: [`n${i}`, `n${j}`] });
    }
  }
  return encodeModel({ name: 'gram_chunk', nodes, inputs, outputs });
}

/** Inputs whose float64 copy would exceed this are multiplied in chunks of about CHUNK_BYTES. */
const CHUNKED_ABOVE_BYTES = 128 * 2 ** 20;
const CHUNK_BYTES = 48 * 2 ** 20;

/**
 * Symmetric blocking pays once the Gram is large enough for the extra copies to be cheap (one thread, 768×3072:
 * 63 ms at 4 blocks vs 74–76 ms at 2; 30522×768: 0.70 vs 0.76–0.84 s).
 */
function blocksFor(n: number): number {
  return n >= 512 ? 4 : n >= 256 ? 2 : 1;
}

/**
 * precision 'float32' (Gram and reduction GEMMs in float32, results widened) exists for GPU providers without float64
 * kernels; it does not meet the float64 accuracy of the analysis and is used by bench/gpu-check.ts only.
 */
export async function createOrtGram(setting: ProviderSetting | readonly ProviderName[] = 'cpu', threads = 0, precision: GemmPrecision = 'float64'): Promise<OrtGram> {
  const fallbacks: string[] = [];
  for (const provider of providerOrder(setting)) {
    try {
      const options = linalgSessionOptions(provider, threads);
      // The Gram runs a few large graphs per layer: without the arena their intermediates are returned after each run
      // instead of being held for the process (a 4096×11008 layer's would keep hundreds of MB).
      const gramOptions = { ...options, enableCpuMemArena: false };
      const sessions = new Map<string, Promise<Ort.InferenceSession>>();
      const session = (v: Variant, chunked = false) => {
        const key = `${v.blocks}/${v.tall}/${v.input}/${v.precision}/${chunked}`;
        let s = sessions.get(key);
        if (!s) sessions.set(key, (s = ort().InferenceSession.create(chunked ? gramChunkModel(v) : gramModel(v), gramOptions)));
        return s;
      };
      // Fails here, not at the first layer, when the provider cannot run the kernel.
      await session({ blocks: 1, tall: true, input: 'float32', precision });
      let band: Promise<OrtBandKernels> | undefined;
      const gramOn = async (m: Matrix, side: 'rows' | 'cols') => {
        const tall = side === 'cols';
        const n = tall ? m.cols : m.rows;
        const input = m.data instanceof Float32Array ? 'float32' : 'float64';
        const blocks = blocksFor(n);
        const data = m.data.subarray(0, m.rows * m.cols);
        if (precision === 'float64' && blocks > 1 && 8 * data.length > CHUNKED_ABOVE_BYTES) return { gram: await chunkedGram(m, tall, n, blocks), n };
        const feeds: Record<string, Ort.Tensor> = { X: new (ort().Tensor)(input, data, [m.rows, m.cols]) };
        if (blocks > 1) {
          feeds.axis = i64([0]);
          for (let i = 0; i <= blocks; i++) feeds[`e${i}`] = i64([Math.round((i * n) / blocks)]);
        }
        const s = await session({ blocks, tall, input, precision });
        if (precision === 'float32') return { gram: Float64Array.from((await s.run(feeds)).G.data as Float32Array), n };
        const g = takeWork(n * n).subarray(0, n * n);
        await s.run(feeds, { G: new (ort().Tensor)('float64', g, [n, n]) });
        return { gram: g, n };
      };
      const chunkedGram = async (m: Matrix, tall: boolean, n: number, p: number): Promise<Float64Array> => {
        const input = m.data instanceof Float32Array ? 'float32' : 'float64';
        const K = tall ? m.rows : m.cols;
        const kc = Math.max(256, Math.min(K, Math.round(CHUNK_BYTES / 8 / n)));
        const e = Array.from({ length: p + 1 }, (_, i) => Math.round((i * n) / p));
        const blockLength = (i: number, j: number) => (e[i + 1] - e[i]) * (e[j + 1] - e[j]);
        let total = 0;
        const offsets: number[][] = [];
        for (let i = 0; i < p; i++) offsets.push(Array.from({ length: i + 1 }, (_, j) => ((total += blockLength(i, j)), total - blockLength(i, j))));
        // Two accumulators, ping-pong: one inside the Gram's own buffer (its lower blocks take 1 − (p−1)/2p of it), the
        // other separate, and the last chunk lands in the separate one so the expansion into the Gram never overlaps.
        const g = takeWork(n * n).subarray(0, n * n);
        const extra = takeWork(total).subarray(0, total);
        const chunks = Math.ceil(K / kc);
        let next = chunks % 2 === 1 ? extra : g.subarray(0, total);
        let acc = next === extra ? g.subarray(0, total) : extra;
        acc.fill(0);
        const run = await session({ blocks: p, tall, input, precision }, true);
        const T = ort().Tensor;
        const view = (buf: Float64Array, i: number, j: number) => new T('float64', buf.subarray(offsets[i][j], offsets[i][j] + blockLength(i, j)), [e[i + 1] - e[i], e[j + 1] - e[j]]);
        try {
          for (let k0 = 0; k0 < K; k0 += kc) {
            const feeds: Record<string, Ort.Tensor> = {
              X: new T(input, m.data.subarray(0, m.rows * m.cols), [m.rows, m.cols]),
              k0: i64([k0]),
              k1: i64([Math.min(K, k0 + kc)]),
              kaxis: i64([tall ? 0 : 1]),
              axis0: i64([0]),
            };
            e.forEach((x, i) => (feeds[`e${i}`] = i64([x])));
            const fetches: Record<string, Ort.Tensor> = {};
            for (let i = 0; i < p; i++) {
              for (let j = 0; j <= i; j++) {
                feeds[`C${i}_${j}`] = view(acc, i, j);
                fetches[`O${i}_${j}`] = view(next, i, j);
              }
            }
            await run.run(feeds, fetches);
            [acc, next] = [next, acc];
          }
          // The full symmetric matrix from its lower blocks.
          for (let i = 0; i < p; i++) {
            for (let j = 0; j <= i; j++) {
              const w = e[j + 1] - e[j];
              const blk = acc.subarray(offsets[i][j], offsets[i][j] + blockLength(i, j));
              for (let r = e[i]; r < e[i + 1]; r++) g.set(blk.subarray((r - e[i]) * w, (r - e[i] + 1) * w), r * n + e[j]);
            }
          }
          mirrorBlockUpper(g, n, e);
          return g;
        } finally {
          giveWork(extra);
        }
      };
      // Square matrices take the wide path: WWᵀ and WᵀW have the same eigenvalues.
      const gram = (m: Matrix) => gramOn(m, m.rows > m.cols ? 'cols' : 'rows');
      const eigenvalues = async (a: Float64Array, n: number) => symmetricEigenvaluesTwoStage(a, n, await (band ??= createOrtBandKernels(options, precision)));
      const backend: GramBackend = Object.assign(gram, { eigenvalues, sideGram: gramOn });
      return {
        backend,
        provider,
        fallbacks,
        release: async () => {
          const all = await Promise.all(sessions.values());
          await Promise.all(all.map((s) => s.release()));
          if (band) await (await band).release();
        },
      };
    } catch (e) {
      fallbacks.push(`${provider}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no onnxruntime execution provider could run the Gram kernel (${fallbacks.join('; ')})`);
}
