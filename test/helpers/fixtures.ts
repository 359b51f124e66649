import * as path from 'node:path';
import * as fs from 'node:fs';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

export interface RefTensor {
  name: string;
  dtype: string;
  dtype_canonical: string;
  shape: number[];
  numel: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  l2: number;
  nonfinite: number;
  samples: [number, number][];
}
export interface RefFile {
  expected_format: string;
  tensor_count: number;
  companion_files?: string[];
  tensors: RefTensor[];
}
export interface RefError {
  expected_format: string;
  error_kind: string;
  description: string;
}
export interface Reference {
  files: Record<string, RefFile>;
  errors: Record<string, RefError>;
}

export function loadReference(): Reference {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8'));
}

/** reference.json names formats by container; the CLI says keras-h5 for a Keras HDF5 file. */
export function ourFormat(expected: string): string {
  return expected === 'hdf5' ? 'keras-h5' : expected;
}

/** Relative comparison with an absolute floor for values near zero. */
export function close(actual: number, expected: number, rel = 1e-6, abs = 1e-9): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  return Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected));
}
