import type { ElementType } from '../../../tensor/dtype';

/** A torch dtype: canonical name (as `str(dtype)` without `torch.`), element size, and how we decode it. */
export interface TorchDtype {
  readonly name: string;
  readonly size: number;
  /** Undefined for dtypes we list but cannot decode (complex, quantized). */
  readonly element?: ElementType;
}

function dt(name: string, size: number, element?: ElementType): TorchDtype {
  return { name, size, element };
}

/** torch dtypes by canonical name (torch/_C/_VariableFunctions: torch.float32 ...; c10/core/ScalarType.h sizes). */
export const TORCH_DTYPES: ReadonlyMap<string, TorchDtype> = new Map(
  [
    dt('float64', 8, 'float64'),
    dt('float32', 4, 'float32'),
    dt('float16', 2, 'float16'),
    dt('bfloat16', 2, 'bfloat16'),
    dt('float8_e4m3fn', 1, 'float8_e4m3fn'),
    dt('float8_e5m2', 1, 'float8_e5m2'),
    dt('float8_e4m3fnuz', 1),
    dt('float8_e5m2fnuz', 1),
    dt('float8_e8m0fnu', 1),
    dt('int64', 8, 'int64'),
    dt('int32', 4, 'int32'),
    dt('int16', 2, 'int16'),
    dt('int8', 1, 'int8'),
    dt('uint64', 8, 'uint64'),
    dt('uint32', 4, 'uint32'),
    dt('uint16', 2, 'uint16'),
    dt('uint8', 1, 'uint8'),
    dt('bool', 1, 'bool'),
    dt('complex32', 4),
    dt('complex64', 8),
    dt('complex128', 16),
    dt('quint8', 1),
    dt('qint8', 1),
    dt('qint32', 4),
    dt('quint4x2', 1),
    dt('quint2x4', 1),
  ].map((d) => [d.name, d]),
);

/** Legacy storage classes (`torch.FloatStorage`, ...) and the dtype of their elements (torch/storage.py). */
const STORAGE_CLASS_DTYPES: Readonly<Record<string, string>> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
  QUInt8Storage: 'quint8',
  QInt8Storage: 'qint8',
  QInt32Storage: 'qint32',
  QUInt4x2Storage: 'quint4x2',
  QUInt2x4Storage: 'quint2x4',
};

/** `torch.UntypedStorage` counts bytes; tensors over it carry their dtype separately (_rebuild_tensor_v3). */
export const UNTYPED_STORAGE: TorchDtype = dt('uint8', 1, 'uint8');

/** Modules whose storage classes appear in persistent ids: CPU and (legacy) CUDA checkpoints. */
const STORAGE_MODULES = new Set(['torch', 'torch.cuda', 'torch.storage']);

/** The element dtype of a storage class global, or undefined if it is not one. */
export function storageClassDtype(module: string, name: string): TorchDtype | undefined {
  if (!STORAGE_MODULES.has(module)) return undefined;
  if (name === 'UntypedStorage') return UNTYPED_STORAGE;
  const d = STORAGE_CLASS_DTYPES[name];
  return d ? TORCH_DTYPES.get(d) : undefined;
}

/** Whether `module.name` is a storage class global (including TypedStorage, which has no fixed dtype). */
export function isStorageClass(module: string, name: string): boolean {
  return storageClassDtype(module, name) !== undefined || (STORAGE_MODULES.has(module) && name === 'TypedStorage');
}

/** `torch.<dtype>` globals (a pickled dtype is the global of its name). */
export function dtypeGlobal(module: string, name: string): TorchDtype | undefined {
  return module === 'torch' ? TORCH_DTYPES.get(name) : undefined;
}

/** The spelling reference.json and `str(tensor.dtype)` use: torch.float16. */
export function storedDtypeName(d: TorchDtype): string {
  return `torch.${d.name}`;
}
