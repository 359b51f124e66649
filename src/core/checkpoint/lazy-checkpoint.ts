import { CheckpointError } from '../errors';
import type { Checkpoint, FormatId, Precision, TensorData, TensorInfo } from './types';

/**
 * How one tensor's values are produced, by positional reads of its bytes. A loader may write into `target`
 * (exactly numel long, when the caller supplied a buffer) and return it, or ignore it and return its own array.
 */
export type TensorLoader = (target?: TensorData) => Promise<TensorData>;

export interface LazyTensor {
  info: TensorInfo;
  load: TensorLoader;
}

/** Canonical dtypes decoded to float64 by default so that integer and float64 values stay exact. */
const WIDE_DTYPES = new Set(['float64', 'int32', 'int64', 'uint32', 'uint64']);

export function naturalPrecision(dtype: string): Precision {
  return WIDE_DTYPES.has(dtype) ? 'float64' : 'float32';
}

/** Shared implementation of `Checkpoint` over a table of lazy tensors; readers only build the table. */
export class LazyCheckpoint implements Checkpoint {
  readonly tensors: readonly TensorInfo[];
  private readonly byName = new Map<string, LazyTensor>();

  constructor(
    readonly format: FormatId,
    readonly path: string,
    readonly files: readonly string[],
    entries: readonly LazyTensor[],
    readonly metadata: Readonly<Record<string, unknown>> = {},
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    for (const e of entries) {
      if (this.byName.has(e.info.name)) {
        throw new CheckpointError('corrupt', path, format, `tensor name "${e.info.name}" appears twice`);
      }
      this.byName.set(e.info.name, e);
    }
    this.tensors = entries.map((e) => e.info);
  }

  async read(name: string, precision?: Precision, into?: TensorData): Promise<TensorData> {
    const entry = this.byName.get(name);
    if (!entry) throw new CheckpointError('not_a_tensor', this.path, this.format, `no tensor named "${name}"`);
    const { numel } = entry.info;
    if (into && into.length < numel) {
      throw new RangeError(`buffer of ${into.length} elements is too small for tensor "${name}" (${numel})`);
    }
    const target = into?.subarray(0, numel) as TensorData | undefined;
    const data = await entry.load(target);
    if (data.length !== numel) {
      throw new CheckpointError('corrupt', entry.info.file, this.format, `tensor "${name}" decoded to ${data.length} values, expected ${numel}`);
    }
    if (target) {
      if (data.buffer !== target.buffer || data.byteOffset !== target.byteOffset) target.set(data);
      return target;
    }
    const want = precision ?? naturalPrecision(entry.info.dtype);
    if (want === 'float64' && data instanceof Float32Array) return Float64Array.from(data);
    if (want === 'float32' && data instanceof Float64Array) return Float32Array.from(data);
    return data;
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}

/** Element count of a shape; NaN if a dimension is not a non-negative safe integer. May exceed 2^53 (compare against limits). */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return NaN;
    n *= d;
  }
  return n;
}
