/**
 * The Merge… command's choices as data: the methods of the registry with their parameters' defaults, the parameter
 * line the user edits (`density=0.5 lambda=1 weights=1,1`), the input checks of the merge job, the equivalent command
 * line and the summary. No vscode import (unit-tested).
 */
import { formatFigure } from '../core/report/format-figure';
import * as path from 'node:path';
import { formatTable } from '../cli/format-table';
import { MERGE_METHODS, REBASIN, resolveParams } from '../core/transforms/merge/registry';
import type { MergeReport } from '../core/transforms/merge/run-merge';
import type { ParamDef } from '../core/transforms/merge/types';
import type { WireMergeOptions } from '../protocol';
import { isOnnxPath } from './compress-options';
import { besideInput } from './output-paths';

/** What the pickers need to know of a method (a MergeMethod, or REBASIN). */
export interface MethodDecl {
  name: string;
  description: string;
  params: readonly ParamDef[];
  base: 'required' | 'none';
  minModels: number;
  maxModels?: number;
}

/** Methods whose rule reads the per-model weights (src/core/transforms/merge/methods: linear, task arithmetic, TIES, DARE); rebasin with more than two models. */
const WEIGHTED = new Set(['linear', 'task-arithmetic', 'ties', 'dare']);

export const METHODS: readonly MethodDecl[] = [...MERGE_METHODS.values(), REBASIN];

export function methodByName(name: string): MethodDecl | undefined {
  return METHODS.find((m) => m.name === name);
}

export function usesWeights(method: MethodDecl, models: number): boolean {
  return WEIGHTED.has(method.name) || (method.name === REBASIN.name && models > 2);
}

function modelCountText(m: MethodDecl): string {
  if (m.maxModels !== undefined && m.maxModels === m.minModels) return `exactly ${m.minModels} models`;
  return `${m.minModels}+ model${m.minModels === 1 ? '' : 's'}`;
}

/** QuickPick item of a method: its name, what it does, its parameters with their defaults. */
export function methodItem(m: MethodDecl): { label: string; description: string; detail: string } {
  const params = m.params.map((p) => `${p.name} = ${p.default}`);
  if (WEIGHTED.has(m.name)) params.push('weights = 1 each');
  return { label: m.name, description: m.description, detail: [...params, m.base === 'required' ? 'needs a base model' : '', modelCountText(m)].filter(Boolean).join(' · ') };
}

/** Why these inputs cannot be merged with `m` (the merge job's own checks, before the worker starts). */
export function mergeInputsProblem(m: MethodDecl, inputs: readonly string[], base: string | undefined): string | undefined {
  if (inputs.length < m.minModels) return `${m.name} needs at least ${m.minModels} model${m.minModels === 1 ? '' : 's'} besides the base, got ${inputs.length}`;
  if (m.maxModels !== undefined && inputs.length > m.maxModels) return `${m.name} merges exactly ${m.maxModels} models, got ${inputs.length}`;
  if (m.base === 'required' && !base) return `${m.name} needs a base model (the one the others were fine-tuned from)`;
  if (m.base === 'none' && base) return `${m.name} takes no base model`;
  if (base && inputs.some((i) => path.resolve(i) === path.resolve(base))) return `the base ${path.basename(base)} is also one of the models to merge`;
  return undefined;
}

/** The parameter line the input box starts with: every parameter at its default, and equal weights where used. */
export function defaultParameterText(m: MethodDecl, models: number): string {
  const parts = m.params.map((p) => `${p.name}=${p.default}`);
  if (usesWeights(m, models)) parts.push(`weights=${Array.from({ length: models }, () => '1').join(',')}`);
  return parts.join(' ');
}

/** What each key of the parameter line means, for the input box's prompt. */
export function parameterPrompt(m: MethodDecl, models: number): string {
  const parts = m.params.map((p) => `${p.name}: ${p.description}${p.min !== undefined || p.max !== undefined ? ` (${p.min ?? '−∞'}…${p.max ?? '∞'})` : ''}`);
  if (usesWeights(m, models)) parts.push(`weights: one number per model, in the order chosen`);
  return parts.join('; ');
}

export interface MergeParameters {
  params: Record<string, number>;
  weights?: number[];
}

/** `name=value` pairs separated by spaces (or ;) → parameters, range-checked as the merge job checks them. */
export function parseMergeParameters(text: string, m: MethodDecl, models: number): MergeParameters | { error: string } {
  const params: Record<string, number> = {};
  let weights: number[] | undefined;
  const known = new Set(m.params.map((p) => p.name));
  const number = (key: string, v: string): number | string => {
    const n = Number(v);
    return v.trim() === '' || !Number.isFinite(n) ? `${key} needs a number, got "${v}"` : n;
  };
  for (const token of text.split(/[\s;]+/).filter(Boolean)) {
    const eq = token.indexOf('=');
    if (eq <= 0) return { error: `"${token}" is not name=value` };
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === 'weights' && usesWeights(m, models)) {
      const ws = value.split(',').map((v) => number('weights', v));
      const bad = ws.find((w) => typeof w === 'string');
      if (bad !== undefined) return { error: bad as string };
      if (ws.length !== models) return { error: `weights needs ${models} values (one per model), got ${ws.length}` };
      weights = ws as number[];
    } else if (known.has(key)) {
      const n = number(key, value);
      if (typeof n === 'string') return { error: n };
      params[key] = n;
    } else {
      const allowed = [...known, ...(usesWeights(m, models) ? ['weights'] : [])];
      return { error: `${m.name} has no parameter "${key}"${allowed.length ? ` (it takes ${allowed.join(', ')})` : ''}` };
    }
  }
  try {
    resolveParams(m, params);
  } catch (e) {
    return { error: (e as Error).message.replace(/--/g, '') };
  }
  return { params, ...(weights ? { weights } : {}) };
}

/** `.onnx` when every input is an ONNX model (the merged model keeps the graph), else `.safetensors`. */
export function mergeOutputExtensions(inputs: readonly string[]): string[] {
  return inputs.every(isOnnxPath) ? ['.onnx', '.safetensors'] : ['.safetensors'];
}

export function defaultMergeOutput(inputs: readonly string[], method: string, exists?: (p: string) => boolean): string {
  return besideInput(inputs[0], `-${method}`, mergeOutputExtensions(inputs)[0], exists);
}

export function mergeOptions(method: string, out: string, base: string | undefined, p: MergeParameters, force: boolean): WireMergeOptions {
  return { method, out, ...(base ? { base } : {}), params: p.params, ...(p.weights ? { weights: p.weights } : {}), force };
}

/** The command line that does the same, for the log. */
export function mergeCommandLine(inputs: readonly string[], o: WireMergeOptions): string[] {
  const argv = ['merge', ...inputs, '--out', o.out, '--method', o.method];
  if (o.base) argv.push('--base', o.base);
  for (const [k, v] of Object.entries(o.params ?? {})) argv.push(`--${k}`, String(v));
  if (o.weights) argv.push('--weights', o.weights.join(','));
  if (o.force) argv.push('--force');
  return argv;
}

export function mergeSummary(r: MergeReport): string {
  const params = Object.entries(r.params).map(([k, v]) => `${k} = ${v}`);
  return (
    `Merged ${r.inputs.map((i) => path.basename(i)).join(', ')} with ${r.method}${params.length ? ` (${params.join(', ')})` : ''}` +
    `${r.base ? ` on base ${path.basename(r.base)}` : ''} → ${r.files.map((f) => path.basename(f)).join(', ')}: ${r.layers.length} tensors.`
  );
}

const fmt = formatFigure;

export function mergeLogTable(r: MergeReport): string {
  const rows = r.layers.map((l) => [l.name, `[${l.shape.join(', ')}]`, fmt(l.norm), l.distance_to_inputs.map(fmt).join(' ')]);
  return formatTable(['tensor', 'shape', '‖merged‖', '‖merged − input i‖'], rows, new Set([2]));
}
