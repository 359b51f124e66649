import * as path from 'node:path';
import { openCheckpoint } from '../../checkpoint/registry';
import type { GramBackend } from '../../linalg/spectrum';
import { createOrtGram } from '../../linalg/ort/gram-session';
import { OutputError } from '../../writers/staged-outputs';
import { emitLora } from './emit-lora';
import { emitOnnx } from './emit-onnx';
import { emitSafetensors } from './emit-safetensors';
import { JobCancelledError } from '../../cancel';
import { type CompressLayerResult, planCompression, type SvdChoice } from './layers';
import { compareOnnxOutputs, type OnnxCheck, OnnxCheckError, sampleInputs } from './onnx-check';
import type { RankCriterion } from './ranks';

export type EmitMode = 'factorized' | 'dense' | 'lora' | 'onnx';

export interface CompressOptions {
  criterion: RankCriterion;
  /** A layer is compressed only when its rank reduction exceeds this (WeLore's LRC test; default 0). */
  minRatio?: number;
  emit: EmitMode;
  filter?: RegExp;
  force?: boolean;
  /** factorized/dense: > 0 writes a sharded Hugging Face folder. */
  shardBytes?: number;
  /** How factors are computed (default exact; auto = randomized for large low ranks, checked). */
  svd?: SvdChoice;
  /** Largest min(m, n) factorised (default 4096). */
  maxSide?: number;
  /** onnx: inputs for the output check (.npz), else random inputs of these shapes. */
  onnxInputs?: string;
  inputShapes?: Record<string, number[]>;
  seed?: number;
  /** onnx: put Ŵ in place of every compressed weight instead of splitting its readers (same numbers, for checks). */
  onnxDenseOnly?: boolean;
  /** onnx: run both models in onnxruntime and compare (default true). */
  check?: boolean;
  signal?: { readonly aborted: boolean };
  onProgress?: (phase: 'spectra' | 'write', done: number, total: number, name: string) => void;
  /** Gram products through onnxruntime (default) or the TypeScript loops. */
  useOrt?: boolean;
}

export interface CompressReport {
  input: string;
  format: string;
  output: string;
  emit: EmitMode;
  criterion: RankCriterion;
  /** WeLore τ (rank-reduction, welore-tau). */
  tau?: number;
  min_ratio: number;
  files: string[];
  layers: CompressLayerResult[];
  totals: { layers: number; compressed_layers: number; params_before: number; params_after: number };
  onnx_check?: OnnxCheck | { error: string };
  /** ONNX: how each compressed weight went into the graph. */
  onnx_placements?: Record<string, { placement: 'split' | 'dense'; why?: string }>;
}

/** What the key scheme of each emit mode is, written into the manifest. */
export const KEY_SCHEMES: Readonly<Record<EmitMode, string>> = {
  factorized:
    'W ≈ <name>.U · <name>.V: U = U_r·√S_r with shape [...shape[:split], r], V = √S_r·V_rᵀ with shape [r, ...shape[split:]]; ' +
    'split = 1 for [out, in] and conv [out, in, k…] (V is a conv kernel, U a 1×1 conv), 3 for TF conv [kh, kw, in, out], ' +
    '2 for ONNX [1, gates·H, in]; tensors left dense keep their key',
  dense: 'each compressed W is replaced under its own key by its rank-r truncated SVD U_r·S_r·V_rᵀ (same shape and dtype)',
  lora:
    'PEFT LoRA, PiSSA split: adapter_model.safetensors base_model.model.<module>.lora_B.weight · lora_A.weight = U_r·S_r·V_rᵀ ' +
    '(lora_alpha = r: scaling 1); model.safetensors is the residual base W − U_r·S_r·V_rᵀ, so base + adapter = W',
  onnx: 'compressed MatMul/Gemm/Conv weights W become <W>.U and <W>.V read by two nodes; weights with other readers hold U_r·S_r·V_rᵀ in place',
};

/**
 * Compresses a checkpoint: spectra of every weight matrix, ranks by the criterion, then the truncated SVD of each
 * compressed layer written in the chosen form. Memory stays at a few tensors (the spectra pass keeps only eigenvalues).
 */
export async function compressCheckpoint(input: string, out: string, opts: CompressOptions): Promise<CompressReport> {
  const ck = await openCheckpoint(input);
  let release: (() => Promise<void>) | undefined;
  try {
    if (opts.emit === 'onnx' && ck.format !== 'onnx') {
      throw new OutputError(out, `--emit onnx needs an ONNX model; ${input} is ${ck.format} (use factorized, dense or lora)`);
    }
    if (opts.emit === 'lora' && (opts.shardBytes ?? 0) > 0) throw new OutputError(out, '--emit lora writes one residual file; --shard-size is not supported with it');
    for (const f of ck.files) {
      if (path.resolve(f) === path.resolve(out)) throw new OutputError(out, 'is one of the input files; refusing to write over it');
    }
    let gram: GramBackend | undefined;
    if (opts.useOrt !== false) {
      try {
        const g = await createOrtGram('cpu');
        gram = g.backend;
        release = () => g.release();
      } catch {
        gram = undefined; // the TypeScript Gram is exact too, only slower
      }
    }
    const minRatio = opts.minRatio ?? 0;
    const shouldStop = () => opts.signal?.aborted === true;
    const { layers, tau } = await planCompression(ck, {
      criterion: opts.criterion,
      minRatio,
      filter: opts.filter,
      maxSide: opts.maxSide ?? 4096,
      gram,
      shouldStop,
      onProgress: (d, t, n) => opts.onProgress?.('spectra', d, t, n),
    });
    if (shouldStop()) throw new JobCancelledError();
    const manifest = (rows: readonly CompressLayerResult[]) => ({
      tool: 'weight-spectra compress',
      source: path.basename(input),
      emit: opts.emit,
      criterion: opts.criterion,
      ...(tau !== undefined ? { tau } : {}),
      min_ratio: minRatio,
      key_scheme: KEY_SCHEMES[opts.emit],
      layers: rows.map((r) => ({ name: r.name, shape: r.shape, rank: r.rank, full_rank: r.full_rank, compressed: r.compressed, rel_error: r.rel_error })),
    });
    const toWrite = layers.filter((l) => l.decision?.compressed).length;
    let factored = 0;
    const onFactorized = (name: string) => opts.onProgress?.('write', ++factored, toWrite, name);
    const policy = { force: opts.force, signal: opts.signal, svd: opts.svd, onFactorized };
    let written: { files: string[]; rows: CompressLayerResult[] };
    let placements: CompressReport['onnx_placements'];
    if (opts.emit === 'lora') written = await emitLora(ck, layers, out, { ...policy, manifest, gram });
    else if (opts.emit === 'onnx') {
      const r = await emitOnnx(ck, layers, out, { ...policy, manifest, gram, denseOnly: opts.onnxDenseOnly });
      written = r;
      placements = Object.fromEntries(r.placements);
    } else written = await emitSafetensors(ck, layers, out, { ...policy, mode: opts.emit, shardBytes: opts.shardBytes, manifest, gram });

    const report: CompressReport = {
      input: path.resolve(input),
      format: ck.format,
      output: path.resolve(out),
      emit: opts.emit,
      criterion: opts.criterion,
      ...(tau !== undefined ? { tau } : {}),
      min_ratio: minRatio,
      files: written.files,
      layers: written.rows,
      totals: {
        layers: written.rows.length,
        compressed_layers: written.rows.filter((r) => r.compressed).length,
        params_before: written.rows.reduce((a, r) => a + r.params_before, 0),
        params_after: written.rows.reduce((a, r) => a + r.params_after, 0),
      },
      ...(placements ? { onnx_placements: placements } : {}),
    };
    if (opts.emit === 'onnx' && opts.check !== false) {
      // A model that cannot run on the sample inputs is reported, not fatal: the output is written and valid.
      try {
        const feeds = await sampleInputs(input, opts.onnxInputs, opts.inputShapes, opts.seed ?? 0);
        report.onnx_check = await compareOnnxOutputs(input, out, feeds);
      } catch (e) {
        if (!(e instanceof OnnxCheckError)) throw e;
        report.onnx_check = { error: e.message };
      }
    }
    return report;
  } finally {
    await release?.();
    await ck.close();
  }
}
