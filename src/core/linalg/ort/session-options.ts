import type * as Ort from 'onnxruntime-node';
import type { ProviderName } from './providers';

/**
 * Options for every linear-algebra session. Spinning is off: onnxruntime's idle intra-op threads otherwise busy-wait
 * after each run and take the cores from the JavaScript stages between runs (measured 2–3× slower on 2 cores).
 * threads = 0 lets onnxruntime use one thread per physical core.
 */
export function linalgSessionOptions(provider: ProviderName, threads = 0): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
