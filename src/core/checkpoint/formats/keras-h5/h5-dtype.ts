import type { Metadata } from 'h5wasm';
import type { ElementType } from '../../../tensor/dtype';

/** HDF5 datatype classes as h5wasm reports them (H5T_class_t in H5Tpublic.h). */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_ENUM = 8;

export interface H5ElementType {
  type: ElementType;
  /** HDF5's predefined-type spelling, as h5dump prints it: H5T_IEEE_F32LE, H5T_STD_I64BE, ... */
  storedDtype: string;
  /** Bytes per element (h5wasm hands data over in this size, little-endian). */
  size: number;
}

const FLOATS: Readonly<Record<number, ElementType>> = { 2: 'float16', 4: 'float32', 8: 'float64' };
const SIGNED: Readonly<Record<number, ElementType>> = { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' };
const UNSIGNED: Readonly<Record<number, ElementType>> = { 1: 'uint8', 2: 'uint16', 4: 'uint32', 8: 'uint64' };

function order(meta: Metadata): string {
  return meta.littleEndian ? 'LE' : 'BE';
}

function integerSpelling(meta: Metadata): string {
  return `H5T_STD_${meta.signed ? 'I' : 'U'}${meta.size * 8}${order(meta)}`;
}

/** h5py stores numpy bool as an 8-bit integer enum {FALSE: 0, TRUE: 1} (h5py docs, "Special types"). */
function isBoolEnum(meta: Metadata): boolean {
  const e = meta.enum_type;
  if (!e || e.type !== H5T_INTEGER || meta.size !== 1) return false;
  const names = Object.keys(e.members);
  return names.length === 2 && e.members.FALSE === 0 && e.members.TRUE === 1;
}

/**
 * Our element type for an HDF5 datatype, or a description of why it is not a numeric tensor.
 * A 2-byte float is read as IEEE half: h5wasm does not expose the exponent/mantissa fields that would tell
 * a bfloat16 (HDF5 2.0's H5T_FLOAT_BFLOAT16LE) apart, and h5py writes float16 only.
 */
export function elementTypeOf(meta: Metadata): H5ElementType | { unsupported: string } {
  if (meta.vlen) return { unsupported: 'variable-length data' };
  if (meta.type === H5T_FLOAT) {
    const type = FLOATS[meta.size];
    if (!type) return { unsupported: `${meta.size * 8}-bit floating point` };
    return { type, storedDtype: `H5T_IEEE_F${meta.size * 8}${order(meta)}`, size: meta.size };
  }
  if (meta.type === H5T_INTEGER) {
    const type = (meta.signed ? SIGNED : UNSIGNED)[meta.size];
    if (!type) return { unsupported: `${meta.size * 8}-bit integers` };
    return { type, storedDtype: integerSpelling(meta), size: meta.size };
  }
  if (meta.type === H5T_ENUM && isBoolEnum(meta)) {
    return { type: 'bool', storedDtype: `H5T_ENUM(${integerSpelling(meta)})`, size: 1 };
  }
  return { unsupported: `HDF5 datatype class ${meta.type} (not a number)` };
}
