import type { ElementType } from '../../../tensor/dtype';

/** Field numbers of the messages we walk (onnx/onnx.proto3). */
export const MODEL = {
  irVersion: 1,
  producerName: 2,
  producerVersion: 3,
  domain: 4,
  modelVersion: 5,
  docString: 6,
  graph: 7,
  opsetImport: 8,
  metadataProps: 14,
  trainingInfo: 20,
  functions: 25,
} as const;

export const GRAPH = { node: 1, name: 2, initializer: 5, sparseInitializer: 15 } as const;

export const NODE = { output: 2, opType: 4, attribute: 5, domain: 7 } as const;

export const ATTRIBUTE = { name: 1, f: 2, i: 3, t: 5, g: 6, floats: 7, ints: 8, graphs: 11 } as const;

export const TENSOR = {
  dims: 1,
  dataType: 2,
  segment: 3,
  floatData: 4,
  int32Data: 5,
  stringData: 6,
  int64Data: 7,
  name: 8,
  rawData: 9,
  doubleData: 10,
  uint64Data: 11,
  externalData: 13,
  dataLocation: 14,
} as const;

/** StringStringEntryProto (external_data, metadata_props) and OperatorSetIdProto. */
export const ENTRY = { key: 1, value: 2 } as const;
export const OPSET = { domain: 1, version: 2 } as const;

/** TensorProto.DataLocation.EXTERNAL */
export const DATA_LOCATION_EXTERNAL = 1;

/** How the elements of a repeated numeric field are written on the wire. */
export type ValueEncoding = 'fixed32' | 'fixed64' | 'varint';

export const TYPED_FIELD_ENCODING: Readonly<Record<number, ValueEncoding>> = {
  [TENSOR.floatData]: 'fixed32',
  [TENSOR.int32Data]: 'varint',
  [TENSOR.int64Data]: 'varint',
  [TENSOR.doubleData]: 'fixed64',
  [TENSOR.uint64Data]: 'varint',
};

export const TYPED_FIELD_NAME: Readonly<Record<number, string>> = {
  [TENSOR.floatData]: 'float_data',
  [TENSOR.int32Data]: 'int32_data',
  [TENSOR.int64Data]: 'int64_data',
  [TENSOR.doubleData]: 'double_data',
  [TENSOR.uint64Data]: 'uint64_data',
};

export interface OnnxDataType {
  /** The TensorProto.DataType enum name. */
  readonly stored: string;
  /** Canonical lowercase dtype. */
  readonly dtype: string;
  /** How we decode it; absent for types we list but do not decode. */
  readonly element?: ElementType;
  /** The typed field that holds the values when raw_data is not used (comments on TensorProto in onnx.proto3). */
  readonly field?: number;
}

/** TensorProto.DataType (onnx.proto3). STRING (8) is not a numeric tensor and is skipped by the reader. */
export const DATA_TYPES: Readonly<Record<number, OnnxDataType>> = {
  1: { stored: 'FLOAT', dtype: 'float32', element: 'float32', field: TENSOR.floatData },
  2: { stored: 'UINT8', dtype: 'uint8', element: 'uint8', field: TENSOR.int32Data },
  3: { stored: 'INT8', dtype: 'int8', element: 'int8', field: TENSOR.int32Data },
  4: { stored: 'UINT16', dtype: 'uint16', element: 'uint16', field: TENSOR.int32Data },
  5: { stored: 'INT16', dtype: 'int16', element: 'int16', field: TENSOR.int32Data },
  6: { stored: 'INT32', dtype: 'int32', element: 'int32', field: TENSOR.int32Data },
  7: { stored: 'INT64', dtype: 'int64', element: 'int64', field: TENSOR.int64Data },
  9: { stored: 'BOOL', dtype: 'bool', element: 'bool', field: TENSOR.int32Data },
  10: { stored: 'FLOAT16', dtype: 'float16', element: 'float16', field: TENSOR.int32Data },
  11: { stored: 'DOUBLE', dtype: 'float64', element: 'float64', field: TENSOR.doubleData },
  12: { stored: 'UINT32', dtype: 'uint32', element: 'uint32', field: TENSOR.uint64Data },
  13: { stored: 'UINT64', dtype: 'uint64', element: 'uint64', field: TENSOR.uint64Data },
  14: { stored: 'COMPLEX64', dtype: 'complex64' },
  15: { stored: 'COMPLEX128', dtype: 'complex128' },
  16: { stored: 'BFLOAT16', dtype: 'bfloat16', element: 'bfloat16', field: TENSOR.int32Data },
  17: { stored: 'FLOAT8E4M3FN', dtype: 'float8_e4m3fn', element: 'float8_e4m3fn', field: TENSOR.int32Data },
  18: { stored: 'FLOAT8E4M3FNUZ', dtype: 'float8_e4m3fnuz' },
  19: { stored: 'FLOAT8E5M2', dtype: 'float8_e5m2', element: 'float8_e5m2', field: TENSOR.int32Data },
  20: { stored: 'FLOAT8E5M2FNUZ', dtype: 'float8_e5m2fnuz' },
  21: { stored: 'UINT4', dtype: 'uint4' },
  22: { stored: 'INT4', dtype: 'int4' },
  23: { stored: 'FLOAT4E2M1', dtype: 'float4_e2m1' },
};

export const DATA_TYPE_STRING = 8;
