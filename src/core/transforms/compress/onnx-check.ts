import type * as Ort from 'onnxruntime-node';
import { openCheckpoint } from '../../checkpoint/registry';
import type { OnnxValueInfo } from '../../writers/onnx-writer';
import { scanOnnxModel } from '../../writers/onnx-writer';

/** How far the compressed model's outputs are from the original's on the same inputs. */
export interface OnnxOutputError {
  name: string;
  shape: number[];
  /** ‖y − ŷ‖₂ / ‖y‖₂ over all elements (the absolute norm when ‖y‖ = 0). */
  rel_error: number;
  max_abs_error: number;
}

export interface OnnxCheck {
  /** 'npz: <file>' or 'random (seed s)'. */
  inputs: string;
  input_shapes: Record<string, number[]>;
  outputs: OnnxOutputError[];
}

export class OnnxCheckError extends Error {}

let ortModule: typeof Ort | undefined;
function ort(): typeof Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (ortModule ??= require('onnxruntime-node') as typeof Ort);
}

/** TensorProto.DataType → onnxruntime tensor type (onnx.proto3). */
const ORT_TYPE: Record<number, Ort.Tensor.Type> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' };

function toTensor(v: OnnxValueInfo, values: ArrayLike<number>, shape: number[]): Ort.Tensor {
  const type = ORT_TYPE[v.elemType];
  if (!type) throw new OnnxCheckError(`input "${v.name}" has ONNX type ${v.elemType}, which this check cannot feed; run without the check`);
  const n = values.length;
  let data: Ort.Tensor.DataType;
  switch (type) {
    case 'float32':
      data = Float32Array.from(values);
      break;
    case 'float64':
      data = Float64Array.from(values);
      break;
    case 'int64':
      data = BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.round(values[i])));
      break;
    case 'int32':
      data = Int32Array.from(values);
      break;
    case 'int8':
      data = Int8Array.from(values);
      break;
    case 'uint8':
      data = Uint8Array.from(values);
      break;
    default:
      data = Uint8Array.from(values, (x) => (x ? 1 : 0));
  }
  return new (ort().Tensor)(type, data, shape);
}

/** A seeded standard normal stream (mulberry32 + Box–Muller), so a report can be reproduced. */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Inputs for the model: from an .npz whose members are named as the graph inputs, or random ones fitting the
 * declared shapes (symbolic dims from `shapes`, else 1; floats standard normal, integers 0).
 */
export async function sampleInputs(model: string, npz: string | undefined, shapes: Record<string, number[]> = {}, seed = 0): Promise<{ feeds: Record<string, Ort.Tensor>; shapes: Record<string, number[]>; label: string }> {
  const scan = await scanOnnxModel(model);
  const feeds: Record<string, Ort.Tensor> = {};
  const used: Record<string, number[]> = {};
  if (npz) {
    const ck = await openCheckpoint(npz);
    try {
      for (const v of scan.inputs) {
        const t = ck.tensors.find((x) => x.name === v.name);
        if (!t) throw new OnnxCheckError(`${npz} has no member "${v.name}" (the model's inputs: ${scan.inputs.map((i) => i.name).join(', ')})`);
        used[v.name] = [...t.shape];
        feeds[v.name] = toTensor(v, await ck.read(v.name, 'float64'), [...t.shape]);
      }
    } finally {
      await ck.close();
    }
    return { feeds, shapes: used, label: `npz: ${npz}` };
  }
  const next = normals(seed + 1);
  for (const v of scan.inputs) {
    const shape = shapes[v.name] ?? v.dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    used[v.name] = shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const isFloat = v.elemType === 1 || v.elemType === 11;
    feeds[v.name] = toTensor(v, isFloat ? Float64Array.from({ length: n }, next) : new Float64Array(n), shape);
  }
  return { feeds, shapes: used, label: `random (seed ${seed})` };
}

async function runModel(file: string, feeds: Record<string, Ort.Tensor>): Promise<Record<string, Ort.Tensor>> {
  // logSeverityLevel 3: onnxruntime's own error lines would duplicate the message we report
  const session = await ort().InferenceSession.create(file, { executionProviders: ['cpu'], logSeverityLevel: 3 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Runs both models in onnxruntime on the same inputs and compares every output. */
export async function compareOnnxOutputs(original: string, compressed: string, feedsFrom: Awaited<ReturnType<typeof sampleInputs>>): Promise<OnnxCheck> {
  let a: Record<string, Ort.Tensor>;
  try {
    a = await runModel(original, feedsFrom.feeds);
  } catch (e) {
    throw new OnnxCheckError(`onnxruntime could not run the input model on these inputs (${(e as Error).message.split('\n')[0]}); give --inputs x.npz or --input-shape`);
  }
  let b: Record<string, Ort.Tensor>;
  try {
    b = await runModel(compressed, feedsFrom.feeds);
  } catch (e) {
    throw new Error(`onnxruntime runs the input model but not the compressed one ${compressed}: ${(e as Error).message.split('\n')[0]}`);
  }
  const outputs: OnnxOutputError[] = [];
  for (const [name, ya] of Object.entries(a)) {
    const yb = b[name];
    if (!yb) throw new OnnxCheckError(`the compressed model has no output "${name}"`);
    const da = ya.data as ArrayLike<number | bigint>;
    const db = yb.data as ArrayLike<number | bigint>;
    let num = 0;
    let den = 0;
    let max = 0;
    for (let i = 0; i < da.length; i++) {
      const x = Number(da[i]);
      const d = x - Number(db[i]);
      num += d * d;
      den += x * x;
      max = Math.max(max, Math.abs(d));
    }
    outputs.push({ name, shape: [...ya.dims], rel_error: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num), max_abs_error: max });
  }
  return { inputs: feedsFrom.label, input_shapes: feedsFrom.shapes, outputs };
}
