import { type ErrorFactory, LIMITS } from '../../../errors';
import type { RandomAccessFile } from '../../../io/random-access-file';
import { decodeElements, ELEMENT_BYTES, type ElementType } from '../../../tensor/dtype';
import { readElements } from '../../../tensor/read-elements';
import { type LazyTensor, numelOf } from '../../lazy-checkpoint';
import type { TensorData, TensorInfo } from '../../types';
import type { ExternalFiles } from './external';
import { DATA_LOCATION_EXTERNAL, DATA_TYPE_STRING, DATA_TYPES, type OnnxDataType, TYPED_FIELD_NAME } from './schema';
import type { FieldValues, TensorSource } from './walk';
import { BufferCursor, WIRE } from './wire';

const FORMAT = 'onnx';

export interface StorageContext {
  path: string;
  model: RandomAccessFile;
  external: ExternalFiles;
  fail: ErrorFactory;
}

/** Turns a located tensor into table entry + loader, checking its shape and extents first. Undefined for STRING tensors. */
export function lazyTensor(src: TensorSource, ctx: StorageContext): LazyTensor | undefined {
  const { fail } = ctx;
  const label = `tensor "${src.name}"`;
  if (src.dataType === DATA_TYPE_STRING) return undefined;
  if (src.dataType === 0) throw fail('corrupt', `${label} has no data_type`);
  const dt: OnnxDataType = DATA_TYPES[src.dataType] ?? { stored: `DATA_TYPE_${src.dataType}`, dtype: `onnx_type_${src.dataType}` };
  const shape = checkShape(src, fail);
  const numel = numelOf(shape);
  if (src.segmented) throw fail('unsupported', `${label} is a segmented tensor (TensorProto.segment), which we do not read`);
  if (src.dataLocation !== 0 && src.dataLocation !== DATA_LOCATION_EXTERNAL) {
    throw fail('corrupt', `${label} has unknown data_location ${src.dataLocation}`);
  }
  const element = dt.element;
  if (!element) return unsupported(tensorInfo(src.name, dt, shape, storedBytes(src), ctx.path), ctx);
  const expected = numel * ELEMENT_BYTES[element];

  if (src.dataLocation === DATA_LOCATION_EXTERNAL) {
    const ext = ctx.external.extent(src.name, src.external, expected);
    return contiguous(tensorInfo(src.name, dt, shape, ext.length, ext.file.path, ext.offset), ext.file, element);
  }
  if (src.raw) {
    if (src.raw.length !== expected) {
      throw fail('invalid_offsets', `${label} has ${src.raw.length} bytes of raw_data but ${dt.stored} × [${shape}] needs ${expected}`);
    }
    return contiguous(tensorInfo(src.name, dt, shape, src.raw.length, ctx.path, src.raw.offset), ctx.model, element);
  }
  const field = src.valueField ?? dt.field;
  for (const { field: other } of src.typed) {
    if (other !== field) {
      throw fail('corrupt', `${label} of type ${dt.stored} stores its values in ${TYPED_FIELD_NAME[other] ?? `field ${other}`}, where ONNX does not keep ${dt.stored} values`);
    }
  }
  const values = src.typed.find((v) => v.field === field);
  if (!values) {
    if (numel !== 0) throw fail('corrupt', `${label} has shape [${shape}] but no data`);
    return { info: tensorInfo(src.name, dt, shape, 0, ctx.path), load: async () => decodeElements(new Uint8Array(0), element, 0) };
  }
  checkValueCount(values, numel, label, fail);
  if (values.encoding !== 'varint' && values.runs + values.singles === 1) {
    return contiguous(tensorInfo(src.name, dt, shape, values.bytes, ctx.path, values.first.offset), ctx.model, element);
  }
  const size = src.message.end - src.message.start;
  if (size > LIMITS.maxHeaderBytes) throw fail('too_large', `${label} is stored in a ${size}-byte message, larger than we read at once`);
  return {
    info: tensorInfo(src.name, dt, shape, values.bytes, ctx.path),
    load: () => readTypedValues(ctx, src, values, element, numel),
  };
}

/** dims must be non-negative; the element count must fit LIMITS before anything is allocated. */
function checkShape(src: TensorSource, fail: ErrorFactory): number[] {
  const dims = src.dims;
  const shown = () => (dims.length > 8 ? `[${dims.slice(0, 8).join(', ')}, …]` : `[${dims.join(', ')}]`);
  if (dims.some((d) => d < 0)) throw fail('corrupt', `tensor "${src.name}" has a negative dimension in its shape ${shown()}`);
  const numel = numelOf(dims);
  if (!Number.isSafeInteger(numel) || numel > LIMITS.maxTensorElements) {
    throw fail('too_large', `tensor "${src.name}" declares shape ${shown()} (${Number.isNaN(numel) ? 'over 2^53' : numel} elements)`);
  }
  return dims;
}

function checkValueCount(values: FieldValues, numel: number, label: string, fail: ErrorFactory): void {
  const count = values.count;
  if (count !== undefined) {
    if (count !== numel) throw fail('corrupt', `${label} holds ${count} values but its shape needs ${numel}`);
  } else if (values.bytes < numel || values.bytes > numel * 10) {
    // varints take 1 to 10 bytes each; the exact count is checked when the values are decoded
    throw fail('corrupt', `${label} has ${values.bytes} bytes of varint values, which cannot be the ${numel} its shape needs`);
  }
}

function tensorInfo(name: string, dt: OnnxDataType, shape: number[], bytes: number, file: string, offset?: number): TensorInfo {
  return { name, dtype: dt.dtype, storedDtype: dt.stored, shape, numel: numelOf(shape), bytes, file, offset };
}

function contiguous(info: TensorInfo, file: RandomAccessFile, element: ElementType): LazyTensor {
  return { info, load: () => readElements(file, info.offset ?? 0, element, info.numel, FORMAT) };
}

/** Stored bytes of a tensor we list but do not decode. */
function storedBytes(src: TensorSource): number {
  const externalLength = Number(src.external?.get('length'));
  if (src.raw) return src.raw.length;
  if (Number.isSafeInteger(externalLength)) return externalLength;
  return src.typed.reduce((sum, v) => sum + v.bytes, 0);
}

function unsupported(info: TensorInfo, ctx: StorageContext): LazyTensor {
  return {
    info,
    load: async () => {
      throw ctx.fail('unsupported', `tensor "${info.name}" has data type ${info.storedDtype}, which we do not decode`);
    },
  };
}

/**
 * Decodes values kept in a typed field (float_data, int32_data, ...) by re-reading just this tensor's message.
 * int32_data holds float16/bfloat16 bit patterns and 8/16-bit integers one per varint (onnx.proto3, TensorProto).
 */
async function readTypedValues(
  ctx: StorageContext,
  src: TensorSource,
  values: FieldValues,
  element: ElementType,
  numel: number,
): Promise<TensorData> {
  const { start, end } = src.message;
  const buf = await ctx.model.read(start, end - start, FORMAT);
  const bad = (problem: string) => ctx.fail('corrupt', `tensor "${src.name}": ${problem}`);
  const size = ELEMENT_BYTES[element];
  const image = new Uint8Array(numel * size);
  const view = new DataView(image.buffer);
  const c = new BufferCursor(buf, 0, bad);
  const width = values.encoding === 'fixed32' ? 4 : values.encoding === 'fixed64' ? 8 : 0;
  const scalarWire = width === 4 ? WIRE.i32 : width === 8 ? WIRE.i64 : WIRE.varint;
  let n = 0;
  const putOne = (limit: number): void => {
    if (n >= numel) throw bad(`holds more values than its shape needs (${numel})`);
    if (width) {
      const at = c.fixed(width, limit);
      image.set(buf.subarray(at, at + width), n * width);
    } else {
      const v = c.varint(limit);
      if (size === 8) {
        view.setUint32(n * 8, v.lo, true);
        view.setUint32(n * 8 + 4, v.hi, true);
      } else if (size === 4) view.setUint32(n * 4, v.lo, true);
      else if (size === 2) view.setUint16(n * 2, v.lo & 0xffff, true);
      else view.setUint8(n, v.lo & 0xff);
    }
    n++;
  };
  while (c.pos < buf.length) {
    const { no, wire } = c.tag(buf.length);
    if (no !== values.field) {
      c.skip(wire, buf.length);
    } else if (wire === WIRE.len) {
      const runEnd = c.payload(buf.length);
      while (c.pos < runEnd) putOne(runEnd);
    } else if (wire === scalarWire) {
      putOne(buf.length);
    } else {
      throw bad(`value field has wire type ${wire}`);
    }
  }
  if (n !== numel) throw bad(`holds ${n} values but its shape needs ${numel}`);
  return decodeElements(image, element, numel);
}
