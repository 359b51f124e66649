/**
 * Writing a transformed model through the writers (src/core/writers): an ONNX model keeps its graph and gets new
 * tensor values (initializers and Constant nodes, subgraphs included); anything else becomes one safetensors file with
 * the same tensor names and shapes. Float tensors keep their stored float type; quantized ones become float32.
 */
import * as path from 'node:path';
import type { Checkpoint, TensorInfo } from '../../checkpoint/types';
import type { WritableDtype } from '../../writers/encode';
import { writeOnnxModel } from '../../writers/onnx-writer';
import { writeSafetensorsModel, type TensorSpec } from '../../writers/safetensors-writer';
import { OutputError, type OutputPolicy } from '../../writers/staged-outputs';
import { isParameter } from './load';

export type EmitFormat = 'onnx' | 'safetensors';

export interface EmitOptions extends OutputPolicy {
  metadata?: Record<string, string>;
}

const KEEP_FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);
const WRITABLE_INT = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'bool']);

export function outputDtype(t: TensorInfo): WritableDtype {
  if (KEEP_FLOAT.has(t.dtype)) return t.dtype as WritableDtype;
  if (!isParameter(t) && WRITABLE_INT.has(t.dtype)) return t.dtype as WritableDtype;
  return 'float32';
}

/** Output format from the target's extension: .onnx (ONNX input only) or .safetensors. */
export function emitFormat(target: string, source: Checkpoint): EmitFormat {
  const ext = path.extname(target).toLowerCase();
  if (ext === '.onnx') {
    if (source.format !== 'onnx') throw new OutputError(target, `an .onnx output needs ONNX inputs (this input is ${source.format}); write .safetensors`);
    return 'onnx';
  }
  if (ext === '.safetensors') return 'safetensors';
  throw new OutputError(target, 'name the output .safetensors (or .onnx for ONNX inputs)');
}

/**
 * Writes `source` with new values from `valueOf` (undefined: the tensor's own values). Values are asked for one
 * tensor at a time, in the source's order.
 */
export async function emitModel(
  target: string,
  source: Checkpoint,
  valueOf: (t: TensorInfo) => Promise<Float32Array | Float64Array | undefined>,
  opts: EmitOptions = {},
): Promise<{ files: string[]; format: EmitFormat }> {
  const format = emitFormat(target, source);
  const byName = new Map(source.tensors.map((t) => [t.name, t]));
  if (format === 'onnx') {
    const r = await writeOnnxModel(
      source.path,
      target,
      {
        replaceTensor: async (ref) => {
          const info = byName.get(ref.name);
          if (!info) return undefined;
          const data = await valueOf(info);
          return data ? { dims: ref.dims, data } : undefined;
        },
      },
      opts,
    );
    return { files: r.files, format };
  }
  const specs: TensorSpec[] = source.tensors.map((t) => ({ name: t.name, dtype: outputDtype(t), shape: [...t.shape] }));
  const r = await writeSafetensorsModel(
    target,
    specs,
    async (spec) => {
      const info = byName.get(spec.name)!;
      return (await valueOf(info)) ?? (await source.read(spec.name, info.dtype === 'float64' || !isParameter(info) ? 'float64' : 'float32'));
    },
    opts,
  );
  return { files: r.files, format };
}
