import type * as Ort from 'onnxruntime-node';

let ortModule: typeof Ort | undefined;

/** onnxruntime-node, loaded on first use so that readers and the CLI's inspect never pay for the native library. */
export function ort(): typeof Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (ortModule ??= require('onnxruntime-node') as typeof Ort);
}

export function f64(data: Float64Array, dims: number[]): Ort.Tensor {
  return new (ort().Tensor)('float64', data, dims);
}

export function i64(values: number[]): Ort.Tensor {
  return new (ort().Tensor)('int64', BigInt64Array.from(values, (v) => BigInt(v)), [values.length]);
}
