/**
 * Model inputs for the LMC evaluation: from a file (any format we read, typically .npz: one member per model input,
 * by name) or random, seeded, fitting the input shapes (unknown dimensions from `shapes`, else 1; floats N(0, 1),
 * integers and booleans 0).
 */
import type * as Ort from 'onnxruntime-node';
import { openCheckpoint } from '../../checkpoint/registry';
import { TransformInputError } from '../match/errors';
import { ort } from '../match/ort-cost';
import { Rng } from '../match/rng';

export type Feeds = Record<string, Ort.Tensor>;

interface InputMeta {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

function inputMetas(session: Ort.InferenceSession): InputMeta[] {
  return session.inputNames.map((name, i) => {
    const m = session.inputMetadata[i] as unknown as { name?: string; isTensor?: boolean; type?: string; shape?: (number | string)[] };
    if (m.isTensor === false) throw new TransformInputError(`model input "${name}" is not a tensor; LMC feeds tensors only`);
    return { name, type: m.type ?? 'float32', shape: m.shape ?? [] };
  });
}

function tensorOf(type: string, values: ArrayLike<number>, dims: readonly number[]): Ort.Tensor {
  const T = ort().Tensor;
  const n = values.length;
  switch (type) {
    case 'float32':
      return new T('float32', Float32Array.from(values), dims);
    case 'float64':
      return new T('float64', Float64Array.from(values), dims);
    case 'int64':
      return new T('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.round(values[i]))), dims);
    case 'int32':
      return new T('int32', Int32Array.from(values, Math.round), dims);
    case 'bool':
      return new T('bool', Uint8Array.from(values, (v) => (v ? 1 : 0)), dims);
    default:
      throw new TransformInputError(`model input of type ${type} is not supported for LMC feeds`);
  }
}

/** Feeds read from a file: each model input by name, in the dtype the model expects. */
export async function feedsFromFile(session: Ort.InferenceSession, file: string): Promise<Feeds> {
  const ckpt = await openCheckpoint(file);
  try {
    const feeds: Feeds = {};
    for (const m of inputMetas(session)) {
      const t = ckpt.tensors.find((x) => x.name === m.name);
      if (!t) throw new TransformInputError(`${file} has no array named "${m.name}" (model inputs: ${session.inputNames.join(', ')})`);
      feeds[m.name] = tensorOf(m.type, await ckpt.read(t.name, 'float64'), t.shape);
    }
    return feeds;
  } finally {
    await ckpt.close();
  }
}

export function randomFeeds(session: Ort.InferenceSession, seed: number, shapes: Readonly<Record<string, readonly number[]>> = {}): Feeds {
  const rng = new Rng(seed);
  const feeds: Feeds = {};
  for (const m of inputMetas(session)) {
    const dims = shapes[m.name] ?? m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const values = m.type.startsWith('float') ? Float64Array.from({ length: n }, () => rng.normal()) : new Float64Array(n);
    feeds[m.name] = tensorOf(m.type, values, dims);
  }
  return feeds;
}
