/** Reading the parameter tensors of a checkpoint into memory, and checking that two checkpoints share an architecture. */
import type { Checkpoint, TensorInfo } from '../../checkpoint/types';
import type { HeldTensor } from './tensor';

/** Integer tensors are shapes, indices and counters, not parameters (the rule of `inspect`). */
const NON_PARAMETER_DTYPES = new Set(['int64', 'int32', 'int16', 'uint64', 'uint32', 'uint16', 'bool']);

export function isParameter(t: TensorInfo): boolean {
  return !NON_PARAMETER_DTYPES.has(t.dtype);
}

export class ArchitectureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchitectureError';
  }
}

/** Same parameter tensors (names, shapes) in both: the first difference, in A's file order, is named. */
export function assertSameArchitecture(a: Checkpoint, b: Checkpoint): void {
  const inB = new Map(b.tensors.filter(isParameter).map((t) => [t.name, t]));
  const pa = a.tensors.filter(isParameter);
  for (const t of pa) {
    const u = inB.get(t.name);
    if (!u) throw new ArchitectureError(`different architectures: tensor "${t.name}" of ${a.path} is not in ${b.path}`);
    if (u.shape.length !== t.shape.length || u.shape.some((d, i) => d !== t.shape[i])) {
      throw new ArchitectureError(
        `different architectures: tensor "${t.name}" is ${JSON.stringify(t.shape)} in ${a.path} but ${JSON.stringify(u.shape)} in ${b.path}`,
      );
    }
  }
  if (pa.length !== inB.size) {
    const names = new Set(pa.map((t) => t.name));
    const extra = [...inB.keys()].find((n) => !names.has(n));
    throw new ArchitectureError(`different architectures: tensor "${extra}" of ${b.path} is not in ${a.path}`);
  }
}

/** Every parameter tensor, decoded to float32, in file order. */
export async function loadParameters(ckpt: Checkpoint): Promise<Map<string, HeldTensor>> {
  const out = new Map<string, HeldTensor>();
  for (const t of ckpt.tensors) {
    if (!isParameter(t)) continue;
    out.set(t.name, { shape: [...t.shape], data: (await ckpt.read(t.name, 'float32')) as Float32Array });
  }
  return out;
}
