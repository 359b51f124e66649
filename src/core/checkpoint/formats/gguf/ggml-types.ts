import type { ElementType } from '../../../tensor/dtype';
import { DEQUANTIZERS, type Dequantizer } from './quants';

/** One ggml tensor type: `blockSize` values are stored in `typeSize` bytes (ggml.c type_traits). */
export interface GgmlType {
  readonly id: number;
  /** ggml's spelling (ggml_type_name, upper case): F16, Q4_K, IQ2_XXS. */
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
  /** Plain element types decode through the shared element decoder. */
  readonly element?: ElementType;
  /** Block types we decode; absent for block types we only list. */
  readonly dequantize?: Dequantizer;
}

// Ids from enum ggml_type (ggml/include/ggml.h); sizes from ggml-common.h block structs.
const TABLE: readonly [number, string, number, number][] = [
  [0, 'F32', 1, 4],
  [1, 'F16', 1, 2],
  [2, 'Q4_0', 32, 18],
  [3, 'Q4_1', 32, 20],
  [6, 'Q5_0', 32, 22],
  [7, 'Q5_1', 32, 24],
  [8, 'Q8_0', 32, 34],
  [9, 'Q8_1', 32, 36],
  [10, 'Q2_K', 256, 84],
  [11, 'Q3_K', 256, 110],
  [12, 'Q4_K', 256, 144],
  [13, 'Q5_K', 256, 176],
  [14, 'Q6_K', 256, 210],
  [15, 'Q8_K', 256, 292],
  [16, 'IQ2_XXS', 256, 66],
  [17, 'IQ2_XS', 256, 74],
  [18, 'IQ3_XXS', 256, 98],
  [19, 'IQ1_S', 256, 50],
  [20, 'IQ4_NL', 32, 18],
  [21, 'IQ3_S', 256, 110],
  [22, 'IQ2_S', 256, 82],
  [23, 'IQ4_XS', 256, 136],
  [24, 'I8', 1, 1],
  [25, 'I16', 1, 2],
  [26, 'I32', 1, 4],
  [27, 'I64', 1, 8],
  [28, 'F64', 1, 8],
  [29, 'IQ1_M', 256, 56],
  [30, 'BF16', 1, 2],
  // 31-33 and 36-38: interleaved repacks, removed from ggml but present in older files (gguf-py GGML_QUANT_SIZES).
  [31, 'Q4_0_4_4', 32, 18],
  [32, 'Q4_0_4_8', 32, 18],
  [33, 'Q4_0_8_8', 32, 18],
  [34, 'TQ1_0', 256, 54],
  [35, 'TQ2_0', 256, 66],
  [36, 'IQ4_NL_4_4', 32, 18],
  [37, 'IQ4_NL_4_8', 32, 18],
  [38, 'IQ4_NL_8_8', 32, 18],
  [39, 'MXFP4', 32, 17],
];

/** Ids ggml once used whose block layout no current tool writes; named in errors only. */
const RETIRED: Readonly<Record<number, string>> = { 4: 'Q4_2', 5: 'Q4_3' };

const ELEMENTS: Readonly<Record<string, ElementType>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
};

const BY_ID = new Map<number, GgmlType>(
  TABLE.map(([id, name, blockSize, typeSize]) => [
    id,
    { id, name, blockSize, typeSize, element: ELEMENTS[name], dequantize: DEQUANTIZERS[name] },
  ]),
);

export function ggmlType(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

/** ggml's name for an id we cannot lay out (retired or newer than this table), for messages. */
export function unknownTypeName(id: number): string {
  return RETIRED[id] ? `${RETIRED[id]} (${id})` : `id ${id}`;
}

/** Canonical lowercase dtype: float32, float16, bfloat16, int8, ..., q4_k, iq2_xxs. */
export function canonicalDtype(t: GgmlType): string {
  return t.element ?? t.name.toLowerCase();
}
