import { type ErrorFactory, LIMITS } from '../../../errors';
import { ELEMENT_BYTES, type ElementType } from '../../../tensor/dtype';
import { LiteralError, parsePyLiteral, PyDict, PyTuple, type PyValue } from './literal';

// Layout from numpy/lib/format.py (NEP 1): magic "\x93NUMPY", major and minor version bytes, then the header
// length (little-endian u16 in version 1.0, u32 in 2.0 and 3.0), then the header: the repr() of a dict with
// the keys 'descr', 'fortran_order' and 'shape' (latin-1 text; UTF-8 in version 3.0). The data follows it.
export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** numpy 2 allows up to 64 dimensions (NPY_MAXDIMS). */
const MAX_RANK = 64;

export interface NpyHeader {
  /** '1.0', '2.0' or '3.0'. */
  version: string;
  /** The descr as written, e.g. '<f4'. */
  storedDtype: string;
  type: ElementType;
  littleEndian: boolean;
  fortranOrder: boolean;
  /** Logical row-major shape; [] for a 0-d array. */
  shape: number[];
  numel: number;
  /** Offset of the data from the start of the npy stream. */
  dataOffset: number;
  dataBytes: number;
}

/** descr kind + item size → element type; the canonical dtype name is the element type's name. */
const KINDS: Readonly<Record<string, ElementType>> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

export function hasNpyMagic(head: Uint8Array): boolean {
  return head.length >= NPY_MAGIC.length && NPY_MAGIC.equals(head.subarray(0, NPY_MAGIC.length));
}

/**
 * Reads and validates the header of an npy stream of `available` bytes through `readPrefix(n)`, which returns
 * its first n bytes. Checks the declared shape against LIMITS and the stream length before anyone allocates.
 */
export async function readNpyHeader(
  readPrefix: (n: number) => Promise<Buffer>,
  available: number,
  fail: ErrorFactory,
): Promise<NpyHeader> {
  const pre = await readPrefix(Math.min(available, 12));
  if (!hasNpyMagic(pre)) {
    if (pre.length < NPY_MAGIC.length && NPY_MAGIC.subarray(0, pre.length).equals(pre)) {
      throw fail('truncated', `only ${available} bytes, too short for an npy header`);
    }
    throw fail('corrupt', 'does not start with the npy magic "\\x93NUMPY"');
  }
  if (pre.length < 8) throw fail('truncated', `only ${available} bytes, too short for an npy header`);
  const major = pre[6];
  const minor = pre[7];
  if (major < 1 || major > 3 || minor !== 0) {
    throw fail('unsupported', `npy format version ${major}.${minor} (we read 1.0, 2.0 and 3.0)`);
  }
  const preamble = major === 1 ? 10 : 12;
  if (pre.length < preamble) throw fail('truncated', `only ${available} bytes, too short for an npy header`);
  const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  if (preamble + headerLen > available) {
    throw fail('header_out_of_bounds', `npy header length ${headerLen} runs past the end of the data (${available} bytes)`);
  }
  if (headerLen > LIMITS.maxHeaderBytes) throw fail('too_large', `npy header of ${headerLen} bytes is larger than we accept`);
  const whole = await readPrefix(preamble + headerLen);
  if (whole.length < preamble + headerLen) {
    throw fail('corrupt', `could read only ${whole.length} of the ${preamble + headerLen} header bytes`);
  }
  const raw = whole.subarray(preamble);
  const text = decodeHeaderText(raw, major, fail);
  const fields = headerFields(text, fail);
  const { type, littleEndian } = elementTypeOf(fields.descr, fail);
  const shape = shapeOf(fields.shape, fail);
  // A zero dimension makes the array empty however large the others are (and 0 · Infinity would be NaN).
  const numel = shape.includes(0) ? 0 : shape.reduce((a, b) => a * b, 1);
  if (!(numel <= LIMITS.maxTensorElements)) {
    throw fail('too_large', `npy header declares shape (${shape.join(', ')}), ${numel} elements, more than we decode at once`);
  }
  const dataOffset = preamble + headerLen;
  const dataBytes = numel * ELEMENT_BYTES[type];
  if (dataOffset + dataBytes > available) {
    throw fail(
      'truncated',
      `shape (${shape.join(', ')}) of ${fields.descr} needs ${dataBytes} bytes of data but only ${available - dataOffset} follow the header (file cut short?)`,
    );
  }
  return {
    version: `${major}.0`,
    storedDtype: fields.descr,
    type,
    littleEndian,
    fortranOrder: fields.fortranOrder,
    shape,
    numel,
    dataOffset,
    dataBytes,
  };
}

function decodeHeaderText(raw: Buffer, major: number, fail: ErrorFactory): string {
  if (major < 3) return raw.toString('latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw fail('corrupt', 'npy 3.0 header is not valid UTF-8');
  }
}

function headerFields(text: string, fail: ErrorFactory): { descr: string; fortranOrder: boolean; shape: PyValue } {
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    if (e instanceof LiteralError) throw fail('corrupt', `npy header is not a valid Python literal: ${e.message}`);
    throw e;
  }
  if (!(dict instanceof PyDict)) throw fail('corrupt', 'npy header is not a dictionary');
  const keys = [...dict.entries.keys()].sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    throw fail('corrupt', `npy header must have exactly the keys 'descr', 'fortran_order', 'shape'; it has ${keys.map((k) => `'${k}'`).join(', ') || 'none'}`);
  }
  const descr = dict.entries.get('descr')!;
  if (Array.isArray(descr)) throw fail('unsupported', 'structured (record) dtype; we read plain numeric arrays only');
  if (typeof descr !== 'string') throw fail('corrupt', "npy header 'descr' is not a string");
  const fortranOrder = dict.entries.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') throw fail('corrupt', "npy header 'fortran_order' is not True or False");
  return { descr, fortranOrder, shape: dict.entries.get('shape')! };
}

function elementTypeOf(descr: string, fail: ErrorFactory): { type: ElementType; littleEndian: boolean } {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) throw fail('unsupported', `dtype '${descr}' is not a plain numeric dtype`);
  const [, order, kind, size] = m;
  if (kind === 'O') throw fail('unsupported', `dtype '${descr}' is an object array; reading it would need pickle, which we never run`);
  if (kind === 'V') {
    throw fail(
      'unsupported',
      `dtype '${descr}' is raw ${size}-byte records (how bfloat16 and other ml_dtypes arrays are saved); the element type is not recorded, so we cannot decode it`,
    );
  }
  const type = order ? KINDS[kind + size] : undefined;
  if (!type) throw fail('unsupported', `dtype '${descr}' (we read float16/32/64, int8-64, uint8-64 and bool)`);
  // '|' (order not applicable) and '=' (native) read as little-endian: every host we run on is.
  return { type, littleEndian: order !== '>' };
}

function shapeOf(v: PyValue, fail: ErrorFactory): number[] {
  if (!(v instanceof PyTuple)) throw fail('corrupt', "npy header 'shape' is not a tuple");
  if (v.items.length > MAX_RANK) throw fail('too_large', `npy header declares ${v.items.length} dimensions (numpy allows ${MAX_RANK})`);
  return v.items.map((d) => {
    if (typeof d !== 'bigint' || d < 0n) throw fail('corrupt', "npy header 'shape' holds something other than non-negative integers");
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) throw fail('too_large', `npy header declares a dimension of ${d}`);
    return Number(d);
  });
}
