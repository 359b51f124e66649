/** Chooses how to build the permutation spec: --spec auto|mlp|cnn|transformer or a spec file. */
import { guessKind } from '../../../checkpoint/kind';
import type { FormatId } from '../../../checkpoint/types';
import { inferCnnSpec, inferMlpSpec, type InferredSpec } from './cnn';
import type { TensorShape } from './layers';
import { inferTransformerSpec, type TransformerOptions } from './transformer';

export type SpecKind = 'auto' | 'mlp' | 'cnn' | 'transformer';
export type { InferredSpec } from './cnn';

/** auto: attention weights by name → transformer; any kernel of rank ≥ 3 → cnn; otherwise mlp. */
export function chooseSpecKind(tensors: readonly TensorShape[]): Exclude<SpecKind, 'auto'> {
  const kinds = tensors.map((t) => guessKind(t.name, t.shape));
  if (kinds.some((k) => k === 'attention_q' || k === 'attention_qkv')) return 'transformer';
  if (tensors.some((t) => t.shape.length >= 3) || kinds.includes('recurrent')) return 'cnn';
  return 'mlp';
}

export function inferSpec(kind: SpecKind, tensors: readonly TensorShape[], format: FormatId, opts: TransformerOptions = {}): InferredSpec & { kind: Exclude<SpecKind, 'auto'> } {
  const k = kind === 'auto' ? chooseSpecKind(tensors) : kind;
  const r = k === 'mlp' ? inferMlpSpec(tensors, format) : k === 'cnn' ? inferCnnSpec(tensors, format) : inferTransformerSpec(tensors, format, opts);
  return { ...r, kind: k };
}
