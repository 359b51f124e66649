import type * as Ort from 'onnxruntime-node';
import type { Matrix } from '../../tensor/matrix-view';
import type { GramBackend } from '../spectrum';
import { encodeModel, ONNX_DOUBLE } from './onnx-model-writer';
import { providerOrder, type ProviderName, type ProviderSetting } from './providers';

/** Gram products through onnxruntime: G = XᵀX with Gemm(transA=1) in float64, one session for every shape. */
export interface OrtGram {
  backend: GramBackend;
  /** The provider the session actually runs on. */
  provider: ProviderName;
  /** Why earlier providers in the order were not used (empty when the first one worked). */
  fallbacks: string[];
  release(): Promise<void>;
}

function gramModel(): Uint8Array {
  return encodeModel({
    name: 'gram',
    nodes: [{ opType: 'Gemm', inputs: ['X', 'X'], outputs: ['G'], intAttributes: { transA: 1 } }],
    inputs: [{ name: 'X', elemType: ONNX_DOUBLE, dims: ['rows', 'cols'] }],
    outputs: [{ name: 'G', elemType: ONNX_DOUBLE, dims: ['cols', 'cols'] }],
  });
}

let ortModule: typeof Ort | undefined;
function ort(): typeof Ort {
  // Loaded on first use so that readers and the CLI's inspect never pay for the native library.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (ortModule ??= require('onnxruntime-node') as typeof Ort);
}

export async function createOrtGram(setting: ProviderSetting | readonly ProviderName[] = 'cpu', threads = 0): Promise<OrtGram> {
  const fallbacks: string[] = [];
  const model = gramModel();
  for (const provider of providerOrder(setting)) {
    try {
      const session = await ort().InferenceSession.create(model, {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        graphOptimizationLevel: 'all',
      });
      const backend: GramBackend = async (m: Matrix) => {
        // Orient so the Gram is on the small side: XᵀX with X = W (rows ≥ cols) or X = Wᵀ.
        const tall = m.rows >= m.cols;
        const x = tall ? toFloat64(m.data) : transposeToFloat64(m);
        const rows = tall ? m.rows : m.cols;
        const n = tall ? m.cols : m.rows;
        const out = await session.run({ X: new (ort().Tensor)('float64', x, [rows, n]) });
        const g = out.G.data as Float64Array;
        return { gram: g, n };
      };
      return { backend, provider, fallbacks, release: () => session.release() };
    } catch (e) {
      fallbacks.push(`${provider}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no onnxruntime execution provider could run the Gram kernel (${fallbacks.join('; ')})`);
}

function toFloat64(d: Float32Array | Float64Array): Float64Array {
  return d instanceof Float64Array ? d : Float64Array.from(d);
}

function transposeToFloat64(m: Matrix): Float64Array {
  const { rows, cols, data } = m;
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = data[i * cols + j];
  return t;
}
