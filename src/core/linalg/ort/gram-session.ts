import type * as Ort from 'onnxruntime-node';
import type { Matrix } from '../../tensor/matrix-view';
import type { GramBackend } from '../spectrum';
import { symmetricEigenvaluesTwoStage } from '../two-stage-eigen';
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

/** Symmetric blocking pays once the Gram is large enough for the extra copies to be cheap. */
function blocksFor(n: number): number {
  return n >= 1024 ? 4 : n >= 256 ? 2 : 1;
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
      const sessions = new Map<string, Promise<Ort.InferenceSession>>();
      const session = (v: Variant) => {
        const key = `${v.blocks}/${v.tall}/${v.input}/${v.precision}`;
        let s = sessions.get(key);
        if (!s) sessions.set(key, (s = ort().InferenceSession.create(gramModel(v), options)));
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
        const feeds: Record<string, Ort.Tensor> = { X: new (ort().Tensor)(input, data, [m.rows, m.cols]) };
        if (blocks > 1) {
          feeds.axis = i64([0]);
          for (let i = 0; i <= blocks; i++) feeds[`e${i}`] = i64([Math.round((i * n) / blocks)]);
        }
        const s = await session({ blocks, tall, input, precision });
        if (precision === 'float32') return { gram: Float64Array.from((await s.run(feeds)).G.data as Float32Array), n };
        const g = new Float64Array(n * n);
        await s.run(feeds, { G: new (ort().Tensor)('float64', g, [n, n]) });
        return { gram: g, n };
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
