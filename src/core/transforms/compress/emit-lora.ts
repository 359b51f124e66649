import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from '../../checkpoint/types';
import type { GramBackend } from '../../linalg/spectrum';
import { SafetensorsFileWriter, type TensorSpec } from '../../writers/safetensors-writer';
import { CancelledWriteError, OutputError, type OutputPolicy, StagedOutputs } from '../../writers/staged-outputs';
import { type CompressLayerResult, compressedRow, factorizeLayer, type LayerWork, outputDtype, type SvdChoice, unchangedRow } from './layers';
import { reconstruct } from './truncated-svd';

export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const ADAPTER_CONFIG = 'adapter_config.json';
export const RESIDUAL_BASE = 'model.safetensors';

/** Formats whose 2-D kernels are stored [in, out] (TF Dense), the transpose of PyTorch's Linear [out, in]. */
const IN_OUT_FORMATS = new Set(['tfjs', 'keras-h5']);

/** PEFT's module name for a weight: the key without its trailing `.weight`. */
export function loraModuleName(tensor: string): string {
  return tensor.replace(/\.weight$/, '');
}

export interface LoraEmitOptions extends OutputPolicy {
  manifest: (layers: readonly CompressLayerResult[]) => Record<string, unknown>;
  gram?: GramBackend;
  svd?: SvdChoice;
  /** Called after each compressed layer's factors are computed. */
  onFactorized?: (name: string) => void;
}

/** Which layers PEFT can hold: Linear [out, in] and Conv [out, in, k…] (lora_A a conv with W's kernel, lora_B a 1×1 conv). */
export function loraAdaptable(l: LayerWork, format: string): string | undefined {
  const kind = l.layout?.kind;
  if (kind === 'matrix') return undefined;
  if (kind === 'conv-oi' && !IN_OUT_FORMATS.has(format)) return undefined;
  if (kind === 'conv-hwio') return 'TF-layout convolution: no PEFT LoRA layout';
  if (kind === 'stacked-one') return 'stacked recurrent weights: no PEFT LoRA layout';
  return `not a layer PEFT adapts (${format})`;
}

/**
 * A PEFT LoRA adapter in PiSSA's split (Meng et al. 2024, "PiSSA: Principal Singular Values and Singular Vectors
 * Adaptation"): the adapter holds each compressed layer's principal part B·A = U_r·S_r·V_rᵀ (B = U√S = lora_B,
 * A = √S·Vᵀ = lora_A, lora_alpha = r so PEFT's scaling α/r is 1), and `model.safetensors` beside it is the residual
 * base W − U_r·S_r·V_rᵀ (other tensors unchanged). PEFT's forward W_base·x + B·A·x then computes exactly the input
 * model; the adapter alone is the rank-r compression of each layer (what `--emit dense` writes), and fine-tuning it
 * over the frozen residual is PiSSA. Keys: `base_model.model.<module>.lora_A.weight` / `lora_B.weight`, PEFT's
 * save format; <module> = the tensor key without `.weight`.
 */
export async function emitLora(ck: Checkpoint, layers: readonly LayerWork[], outDir: string, opts: LoraEmitOptions): Promise<{ files: string[]; rows: CompressLayerResult[] }> {
  const transpose = IN_OUT_FORMATS.has(ck.format);
  const adapted = layers.filter((l) => l.decision?.compressed && !loraAdaptable(l, ck.format));
  for (const l of layers) {
    const why = l.decision?.compressed ? loraAdaptable(l, ck.format) : undefined;
    if (why) l.decision = { ...l.decision!, compressed: false, reason: why };
  }
  const adapterSpecs: TensorSpec[] = [];
  for (const l of adapted) {
    const r = l.decision!.rank;
    const lay = l.layout!;
    const dtype = outputDtype(l.info.dtype);
    const mod = `base_model.model.${loraModuleName(l.info.name)}`;
    const spatial = lay.shape.slice(2).map(() => 1);
    // PyTorch orientation: W[out, in(, k…)] ≈ lora_B[out, r(, 1…)] · lora_A[r, in(, k…)].
    const [outDim, inDims] = transpose ? [lay.cols, [lay.rows]] : [lay.rows, lay.shape.slice(1)];
    adapterSpecs.push({ name: `${mod}.lora_A.weight`, dtype, shape: [r, ...inDims] });
    adapterSpecs.push({ name: `${mod}.lora_B.weight`, dtype, shape: [outDim, r, ...spatial] });
  }
  const baseSpecs: TensorSpec[] = layers.map((l) => ({ name: l.info.name, dtype: outputDtype(l.info.dtype), shape: [...l.info.shape] }));

  const modules = adapted.map((l) => loraModuleName(l.info.name));
  const ranks = Object.fromEntries(adapted.map((l) => [loraModuleName(l.info.name), l.decision!.rank]));
  const maxRank = Math.max(1, ...adapted.map((l) => l.decision!.rank));
  const config = {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: path.resolve(ck.path),
    revision: null,
    inference_mode: true,
    r: maxRank,
    lora_alpha: maxRank,
    rank_pattern: ranks,
    alpha_pattern: ranks,
    target_modules: modules,
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    modules_to_save: null,
  };

  let createdDir = false;
  if (!fs.existsSync(outDir)) {
    if (!fs.existsSync(path.dirname(path.resolve(outDir)))) throw new OutputError(outDir, `folder ${path.dirname(path.resolve(outDir))} does not exist`);
    if (opts.signal?.aborted) throw new CancelledWriteError(outDir);
    fs.mkdirSync(outDir);
    createdDir = true;
  } else if (!fs.statSync(outDir).isDirectory()) {
    throw new OutputError(outDir, 'is a file; --emit lora writes a folder (adapter + residual base)');
  }
  const outputs = new StagedOutputs({ ...opts, inputs: [...(opts.inputs ?? []), ...ck.files] });
  const target = (f: string) => path.join(outDir, f);
  for (const f of [ADAPTER_WEIGHTS, RESIDUAL_BASE, ADAPTER_CONFIG, 'compress.json']) outputs.check(target(f));
  const rows = new Map<LayerWork, CompressLayerResult>();
  try {
    const files = await outputs.run(async () => {
      const meta = { 'weight_spectra.compress': JSON.stringify(opts.manifest([])) };
      const adapter = await SafetensorsFileWriter.open(outputs, target(ADAPTER_WEIGHTS), adapterSpecs, { format: 'pt', ...meta });
      const base = await SafetensorsFileWriter.open(outputs, target(RESIDUAL_BASE), baseSpecs, { format: 'pt', ...meta });
      for (const l of layers) {
        await outputs.checkCancel(outDir);
        if (!adapted.includes(l)) {
          if (l.layout) rows.set(l, unchangedRow(l));
          await base.write(await ck.read(l.info.name));
          continue;
        }
        const f = await factorizeLayer(ck, l, opts.gram, opts.svd, opts.onFactorized);
        const r = l.decision!.rank;
        rows.set(l, compressedRow(l, f, r * (l.layout!.rows + l.layout!.cols)));
        const { left, right, rows: m, cols: n } = f.factors;
        // stored W[m, n] ≈ left[m, r]·right[r, n]; TF [in, out] kernels: W_torch = Wᵀ ≈ rightᵀ·leftᵀ.
        if (transpose) {
          await adapter.write(transposed(left, m, r));
          await adapter.write(transposed(right, r, n));
        } else {
          await adapter.write(right);
          await adapter.write(left);
        }
        const approx = reconstruct(f.factors);
        for (let i = 0; i < approx.length; i++) approx[i] = f.w[i] - approx[i];
        await base.write(approx);
      }
      adapter.finish();
      base.finish();
      const result = layers.filter((l) => l.layout).map((l) => rows.get(l) ?? unchangedRow(l));
      await (await outputs.open(target(ADAPTER_CONFIG))).write(Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
      await (await outputs.open(target('compress.json'))).write(Buffer.from(`${JSON.stringify(opts.manifest(result), null, 2)}\n`));
    });
    return { files, rows: layers.filter((l) => l.layout).map((l) => rows.get(l) ?? unchangedRow(l)) };
  } catch (e) {
    if (createdDir) fs.rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
}

function transposed(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}
