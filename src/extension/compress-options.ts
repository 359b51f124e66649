/**
 * The Compress… command's choices as data: the criterion and output-form pickers, the value check of the input box,
 * the worker options they make, the equivalent command line, and the summary. No vscode import (unit-tested).
 * Ranges and meanings are the CLI's (src/cli/commands/compress.ts), the key schemes src/core/transforms/compress/README.md.
 */
import * as path from 'node:path';
import { formatCount, formatTable } from '../cli/format-table';
import type { RankCriterion } from '../core/transforms/compress/ranks';
import type { CompressReport, EmitMode } from '../core/transforms/compress/run';
import type { WireCompressOptions } from '../protocol';
import { besideInput, type OutputKind } from './output-paths';

export type CriterionKind = RankCriterion['type'];

export interface CriterionChoice {
  kind: CriterionKind;
  /** QuickPick label. */
  label: string;
  detail: string;
  /** Input box prompt and the value it starts with. */
  prompt: string;
  initial: string;
  /** The CLI flag it stands for. */
  flag: string;
}

export const CRITERIA: readonly CriterionChoice[] = [
  {
    kind: 'rank-reduction',
    label: 'Rank reduction %',
    detail: 'WeLore: one model-wide threshold, solved so that this percentage of all ranks is removed',
    prompt: 'Percentage of all ranks to remove (between 0 and 100)',
    initial: '40',
    flag: '--rank-reduction',
  },
  {
    kind: 'energy',
    label: 'Energy',
    detail: 'Per layer: the smallest rank that keeps this fraction of Σσ²',
    prompt: 'Fraction of the spectral energy Σσ² to keep, in (0, 1]',
    initial: '0.95',
    flag: '--energy',
  },
  {
    kind: 'welore-tau',
    label: 'WeLore τ',
    detail: 'Keep the singular values whose min–max normalised value is at least τ',
    prompt: 'Threshold τ on the min–max normalised singular values, in [0, 1]',
    initial: '0.1',
    flag: '--welore-tau',
  },
];

/** The criterion for the typed value, or why the value is not one (the input box shows it). */
export function parseCriterion(kind: CriterionKind, text: string): { criterion: RankCriterion } | { error: string } {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) return { error: 'enter a number' };
  if (kind === 'rank-reduction') {
    if (!(value > 0 && value < 100)) return { error: 'a percentage between 0 and 100 (both excluded)' };
    return { criterion: { type: 'rank-reduction', fraction: value / 100 } };
  }
  if (kind === 'energy') {
    if (!(value > 0 && value <= 1)) return { error: 'a fraction in (0, 1], e.g. 0.95' };
    return { criterion: { type: 'energy', fraction: value } };
  }
  if (!(value >= 0 && value <= 1)) return { error: 'τ is in [0, 1]' };
  return { criterion: { type: 'welore-tau', tau: value } };
}

export interface EmitChoice {
  emit: EmitMode;
  /** QuickPick label: the CLI's --emit value. */
  label: EmitMode;
  description: string;
  /** Where the output goes: a file with this extension, or a folder. */
  output: OutputKind;
  /** The default name beside the input: suffix and extension. */
  suffix: string;
  ext: string;
}

const EMITS: readonly EmitChoice[] = [
  { emit: 'factorized', label: 'factorized', description: 'W ≈ U·V: two smaller tensors per compressed layer (.safetensors)', output: { file: ['.safetensors'] }, suffix: '-compressed', ext: '.safetensors' },
  { emit: 'dense', label: 'dense', description: 'W replaced by its rank-r approximation under the same key: a drop-in model (.safetensors)', output: { file: ['.safetensors'] }, suffix: '-compressed', ext: '.safetensors' },
  { emit: 'lora', label: 'lora', description: 'PEFT LoRA adapter plus the residual base model (a folder)', output: { folder: true }, suffix: '-lora', ext: '' },
  { emit: 'onnx', label: 'onnx', description: 'the same ONNX graph, each compressed MatMul/Gemm/Conv split in two, checked in onnxruntime', output: { file: ['.onnx'] }, suffix: '-compressed', ext: '.onnx' },
];

/** An ONNX checkpoint (by name: the readers sniff content, but the menu must decide before opening the file). */
export function isOnnxPath(file: string): boolean {
  return path.extname(file).toLowerCase() === '.onnx';
}

/** Output forms for this input: `onnx` only for ONNX models, offered first for them. */
export function emitChoices(input: string): EmitChoice[] {
  const onnx = isOnnxPath(input);
  const choices = EMITS.filter((e) => onnx || e.emit !== 'onnx');
  return onnx ? [choices[choices.length - 1], ...choices.slice(0, -1)] : choices;
}

export function defaultCompressOutput(input: string, emit: EmitChoice, exists?: (p: string) => boolean): string {
  return besideInput(input, emit.suffix, emit.ext, exists);
}

/** Worker options (the CLI's defaults for everything the command does not ask). `force` only when the user agreed to replace `out`. */
export function compressOptions(criterion: RankCriterion, emit: EmitMode, force: boolean): WireCompressOptions {
  return { criterion, emit, minRatio: 0, force };
}

/** The command line that does the same (written to the log so the job can be repeated from a terminal). */
export function compressCommandLine(input: string, out: string, kind: CriterionKind, value: string, emit: EmitMode, force: boolean): string[] {
  const flag = CRITERIA.find((c) => c.kind === kind)!.flag;
  return ['compress', input, '--out', out, flag, value.trim(), '--emit', emit, ...(force ? ['--force'] : [])];
}

/** Shell-quoted, for the log. */
export function shellLine(argv: readonly string[]): string {
  return ['weight-spectra', ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3));

/** One line for the notification: what was written, parameters before → after, the worst relative error. */
export function compressSummary(r: CompressReport): string {
  const t = r.totals;
  const worst = r.layers.reduce((m, l) => Math.max(m, l.rel_error), 0);
  const compressed = r.layers.filter((l) => l.compressed);
  const kept = compressed.reduce((a, l) => a + l.rank, 0);
  const full = compressed.reduce((a, l) => a + l.full_rank, 0);
  const percent = (after: number, before: number) => (before ? (100 * (1 - after / before)).toFixed(1) : '0.0');
  let size: string;
  if (r.emit === 'dense') {
    size = `same shapes and parameter count (${formatCount(t.params_before)}), rank-limited`;
  } else if (r.emit === 'lora') {
    // The base holds the residual at full size; the adapter is what the rank decides.
    const before = compressed.reduce((a, l) => a + l.params_before, 0);
    const after = compressed.reduce((a, l) => a + l.params_after, 0);
    size = `adapter of ${formatCount(after)} parameters for layers of ${formatCount(before)} (${percent(after, before)} % fewer), residual base beside it`;
  } else {
    size = `parameters ${formatCount(t.params_before)} → ${formatCount(t.params_after)} (${percent(t.params_after, t.params_before)} % fewer)`;
  }
  if (compressed.length === 0) {
    const reasons = new Map<string, number>();
    for (const l of r.layers) reasons.set(l.reason ?? 'unchanged', (reasons.get(l.reason ?? 'unchanged') ?? 0) + 1);
    const why = [...reasons].map(([reason, n]) => `${reason} ×${n}`).join('; ');
    return `Wrote ${path.basename(r.output)}, but none of the ${t.layers} weight matrices of ${path.basename(r.input)} was compressed (${why}): ask for a stronger reduction.`;
  }
  let text =
    `Compressed ${path.basename(r.input)} → ${path.basename(r.output)} (${r.emit}): ${t.compressed_layers} of ${t.layers} weight matrices` +
    `${full ? ` (ranks ${formatCount(kept)} of ${formatCount(full)} kept)` : ''}, ${size}, worst rel_error ${fmt(worst)}.`;
  if (r.onnx_check && 'outputs' in r.onnx_check) {
    const worstOut = r.onnx_check.outputs.reduce((m, o) => Math.max(m, o.rel_error), 0);
    text += ` onnxruntime check: output rel_error ${fmt(worstOut)}.`;
  } else if (r.onnx_check) {
    text += ` onnxruntime check not run: ${r.onnx_check.error}`;
  }
  return text;
}

/** The per-layer table for the log (the CLI's columns). */
export function compressLogTable(r: CompressReport): string {
  const rows = r.layers.map((l) => [
    l.name,
    l.shape.join('×'),
    l.compressed ? `${l.rank}/${l.full_rank}` : `kept (${l.reason ?? 'unchanged'})`,
    formatCount(l.params_before),
    formatCount(l.params_after),
    l.compressed ? l.rel_error.toFixed(4) : '',
  ]);
  return formatTable(['layer', 'shape', 'rank', 'params before', 'params after', 'rel_error'], rows, new Set([3, 4, 5]));
}
