import { type ErrorFactory, LIMITS } from '../../../errors';
import { isElementType, ELEMENT_BYTES, type ElementType } from '../../../tensor/dtype';
import { numelOf } from '../../lazy-checkpoint';

/** safetensors dtype spelling → our element type (spec: huggingface/safetensors, "Format"). */
export const SAFETENSORS_DTYPES: Readonly<Record<string, ElementType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'float8_e4m3fn',
  F8_E5M2: 'float8_e5m2',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};

export interface SafetensorsEntry {
  name: string;
  storedDtype: string;
  type: ElementType;
  shape: number[];
  numel: number;
  /** Absolute byte range in the file. */
  start: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

/** Reads the little-endian u64 header length from the first 8 bytes, refusing lengths past the file. */
export function headerLength(first8: Buffer, fileSize: number, fail: ErrorFactory): number {
  if (first8.length < 8) throw fail('truncated', `file is ${fileSize} bytes, too short for the 8-byte header length`);
  const n = first8.readBigUInt64LE(0);
  if (n > BigInt(fileSize - 8)) {
    throw fail('header_out_of_bounds', `header length ${n} is past the end of the file (${fileSize} bytes)`);
  }
  if (n > BigInt(LIMITS.maxHeaderBytes)) throw fail('too_large', `header of ${n} bytes is larger than we accept`);
  return Number(n);
}

/**
 * Parses and validates the JSON header the way the reference implementation does: known dtypes,
 * data_offsets consistent with dtype × shape, contiguous non-overlapping coverage of the data section,
 * everything inside the file. Offsets are re-parsed from the JSON text so integers past 2^53 are seen.
 */
export function parseHeader(json: Buffer, fileSize: number, fail: ErrorFactory): SafetensorsHeader {
  const text = json.toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw fail('corrupt', `header is not valid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('corrupt', 'header is not a JSON object');
  const dataStart = 8 + json.length;
  const dataSize = fileSize - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  const unsafeNumbers = /"data_offsets"\s*:\s*\[[^\]]*\d{16,}/.test(text);
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!v || typeof v !== 'object') throw fail('corrupt', `entry "${name}" is not an object`);
    const storedDtype = String(v.dtype);
    const type = SAFETENSORS_DTYPES[storedDtype];
    if (!type || !isElementType(type)) throw fail('unsupported', `tensor "${name}" has unknown dtype ${storedDtype}`);
    if (!Array.isArray(v.shape)) throw fail('corrupt', `tensor "${name}" has no shape list`);
    const shape = v.shape as number[];
    const numel = numelOf(shape);
    if (Number.isNaN(numel)) throw fail('corrupt', `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    if (numel > LIMITS.maxTensorElements) {
      throw fail('too_large', `tensor "${name}" declares shape ${JSON.stringify(shape)} (${numel} elements)`);
    }
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw fail('invalid_offsets', `tensor "${name}" has invalid data_offsets ${unsafeNumbers ? '(integers past 2^53)' : JSON.stringify(offs)}`);
    }
    const [b, e] = offs as [number, number];
    if (e < b) throw fail('invalid_offsets', `tensor "${name}" has data_offsets [${b}, ${e}] that end before they start`);
    if (e - b !== numel * ELEMENT_BYTES[type]) {
      throw fail(
        'invalid_offsets',
        `tensor "${name}" spans ${e - b} bytes but ${storedDtype} × ${JSON.stringify(shape)} needs ${numel * ELEMENT_BYTES[type]}`,
      );
    }
    entries.push({ name, storedDtype, type, shape, numel, start: dataStart + b, end: dataStart + e });
  }
  // The reference implementation requires the tensors to tile the data section with no gaps or overlaps.
  const sorted = [...entries].sort((x, y) => x.start - y.start || x.end - y.end);
  let cursor = dataStart;
  for (const t of sorted) {
    if (t.start !== cursor) {
      throw fail(
        'invalid_offsets',
        t.start < cursor
          ? `tensor "${t.name}" at data offset ${t.start - dataStart} overlaps the tensor before it (which ends at ${cursor - dataStart})`
          : `gap in the data section before tensor "${t.name}" (data offset ${cursor - dataStart} to ${t.start - dataStart})`,
      );
    }
    cursor = t.end;
  }
  if (cursor - dataStart > dataSize) {
    throw fail(
      'truncated',
      `the header describes ${cursor - dataStart} bytes of tensor data but the file holds ${dataSize} (file cut short?)`,
    );
  }
  return { entries, metadata, dataStart };
}
