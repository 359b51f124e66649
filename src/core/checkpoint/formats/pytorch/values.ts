/**
 * Inert Python values our unpickler builds. Nothing here can run code: classes and functions a pickle
 * names become `PyGlobal` records, and calling them produces records (never behaviour).
 */
import type { TorchDtype } from './dtypes';

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyBytes
  | PyList
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyObject
  | StorageRef
  | TensorRef;

/** Containers remember how deeply they nest, so hostile nesting is refused while it is being built. */
export interface Nested {
  depth: number;
}

export class PyBytes {
  constructor(readonly data: Uint8Array) {}
}

export class PyList implements Nested {
  depth = 1;
  constructor(readonly items: PyValue[] = []) {}
}

export class PyTuple implements Nested {
  depth = 1;
  constructor(readonly items: readonly PyValue[]) {}
}

export class PySet implements Nested {
  depth = 1;
  constructor(readonly items: PyValue[] = [], readonly frozen = false) {}
}

/** dict / OrderedDict / Counter in insertion order. Keys are compared like JS Map keys (by value for primitives). */
export class PyDict implements Nested {
  depth = 1;
  readonly entries = new Map<unknown, [PyValue, PyValue]>();
  /** State from BUILD (OrderedDict `_metadata` and the like); kept, never interpreted. */
  state: PyValue = null;
  set(key: PyValue, value: PyValue): void {
    this.entries.set(key, [key, value]);
  }
}

/** A global the allow-list accepted, e.g. `torch.FloatStorage` or `torch.float16`. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The record of an allowed class/function applied to arguments (torch.device('cpu'), slice(...)), with BUILD state. */
export class PyObject implements Nested {
  depth = 1;
  state: PyValue = null;
  constructor(
    readonly cls: PyGlobal,
    readonly args: PyValue,
  ) {}
}

/**
 * A storage named by a persistent id: `numel` elements of `dtype` (bytes for UntypedStorage). `key` is the
 * record holding the data; a legacy storage view covers `byteLength` bytes from `byteOffset` of that record.
 */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly numel: number,
    readonly location: string,
    readonly byteOffset: number,
    readonly byteLength: number,
  ) {}
}

/** A tensor as `torch._utils._rebuild_tensor*` describes it: storage, element offset, size, stride, dtype. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly dtype: TorchDtype,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** Depth of a value for nesting limits: containers and records carry theirs, scalars are 0. */
export function depthOf(v: PyValue): number {
  return v !== null && typeof v === 'object' && 'depth' in v ? v.depth : 0;
}
