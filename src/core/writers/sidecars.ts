import * as fs from 'node:fs';
import * as path from 'node:path';
import { sameFile, type StagedOutputs } from './staged-outputs';

/**
 * Files a Hugging Face model folder keeps beside its weights that a loader needs to use new weights
 * (transformers' save_pretrained / tokenizer.save_pretrained outputs). Copied as they are.
 */
export const HF_SIDECAR_FILES: readonly string[] = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'tokenizer.model',
  'spiece.model',
  'sentencepiece.bpe.model',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'preprocessor_config.json',
  'chat_template.json',
  'chat_template.jinja',
];

/** The sidecar files present in `from` (a model folder, or a file inside one). */
export function findSidecars(from: string): string[] {
  let dir = from;
  try {
    if (!fs.statSync(from).isDirectory()) dir = path.dirname(from);
  } catch {
    dir = path.dirname(from);
  }
  return HF_SIDECAR_FILES.map((f) => path.join(dir, f)).filter((p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/** Sidecars of `from` that must be copied into `outDir` (a file already there as the very same file is skipped). */
export function sidecarCopies(from: string, outDir: string): { src: string; dst: string }[] {
  return findSidecars(from)
    .map((src) => ({ src, dst: path.join(outDir, path.basename(src)) }))
    .filter(({ src, dst }) => !sameFile(src, dst));
}

/** Stages a copy of each sidecar into the outputs (checked with everything else before any byte is written). */
export async function stageSidecars(outputs: StagedOutputs, copies: readonly { src: string; dst: string }[]): Promise<void> {
  for (const { src, dst } of copies) {
    const out = await outputs.open(dst);
    const handle = await fs.promises.open(src, 'r');
    try {
      const { size } = await handle.stat();
      await out.copyFrom(handle, 0, size);
    } finally {
      await handle.close();
    }
  }
}
