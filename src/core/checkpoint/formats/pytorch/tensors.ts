/**
 * Lazy tensors over storage records: each tensor is a view (storage_offset, size, stride) of a storage,
 * several tensors may share one. A load reads only the bytes the view spans, then gathers strided views.
 */
import { type ErrorFactory, LIMITS } from '../../../errors';
import { decodeElements } from '../../../tensor/dtype';
import { contiguousStrides, gatherStrided, stridedExtent } from '../../../tensor/layout';
import { type LazyTensor, numelOf } from '../../lazy-checkpoint';
import type { TensorData } from '../../types';
import { storedDtypeName } from './dtypes';
import type { NamedTensor } from './flatten';

/** Where a storage record's bytes are: a zip member or a block of a legacy file. */
export interface StorageSource {
  /** For messages: 'member "archive/data/0"', 'legacy storage "1234"'. */
  readonly where: string;
  /** Bytes the record holds. */
  readonly byteLength: number;
  /** File offset of byte 0 of the record, where the record is stored uncompressed. */
  readonly fileOffset?: number;
  readonly littleEndian: boolean;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** torch's is_contiguous: row-major strides, ignoring dimensions of size 1. */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  const want = contiguousStrides(shape);
  return shape.every((d, i) => d <= 1 || stride[i] === want[i]);
}

export function lazyTensors(
  named: readonly NamedTensor[],
  sources: ReadonlyMap<string, StorageSource>,
  file: string,
  fail: ErrorFactory,
): LazyTensor[] {
  return named.map(({ name, tensor }): LazyTensor => {
    const { storage, dtype, shape, stride, storageOffset } = tensor;
    const source = sources.get(storage.key);
    if (!source) throw fail('corrupt', `tensor "${name}": storage "${storage.key}" has no data in the file`);
    const numel = numelOf(shape);
    if (Number.isNaN(numel) || numel > LIMITS.maxTensorElements) {
      throw fail('too_large', `tensor "${name}" has shape [${shape.join(', ')}] (${numel} elements)`);
    }
    // Elements of the view from its first one; the view must lie inside its storage (legacy views: inside the view).
    const span = numel === 0 ? 0 : stridedExtent(shape, stride, 0);
    const start = storage.byteOffset + storageOffset * dtype.size;
    const length = span * dtype.size;
    if (span > LIMITS.maxTensorElements || storageOffset * dtype.size + length > storage.byteLength) {
      throw fail(
        'invalid_offsets',
        `tensor "${name}" (size [${shape.join(', ')}], stride [${stride.join(', ')}], storage_offset ${storageOffset}) ` +
          `reaches byte ${storageOffset * dtype.size + length} of storage "${storage.key}", which holds ${storage.byteLength} bytes`,
      );
    }
    if (start + length > source.byteLength) {
      throw fail('truncated', `tensor "${name}" needs bytes ${start} to ${start + length} of ${source.where}, which has ${source.byteLength}`);
    }
    const contiguous = isContiguous(shape, stride);
    const element = dtype.element;
    return {
      info: {
        name,
        dtype: dtype.name,
        storedDtype: storedDtypeName(dtype),
        shape: [...shape],
        numel,
        bytes: numel * dtype.size,
        file,
        ...(contiguous && source.fileOffset !== undefined ? { offset: source.fileOffset + start } : {}),
      },
      load: async (): Promise<TensorData> => {
        if (!element) throw fail('unsupported', `tensor "${name}" has dtype ${storedDtypeName(dtype)}, which we do not decode`);
        if (numel === 0) return decodeElements(new Uint8Array(0), element, 0);
        const bytes = await source.read(start, length);
        const values = decodeElements(bytes, element, span, source.littleEndian);
        return contiguous ? values : gatherStrided(values, shape, stride, 0);
      },
    };
  });
}
