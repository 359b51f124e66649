/**
 * Turns the unpickled object into named tensors: a state_dict's keys as they are, nested dicts and lists
 * joined with '.' ({"model": {"fc.weight": t}} → "model.fc.weight", [t0, t1] → "0", "1").
 */
import { type ErrorFactory, LIMITS } from '../../../errors';
import { UnsupportedTensor } from './torch-host';
import { PyBytes, PyDict, PyList, PyTuple, type PyValue, TensorRef } from './values';

export interface NamedTensor {
  readonly name: string;
  readonly tensor: TensorRef;
}

export type ScalarValue = string | number | boolean | null;

export interface Flattened {
  tensors: NamedTensor[];
  /** Scalar leaves (epoch, step, config values) for display; capped. */
  values: Record<string, ScalarValue>;
  /** Tensors of kinds we do not read (quantized, sparse, ...): name and rebuild function. */
  skipped: { name: string; kind: string }[];
}

/** Name a bare tensor gets when the file holds a single tensor rather than a dict. */
export const ROOT_TENSOR_NAME = 'tensor';
const MAX_VALUES = 1000;
const MAX_VALUE_CHARS = 256;
/** Visits allowed while walking: shared sub-containers can make the number of paths explode. */
const MAX_VISITS = 10_000_000;

export function flattenCheckpoint(root: PyValue, fail: ErrorFactory): Flattened {
  const out: Flattened = { tensors: [], values: {}, skipped: [] };
  const onPath = new Set<object>();
  let visits = 0;
  let valueCount = 0;

  const walk = (v: PyValue, name: string, depth: number): void => {
    if (++visits > MAX_VISITS) throw fail('too_large', `the checkpoint object has more than ${MAX_VISITS} entries`);
    if (depth > LIMITS.maxDepth) throw fail('too_deep', `the checkpoint object nests more than ${LIMITS.maxDepth} levels deep`);
    if (v instanceof TensorRef) {
      if (out.tensors.length >= LIMITS.maxTensorCount) throw fail('too_large', `more than ${LIMITS.maxTensorCount} tensors`);
      out.tensors.push({ name: name || ROOT_TENSOR_NAME, tensor: v });
      return;
    }
    if (v instanceof UnsupportedTensor) {
      out.skipped.push({ name: name || ROOT_TENSOR_NAME, kind: v.cls.qualified });
      return;
    }
    if (v instanceof PyDict || v instanceof PyList || v instanceof PyTuple) {
      if (onPath.has(v)) return; // a container inside itself: nothing new below
      onPath.add(v);
      const join = (key: string) => (name ? `${name}.${key}` : key);
      if (v instanceof PyDict) {
        for (const [k, item] of v.entries.values()) walk(item, join(keyText(k)), depth + 1);
      } else {
        v.items.forEach((item, i) => walk(item, join(String(i)), depth + 1));
      }
      onPath.delete(v);
      return;
    }
    if (valueCount < MAX_VALUES && name) {
      const scalar = scalarOf(v);
      if (scalar !== undefined) {
        out.values[name] = scalar;
        valueCount++;
      }
    }
  };
  walk(root, '', 0);
  return out;
}

/** A dict key as text, the way Python prints it in a state_dict path. */
function keyText(k: PyValue): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  if (k === null) return 'None';
  if (k instanceof PyBytes) return Buffer.from(k.data).toString('latin1');
  if (k instanceof PyTuple) return `(${k.items.map((i) => (i instanceof PyTuple ? '(…)' : keyText(i))).join(', ')})`;
  return '?';
}

function scalarOf(v: PyValue): ScalarValue | undefined {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS)}…` : v;
  return undefined;
}
