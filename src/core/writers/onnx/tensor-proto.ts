import { encodeValues, WRITABLE_BYTES, type WritableDtype } from '../encode';
import { ProtoOut } from './proto-out';

/** TensorProto.DataType of each dtype we write (onnx/onnx.proto3). */
export const ONNX_TYPE_OF: Readonly<Record<WritableDtype, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

export const DTYPE_OF_ONNX_TYPE: Readonly<Record<number, WritableDtype>> = Object.fromEntries(
  Object.entries(ONNX_TYPE_OF).map(([k, v]) => [v, k as WritableDtype]),
);

/** TensorProto field numbers we write (onnx/onnx.proto3). */
export const TP = { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;

export interface TensorBytes {
  dims: readonly number[];
  dtype: WritableDtype;
  bytes: Uint8Array;
}

export function tensorBytes(dims: readonly number[], dtype: WritableDtype, data: ArrayLike<number>): TensorBytes {
  const numel = dims.reduce((a, b) => a * b, 1);
  if (data.length !== numel) throw new Error(`${data.length} values for dims [${dims}] (${numel} needed)`);
  return { dims, dtype, bytes: encodeValues(data, dtype, Buffer.from(new ArrayBuffer(Math.max(8, numel * WRITABLE_BYTES[dtype])))) };
}

/** A TensorProto with its values in raw_data (little-endian, as onnx.numpy_helper.from_array writes them). */
export function inlineTensorProto(name: string | undefined, t: TensorBytes): ProtoOut {
  const out = new ProtoOut();
  if (t.dims.length) out.packedVarints(TP.dims, t.dims);
  out.int(TP.dataType, ONNX_TYPE_OF[t.dtype]);
  if (name) out.string(TP.name, name);
  out.bytes(TP.rawData, t.bytes);
  return out;
}

/** A TensorProto whose values sit in an external data file (onnx external_data_helper: location, offset, length). */
export function externalTensorProto(name: string | undefined, dims: readonly number[], onnxType: number, location: string, offset: number, length: number): ProtoOut {
  const out = new ProtoOut();
  if (dims.length) out.packedVarints(TP.dims, dims);
  out.int(TP.dataType, onnxType);
  if (name) out.string(TP.name, name);
  for (const [k, v] of [
    ['location', location],
    ['offset', String(offset)],
    ['length', String(length)],
  ]) {
    out.message(TP.externalData, new ProtoOut().string(1, k).string(2, v));
  }
  out.int(TP.dataLocation, 1);
  return out;
}
