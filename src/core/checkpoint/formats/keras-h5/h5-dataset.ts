import type { Metadata } from 'h5wasm';
import { type ErrorFactory, LIMITS } from '../../../errors';
import { decodeElements } from '../../../tensor/dtype';
import { naturalPrecision, numelOf } from '../../lazy-checkpoint';
import type { TensorData } from '../../types';
import { elementTypeOf, type H5ElementType } from './h5-dtype';
import { h5Call, type H5Module } from './h5-runtime';

/** One numeric dataset, described without reading its data. */
export interface H5Dataset {
  /** Absolute HDF5 path ("/model_weights/F_m1/F_m1/kernel:0"). */
  path: string;
  element: H5ElementType;
  shape: number[];
  numel: number;
  chunked: boolean;
}

/** Largest read handed to HDF5 at once: bigger datasets are read in slabs along their first axis. */
export const SLAB_BYTES = 64 * 1024 * 1024;

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Describes the dataset at `path`, or says why it is not a numeric tensor. Sizes are checked here, before
 * anything is allocated: an unchunked dataset's bytes must fit in the file; a chunked one may be larger
 * (unwritten chunks read as the fill value, compression) but not beyond the inflate ratio we accept.
 */
export function describeDataset(
  mod: H5Module,
  fileId: bigint,
  path: string,
  fileSize: number,
  fail: ErrorFactory,
): H5Dataset | { unsupported: string } {
  const meta: Metadata = h5Call(fail, `reading the header of dataset "${path}"`, () => mod.get_dataset_metadata(fileId, path));
  if (!meta.shape) return { unsupported: 'an empty (null) dataspace' };
  if (meta.virtual_sources?.length) return { unsupported: 'a virtual dataset drawing on other files' };
  const element = elementTypeOf(meta);
  if ('unsupported' in element) return element;
  const shape = [...meta.shape];
  const numel = numelOf(shape);
  if (Number.isNaN(numel)) throw fail('corrupt', `dataset "${path}" has an invalid shape ${JSON.stringify(shape)}`);
  if (numel > LIMITS.maxTensorElements) {
    throw fail('too_large', `dataset "${path}" declares shape ${JSON.stringify(shape)} (${numel} elements)`);
  }
  const bytes = numel * element.size;
  const chunked = meta.chunks !== null;
  if (!chunked && bytes > fileSize) {
    throw fail(
      'truncated',
      `dataset "${path}" needs ${bytes} bytes (${JSON.stringify(shape)} × ${element.size}) but the file holds ${fileSize}`,
    );
  }
  if (chunked && bytes > fileSize * LIMITS.maxInflateRatio) {
    throw fail('too_large', `chunked dataset "${path}" expands to ${bytes} bytes, over ${LIMITS.maxInflateRatio}× the file size`);
  }
  return { path, element, shape, numel, chunked };
}

/** Reads one dataset through HDF5 (which decompresses chunks and converts byte order to little-endian). */
export function readDataset(
  mod: H5Module,
  fileId: bigint,
  ds: H5Dataset,
  fail: ErrorFactory,
  slabBytes = SLAB_BYTES,
): TensorData {
  const out = naturalPrecision(ds.element.type) === 'float64' ? new Float64Array(ds.numel) : new Float32Array(ds.numel);
  if (ds.numel === 0) return out;
  const rows = ds.shape.length ? ds.shape[0] : 1;
  const rowElements = ds.numel / rows;
  const rowsPerSlab = Math.max(1, Math.floor(slabBytes / (rowElements * ds.element.size)));
  const inner = ds.shape.slice(1).map(BigInt);
  for (let row = 0; row < rows; row += rowsPerSlab) {
    const n = Math.min(rowsPerSlab, rows - row);
    // A hyperslab [row, row + n) × all of the other axes; null selects the whole dataset (and scalars).
    const whole = n === rows;
    const count = whole ? null : [BigInt(n), ...inner];
    const offset = whole ? null : [BigInt(row), ...inner.map(() => 0n)];
    const strides = whole ? null : [1n, ...inner.map(() => 1n)];
    readSlab(mod, fileId, ds, fail, out, row * rowElements, n * rowElements, count, offset, strides);
  }
  return out;
}

function readSlab(
  mod: H5Module,
  fileId: bigint,
  ds: H5Dataset,
  fail: ErrorFactory,
  out: TensorData,
  at: number,
  elements: number,
  count: bigint[] | null,
  offset: bigint[] | null,
  strides: bigint[] | null,
): void {
  const nbytes = elements * ds.element.size;
  // h5wasm's wasm heap is capped (MAXIMUM_MEMORY); one row past half of it cannot be read in one piece.
  if (nbytes > mod.MAXIMUM_MEMORY / 2) {
    throw fail('too_large', `dataset "${ds.path}" has rows of ${nbytes} bytes, more than the HDF5 library can read at once`);
  }
  const ptr = h5Call(fail, `allocating ${nbytes} bytes to read "${ds.path}"`, () => mod._malloc(nbytes));
  if (!ptr) throw fail('too_large', `the HDF5 library could not allocate ${nbytes} bytes to read "${ds.path}"`);
  try {
    const status = h5Call(fail, `reading dataset "${ds.path}"`, () =>
      mod.get_dataset_data(fileId, ds.path, count, offset, strides, BigInt(ptr)),
    );
    if (status < 0) throw fail('corrupt', `HDF5 could not read dataset "${ds.path}" (status ${status})`);
    // HEAPU8 is re-created when the heap grows, so it is looked up after the read.
    const bytes = mod.HEAPU8.subarray(ptr, ptr + nbytes);
    if (hostLittleEndian && (ds.element.type === 'float32' || ds.element.type === 'float64')) {
      new Uint8Array(out.buffer, out.byteOffset + at * out.BYTES_PER_ELEMENT, nbytes).set(bytes);
    } else {
      out.set(decodeElements(bytes, ds.element.type, elements), at);
    }
  } finally {
    mod._free(ptr);
  }
}
