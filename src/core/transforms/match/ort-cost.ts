/**
 * Cost products through onnxruntime: Y = A · Bᵀ with one Gemm(transB=1) node in float32, one session for every shape
 * (the pattern of src/core/linalg/ort/gram-session.ts). Small products stay in TypeScript, where a session call
 * costs more than the arithmetic.
 */
import type * as Ort from 'onnxruntime-node';
import { encodeModel, ONNX_FLOAT } from '../../linalg/ort/onnx-model-writer';
import { providerOrder, type ProviderName, type ProviderSetting } from '../../linalg/ort/providers';
import { typescriptProduct, type CostProduct } from './cost';

/** Below this many multiply-adds a product runs in TypeScript. */
export const ORT_MIN_WORK = 1 << 21;

export interface OrtCost {
  product: CostProduct;
  provider: ProviderName;
  release(): Promise<void>;
}

let ortModule: typeof Ort | undefined;
export function ort(): typeof Ort {
  // Loaded on first use: commands that never multiply large matrices do not pay for the native library.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (ortModule ??= require('onnxruntime-node') as typeof Ort);
}

function gemmModel(): Uint8Array {
  return encodeModel({
    name: 'cost',
    nodes: [{ opType: 'Gemm', inputs: ['A', 'B'], outputs: ['Y'], intAttributes: { transB: 1 } }],
    inputs: [
      { name: 'A', elemType: ONNX_FLOAT, dims: ['n', 'm'] },
      { name: 'B', elemType: ONNX_FLOAT, dims: ['n', 'm'] },
    ],
    outputs: [{ name: 'Y', elemType: ONNX_FLOAT, dims: ['n', 'n'] }],
  });
}

export async function createOrtCost(setting: ProviderSetting = 'cpu', threads = 0): Promise<OrtCost> {
  const errors: string[] = [];
  for (const provider of providerOrder(setting)) {
    try {
      const session = await ort().InferenceSession.create(gemmModel(), { executionProviders: [provider], intraOpNumThreads: threads });
      const product: CostProduct = async (c, xa, xb, n, m) => {
        if (n * n * m < ORT_MIN_WORK) return typescriptProduct(c, xa, xb, n, m);
        const T = ort().Tensor;
        const out = await session.run({ A: new T('float32', xa, [n, m]), B: new T('float32', xb, [n, m]) });
        const y = out.Y.data as Float32Array;
        for (let k = 0; k < n * n; k++) c[k] += y[k];
      };
      return { product, provider, release: () => session.release() };
    } catch (e) {
      errors.push(`${provider}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no onnxruntime execution provider could run the cost kernel (${errors.join('; ')})`);
}
