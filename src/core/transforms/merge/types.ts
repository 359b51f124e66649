/** A merge method as a registry entry (in the manner of mergekit's MergeMethod): declared parameters and a per-tensor rule. */
import type { TensorKind } from '../../checkpoint/kind';

export interface ParamDef {
  /** Key in `params` and the CLI flag (--<name>). */
  name: string;
  default: number;
  min?: number;
  max?: number;
  description: string;
}

/** What a method sees for one tensor name. Values are read on demand, one model at a time. */
export interface TensorInputs {
  name: string;
  shape: readonly number[];
  kind: TensorKind;
  /** Number of models being merged (the base not counted). */
  count: number;
  /** Model i's values (float32, a fresh array each call). */
  read(i: number): Promise<Float32Array>;
  /** The base model's values; throws when the method runs without a base. */
  base(): Promise<Float32Array>;
  /** Per-model weights (default 1 each). */
  weights: readonly number[];
  params: Readonly<Record<string, number>>;
  /** Seed for randomized methods (DARE), combined with the tensor name and model index. */
  seed: number;
}

export interface TensorResult {
  values: Float32Array;
  /** Method-specific per-tensor figures for the report (fractions kept, angles, ranks…). */
  figures?: Record<string, number | number[] | boolean>;
}

/** Model-wide statistics a method needs before its results are final (OPCM's norm scaling). */
export interface GlobalPass {
  /** Called with each tensor's first-pass result. */
  accumulate(inputs: TensorInputs, result: TensorResult, extra: Record<string, number>): void;
  /** After every tensor: the function that turns a first-pass result into the final values. */
  finalize(): (values: Float32Array, base: Float32Array) => Float32Array;
}

export interface MergeMethod {
  name: string;
  description: string;
  /** Where its formulas come from (paper and reference code). */
  source: string;
  params: readonly ParamDef[];
  base: 'required' | 'none';
  minModels: number;
  maxModels?: number;
  mergeTensor(inputs: TensorInputs): Promise<TensorResult & { extra?: Record<string, number> }>;
  /** Methods with model-wide state: a fresh one per run. */
  globalPass?(): GlobalPass;
}

export class MergeParameterError extends Error {}
