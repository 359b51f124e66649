/**
 * Where the Compress…, Merge… and Compare commands offer to write, and which targets they refuse before a job starts
 * (the writers refuse them again: src/core/writers/staged-outputs.ts). No vscode import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What a target must be: a file with one of these extensions, or a folder (LoRA adapters). */
export type OutputKind = { file: readonly string[] } | { folder: true };

const CHECKPOINT_SUFFIX = /(\.safetensors\.index\.json|\.index\.json|\.safetensors|\.gguf|\.onnx|\.npz|\.npy|\.h5|\.hdf5|\.pt|\.pth|\.ckpt|\.bin|\.json)$/i;

/** The name of a checkpoint without its format's extension: model.safetensors.index.json → model, model.json → model. */
export function checkpointStem(file: string): string {
  const base = path.basename(file).replace(/weights_manifest\.json$/i, 'weights').replace(CHECKPOINT_SUFFIX, '');
  return base.replace(/[-_.]+$/, '') || 'model';
}

/**
 * `<folder of input>/<stem><suffix><ext>`, with -2, -3… appended when that name is taken (the dialog then starts on a
 * name that replaces nothing).
 */
export function besideInput(input: string, suffix: string, ext: string, exists: (p: string) => boolean = fs.existsSync): string {
  const dir = path.dirname(input);
  const stem = checkpointStem(input);
  for (let n = 1; ; n++) {
    const candidate = path.join(dir, `${stem}${suffix}${n === 1 ? '' : `-${n}`}${ext}`);
    if (!exists(candidate)) return candidate;
  }
}

/** Why `out` cannot be the target of a job reading `inputs` (undefined when it can). */
export function outputProblem(out: string, inputs: readonly string[], kind: OutputKind): string | undefined {
  const target = path.resolve(out);
  const name = path.basename(out);
  for (const input of inputs) {
    const resolved = path.resolve(input);
    if (resolved === target) return `${name} is one of the inputs; choose another name`;
    if (resolved.startsWith(target + path.sep)) return `${name} is a folder holding an input; choose another name`;
  }
  if ('folder' in kind) {
    if (CHECKPOINT_SUFFIX.test(name)) return `${name} would be a folder (the LoRA adapter and its base); choose a name without a file extension`;
    return undefined;
  }
  const ext = path.extname(name).toLowerCase();
  if (!kind.file.includes(ext)) return `name the output ${kind.file.join(' or ')} (got ${ext ? ext : 'no extension'})`;
  return undefined;
}
