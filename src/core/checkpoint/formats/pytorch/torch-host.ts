/**
 * What a weights-only checkpoint pickle may name, and the inert records those names produce.
 * The allow-list follows torch's own weights-only unpickler (torch/_weights_only_unpickler.py,
 * _get_allowed_globals): tensor rebuild functions, storage classes, dtypes, OrderedDict, Parameter,
 * torch.Size, plus the builtins protocol 2 uses for bytes and sets. Everything else is refused.
 */
import { type ErrorFactory, LIMITS } from '../../../errors';
import { dtypeGlobal, isStorageClass, storageClassDtype, type TorchDtype } from './dtypes';
import type { PickleHost } from './unpickler';
import {
  depthOf,
  PyBytes,
  PyDict,
  PyGlobal,
  PyList,
  PyObject,
  PySet,
  PyTuple,
  type PyValue,
  StorageRef,
  TensorRef,
} from './values';

/** How an allowed callable behaves when a pickle applies it (REDUCE / NEWOBJ). */
type CallKind =
  | 'dict'
  | 'rebuild_tensor' // torch._utils._rebuild_tensor(storage, offset, size, stride)
  | 'rebuild_tensor_v2' // (storage, offset, size, stride, requires_grad, hooks[, metadata])
  | 'rebuild_tensor_v3' // (storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
  | 'rebuild_parameter' // (data, requires_grad, hooks[, state])
  | 'parameter_class' // torch.nn.parameter.Parameter(data[, requires_grad])
  | 'rebuild_from_type' // torch._tensor._rebuild_from_type_v2(func, type, args, state)
  | 'unsupported_tensor' // quantized, sparse, nested, meta, device tensors: listed as skipped
  | 'size'
  | 'encode'
  | 'set'
  | 'frozenset'
  | 'bytearray'
  | 'record'; // inert record: torch.device, slice, complex, ...

const CALLABLES: ReadonlyMap<string, CallKind> = new Map<string, CallKind>([
  ['collections.OrderedDict', 'dict'],
  ['collections.Counter', 'dict'],
  ['builtins.dict', 'dict'],
  ['torch._utils._rebuild_tensor', 'rebuild_tensor'],
  ['torch._utils._rebuild_tensor_v2', 'rebuild_tensor_v2'],
  ['torch._utils._rebuild_tensor_v3', 'rebuild_tensor_v3'],
  ['torch._utils._rebuild_parameter', 'rebuild_parameter'],
  ['torch._utils._rebuild_parameter_with_state', 'rebuild_parameter'],
  ['torch.nn.parameter.Parameter', 'parameter_class'],
  ['torch._tensor._rebuild_from_type_v2', 'rebuild_from_type'],
  ['torch._utils._rebuild_qtensor', 'unsupported_tensor'],
  ['torch._utils._rebuild_sparse_tensor', 'unsupported_tensor'],
  ['torch._utils._rebuild_nested_tensor', 'unsupported_tensor'],
  ['torch._utils._rebuild_meta_tensor_no_storage', 'unsupported_tensor'],
  ['torch._utils._rebuild_wrapper_subclass', 'unsupported_tensor'],
  ['torch._utils._rebuild_device_tensor_from_numpy', 'unsupported_tensor'],
  ['torch._utils._rebuild_device_tensor_from_cpu_tensor', 'unsupported_tensor'],
  ['torch.Size', 'size'],
  ['_codecs.encode', 'encode'],
  ['builtins.set', 'set'],
  ['builtins.frozenset', 'frozenset'],
  ['builtins.bytearray', 'bytearray'],
  ['builtins.slice', 'record'],
  ['builtins.complex', 'record'],
  ['torch.device', 'record'],
  ['torch.Tensor', 'record'],
  ['torch._tensor.Tensor', 'record'],
  ['torch.serialization._get_layout', 'record'],
]);

/** A tensor we recognise but do not read (quantized, sparse, ...), reported by name instead of silently dropped. */
export class UnsupportedTensor extends PyObject {}

/** What one storage record (zip member / legacy data block) must hold, from every persistent id naming it. */
export interface StorageClaim {
  /** Storage element type from the persistent id (legacy files count elements of this size). */
  readonly dtype: TorchDtype;
  /** Elements the persistent id declares for the whole record. */
  readonly numel: number;
}

/** The PickleHost for checkpoint pickles: allow-listed globals, storages by persistent id, tensors as records. */
export class TorchPickleHost implements PickleHost {
  /** Storage records named by persistent ids, by key. */
  readonly storages = new Map<string, StorageClaim>();

  constructor(
    private readonly fail: ErrorFactory,
    private readonly what: string,
  ) {}

  global(module: string, name: string): PyValue {
    const qualified = `${module}.${name}`;
    if (CALLABLES.has(qualified) || isStorageClass(module, name) || dtypeGlobal(module, name)) return new PyGlobal(module, name);
    throw this.fail(
      'unsafe_pickle',
      `${this.what} asks for the Python global "${qualified}", which is not on the allow-list for weights-only checkpoints ` +
        '(tensors, storages, dtypes, OrderedDict). Refused without running anything; torch.load(weights_only=False) would import and run it. ' +
        'A pickled full model needs its own code: save model.state_dict() instead',
    );
  }

  call(callable: PyValue, args: readonly PyValue[]): PyValue {
    const kind = callable instanceof PyGlobal ? CALLABLES.get(callable.qualified) : undefined;
    if (!kind || !(callable instanceof PyGlobal)) {
      throw this.fail('corrupt', `${this.what} calls ${describe(callable)}, which is not something a checkpoint calls`);
    }
    switch (kind) {
      case 'dict':
        return this.dict(args);
      case 'rebuild_tensor':
      case 'rebuild_tensor_v2':
        return this.tensor(callable, args, undefined);
      case 'rebuild_tensor_v3':
        return this.tensor(callable, args, this.dtypeArg(args[6], callable));
      case 'rebuild_parameter':
      case 'parameter_class': {
        const data = args[0];
        if (data instanceof TensorRef || data instanceof UnsupportedTensor) return data;
        throw this.fail('corrupt', `${this.what}: ${callable.qualified} wraps ${describe(data)}, not a tensor`);
      }
      case 'rebuild_from_type': {
        const [func, , inner] = args;
        if (!(inner instanceof PyTuple)) throw this.fail('corrupt', `${this.what}: _rebuild_from_type_v2 arguments are not a tuple`);
        return this.call(func, inner.items);
      }
      case 'unsupported_tensor':
        return withDepth(new UnsupportedTensor(callable, new PyTuple([])), 1);
      case 'size':
        return new PyTuple(this.sequence(args[0], 'torch.Size argument'));
      case 'encode':
        return this.encode(args);
      case 'set':
      case 'frozenset': {
        const items = args.length ? this.sequence(args[0], `${callable.name} argument`) : [];
        return withDepth(new PySet([...items], kind === 'frozenset'), 1 + maxDepth(items));
      }
      case 'bytearray':
        if (args.length === 0) return new PyBytes(new Uint8Array(0));
        if (args[0] instanceof PyBytes) return args[0];
        return this.encode(args);
      case 'record': {
        const tuple = withDepth(new PyTuple(args), 1 + maxDepth(args));
        return withDepth(new PyObject(callable, tuple), tuple.depth + 1);
      }
    }
  }

  /** persistent_load of torch.serialization: ('storage', storage_type, key, location, numel[, view_metadata]). */
  persistentLoad(pid: PyValue): PyValue {
    if (!(pid instanceof PyTuple) || pid.items.length < 5) {
      throw this.fail('corrupt', `${this.what} has a persistent id ${describe(pid)}; checkpoints only use storage records`);
    }
    const [tag, type, rawKey, location, numel, view] = pid.items;
    const tagText = tag instanceof PyBytes ? Buffer.from(tag.data).toString('latin1') : tag;
    if (tagText !== 'storage') throw this.fail('corrupt', `${this.what} has a persistent id of kind ${describe(tag)}, not a storage`);
    if (!(type instanceof PyGlobal) || !isStorageClass(type.module, type.name)) {
      throw this.fail('corrupt', `${this.what}: storage record has type ${describe(type)}, not a storage class`);
    }
    const dtype = storageClassDtype(type.module, type.name);
    if (!dtype) throw this.fail('unsupported', `${this.what}: storage type ${type.qualified} without a dtype is not supported`);
    const key = typeof rawKey === 'number' ? String(rawKey) : rawKey;
    if (typeof key !== 'string' || key.length === 0 || key.length > 4096) {
      throw this.fail('corrupt', `${this.what}: storage record key ${describe(rawKey)} is not a string`);
    }
    const count = this.count(numel, `storage "${key}" element count`);
    if (count * dtype.size > Number.MAX_SAFE_INTEGER) throw this.fail('too_large', `${this.what}: storage "${key}" claims ${count} elements`);
    const claim = this.storages.get(key);
    if (claim && claim.dtype.name !== dtype.name) {
      throw this.fail('corrupt', `${this.what}: storage "${key}" is named both as ${claim.dtype.name} and as ${dtype.name}`);
    }
    if (!claim) {
      if (this.storages.size >= LIMITS.maxTensorCount) throw this.fail('too_large', `${this.what} names more than ${LIMITS.maxTensorCount} storages`);
      this.storages.set(key, { dtype, numel: count });
    } else if (count !== claim.numel) {
      throw this.fail('corrupt', `${this.what}: storage "${key}" is declared with ${claim.numel} and with ${count} elements`);
    }
    const where = typeof location === 'string' ? location : 'cpu';
    if (view === undefined || view === null) return new StorageRef(key, dtype, count, where, 0, count * dtype.size);
    // Legacy storage views (torch < 1.0): (view_key, offset, size) in elements of the root storage.
    if (!(view instanceof PyTuple) || view.items.length !== 3) {
      throw this.fail('corrupt', `${this.what}: storage "${key}" has malformed view metadata ${describe(view)}`);
    }
    const offset = this.count(view.items[1], `storage view offset of "${key}"`);
    const size = this.count(view.items[2], `storage view size of "${key}"`);
    if (offset + size > count) {
      throw this.fail('invalid_offsets', `${this.what}: a view of storage "${key}" covers elements ${offset} to ${offset + size}, but it holds ${count}`);
    }
    return new StorageRef(key, dtype, size, where, offset * dtype.size, size * dtype.size);
  }

  private dict(args: readonly PyValue[]): PyDict {
    const d = new PyDict();
    const init = args[0];
    if (init instanceof PyDict) {
      for (const [k, v] of init.entries.values()) d.set(k, v);
      d.depth = init.depth;
    } else if (init instanceof PyList || init instanceof PyTuple) {
      // OrderedDict([(key, value), ...]) from protocol 0/1 writers
      for (const pair of init.items) {
        const kv = pair instanceof PyTuple || pair instanceof PyList ? pair.items : [];
        if (kv.length !== 2) throw this.fail('corrupt', `${this.what}: dict initialiser item is not a (key, value) pair`);
        d.set(kv[0], kv[1]);
      }
      d.depth = init.depth;
    }
    return d;
  }

  private tensor(fn: PyGlobal, args: readonly PyValue[], explicitDtype: TorchDtype | undefined): TensorRef {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) throw this.fail('corrupt', `${this.what}: ${fn.qualified} gets ${describe(storage)} instead of a storage`);
    const shape = this.ints(size, 'tensor size');
    const strides = this.ints(stride, 'tensor stride');
    if (strides.length !== shape.length) {
      throw this.fail('corrupt', `${this.what}: tensor size [${shape}] and stride [${strides}] have different lengths`);
    }
    if (shape.length > 64) throw this.fail('too_large', `${this.what}: tensor has ${shape.length} dimensions`);
    return new TensorRef(storage, explicitDtype ?? storage.dtype, this.count(offset, 'storage offset'), shape, strides);
  }

  private dtypeArg(v: PyValue, fn: PyGlobal): TorchDtype {
    const d = v instanceof PyGlobal ? dtypeGlobal(v.module, v.name) : undefined;
    if (!d) throw this.fail('corrupt', `${this.what}: ${fn.qualified} gets dtype ${describe(v)}`);
    return d;
  }

  private encode(args: readonly PyValue[]): PyBytes {
    // protocol 2 pickles bytes as _codecs.encode(text, 'latin1')
    const [text, encoding] = args;
    if (typeof text !== 'string') throw this.fail('corrupt', `${this.what}: _codecs.encode of ${describe(text)}`);
    const enc = typeof encoding === 'string' ? encoding.toLowerCase().replace(/[-_]/g, '') : 'utf8';
    if (enc === 'latin1' || enc === 'iso88591') {
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c > 0xff) throw this.fail('corrupt', `${this.what}: latin1 text with a character above U+00FF`);
        out[i] = c;
      }
      return new PyBytes(out);
    }
    if (enc === 'utf8' || enc === 'ascii') return new PyBytes(new Uint8Array(Buffer.from(text, 'utf8')));
    throw this.fail('unsupported', `${this.what}: bytes encoded as ${String(encoding)}`);
  }

  private sequence(v: PyValue, what: string): readonly PyValue[] {
    if (v instanceof PyTuple || v instanceof PyList || v instanceof PySet) return v.items;
    throw this.fail('corrupt', `${this.what}: ${what} is ${describe(v)}, not a sequence`);
  }

  private ints(v: PyValue, what: string): number[] {
    return this.sequence(v, what).map((x) => this.count(x, what));
  }

  private count(v: PyValue, what: string): number {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === 'bigint' && v >= 0n) throw this.fail('too_large', `${this.what}: ${what} ${v} is too large`);
    throw this.fail('corrupt', `${this.what}: ${what} is ${describe(v)}, not a non-negative integer`);
  }
}

function maxDepth(items: readonly PyValue[]): number {
  let d = 0;
  for (const i of items) d = Math.max(d, depthOf(i));
  return d;
}

function withDepth<T extends { depth: number }>(v: T, depth: number): T {
  v.depth = depth;
  return v;
}

/** A short description of a value for messages (never its whole content). */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v !== 'object') return String(v);
  if (v instanceof PyGlobal) return v.qualified;
  return `a ${v.constructor.name.replace(/^Py/, '').toLowerCase()}`;
}
