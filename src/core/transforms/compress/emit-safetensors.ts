import * as path from 'node:path';
import type { Checkpoint } from '../../checkpoint/types';
import type { GramBackend } from '../../linalg/spectrum';
import { type TensorSpec, writeSafetensorsModel } from '../../writers/safetensors-writer';
import type { OutputPolicy } from '../../writers/staged-outputs';
import { leftShape, rightShape } from './factor-layout';
import { type CompressLayerResult, compressedRow, factorizeLayer, type Factorized, type LayerWork, outputDtype, type SvdChoice, unchangedRow } from './layers';
import { reconstruct } from './truncated-svd';

/** Suffixes of the two factors of a factorized tensor `<name>`: W ≈ `<name>.U` · `<name>.V` (see factor-layout.ts). */
export const LEFT_SUFFIX = '.U';
export const RIGHT_SUFFIX = '.V';

export interface SafetensorsEmitOptions extends OutputPolicy {
  mode: 'factorized' | 'dense';
  shardBytes?: number;
  /** Manifest (how the file was made, ranks): __metadata__["weight_spectra.compress"] and a sidecar JSON file. */
  manifest: (layers: readonly CompressLayerResult[]) => Record<string, unknown>;
  gram?: GramBackend;
  svd?: SvdChoice;
  /** Called after each compressed layer's factors are computed. */
  onFactorized?: (name: string) => void;
}

/** Where the sidecar manifest goes: `<file>.compress.json` beside a single file, `compress.json` in a sharded folder. */
export function manifestPath(out: string, sharded: boolean): string {
  return sharded ? path.join(out, 'compress.json') : out.replace(/\.safetensors$/i, '') + '.compress.json';
}

/**
 * factorized: each compressed W becomes `<name>.U` [...shape[:split], r] = U·√S and `<name>.V` [r, ...shape[split:]]
 * = √S·Vᵀ; dense: W is replaced by U·S·Vᵀ under its own key. Other tensors are copied (dtype kept where writable).
 * Needs the ranks before the first byte (the header lists every shape), so the manifest's ranks are final; its
 * errors are filled in as layers are computed and written into the sidecar file.
 */
export async function emitSafetensors(ck: Checkpoint, layers: readonly LayerWork[], out: string, opts: SafetensorsEmitOptions): Promise<{ files: string[]; rows: CompressLayerResult[] }> {
  const specs: TensorSpec[] = [];
  const owner: LayerWork[] = [];
  for (const l of layers) {
    const dtype = outputDtype(l.info.dtype);
    if (l.decision?.compressed && opts.mode === 'factorized') {
      specs.push({ name: l.info.name + LEFT_SUFFIX, dtype, shape: leftShape(l.layout!, l.decision.rank) });
      specs.push({ name: l.info.name + RIGHT_SUFFIX, dtype, shape: rightShape(l.layout!, l.decision.rank) });
      owner.push(l, l);
    } else {
      specs.push({ name: l.info.name, dtype, shape: [...l.info.shape] });
      owner.push(l);
    }
  }
  const rows = new Map<LayerWork, CompressLayerResult>();
  let current: { layer: LayerWork; f: Factorized } | undefined;
  const produce = async (spec: TensorSpec, i: number): Promise<Float32Array | Float64Array> => {
    const l = owner[i];
    if (!l.decision?.compressed) {
      if (l.layout) rows.set(l, unchangedRow(l));
      return ck.read(l.info.name);
    }
    if (current?.layer !== l) {
      current = { layer: l, f: await factorizeLayer(ck, l, opts.gram, opts.svd, opts.onFactorized) };
      const r = l.decision.rank;
      rows.set(l, compressedRow(l, current.f, opts.mode === 'factorized' ? r * (l.layout!.rows + l.layout!.cols) : l.info.numel));
    }
    const f = current.f.factors;
    if (opts.mode === 'dense') return reconstruct(f);
    return spec.name === l.info.name + LEFT_SUFFIX ? f.left : f.right;
  };
  const sharded = (opts.shardBytes ?? 0) > 0;
  // The ranks are known now; the errors are known after the tensors are written, so the sidecar is assembled lazily.
  const rankManifest = opts.manifest(layers.filter((l) => l.layout).map((l) => (l.decision?.compressed ? { ...unchangedRow(l), rank: l.decision.rank, compressed: true } : unchangedRow(l))));
  // writeSafetensorsModel stages extra files after the last tensor, so this getter sees every layer's error.
  const extra = {
    path: manifestPath(out, sharded),
    get content() {
      return `${JSON.stringify(opts.manifest(layers.filter((l) => l.layout).map((l) => rows.get(l) ?? unchangedRow(l))), null, 2)}\n`;
    },
  };
  const { files } = await writeSafetensorsModel(out, specs, produce, {
    force: opts.force,
    inputs: [...(opts.inputs ?? []), ...ck.files],
    signal: opts.signal,
    shardBytes: opts.shardBytes,
    metadata: { 'weight_spectra.compress': JSON.stringify(rankManifest) },
    copySidecarsFrom: ck.path,
    extraFiles: [extra],
  });
  return { files, rows: layers.filter((l) => l.layout).map((l) => rows.get(l) ?? unchangedRow(l)) };
}
