import type * as H5wasm from 'h5wasm';
import { CheckpointError, type CheckpointErrorKind, type ErrorFactory } from '../../../errors';

export type H5Lib = typeof H5wasm;
export type H5Module = typeof H5wasm.Module;

export interface H5 {
  lib: H5Lib;
  mod: H5Module;
}

let loading: Promise<H5> | undefined;

/**
 * Loads h5wasm once. Its node build is ESM-only (top-level await), so it is imported dynamically; it reads
 * files through Emscripten's NODERAWFS, i.e. positional reads of the real file, never a copy in the wasm heap.
 * HDF5's own error handler prints the error stack to stderr and lets h5wasm go on with invalid ids; h5wasm's
 * throwing handler (src/hdf5_util.cc) raises the stack as a JS Error instead, which we turn into a CheckpointError.
 */
export function loadH5(): Promise<H5> {
  loading ??= (async () => {
    const specifier = 'h5wasm/node'; // a variable: TypeScript's node10 resolution does not read package "exports"
    const lib = (await import(specifier)) as H5Lib;
    const mod = await lib.ready;
    mod.activate_throwing_error_handler();
    return { lib, mod };
  })().catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

/** The deepest entry of an HDF5 error stack ("#006: ... in H5F__super_read(): truncated file: ...") and its minor code. */
export function innermostHdf5Error(message: string): { detail: string; minor: string } | undefined {
  const entries = [...message.matchAll(/#\d+: .*? in [\w$]+\(\): (.*)\n\s*major: .*\n\s*minor: (.*)/g)];
  const last = entries[entries.length - 1];
  return last ? { detail: last[1].trim(), minor: last[2].trim() } : undefined;
}

/** What an HDF5 failure means for the user: which error kind, in which words. */
export function classifyH5Failure(e: unknown): { kind: CheckpointErrorKind; problem: string } {
  if (e instanceof WebAssembly.RuntimeError) {
    return { kind: 'corrupt', problem: `the HDF5 library stopped on this file's content (${e.message})` };
  }
  const message = e instanceof Error ? e.message : String(e);
  const inner = innermostHdf5Error(message);
  if (!inner) return { kind: 'corrupt', problem: message.trim().split('\n').pop() ?? 'unknown HDF5 error' };
  const { detail, minor } = inner;
  const truncated = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(detail);
  if (truncated) {
    return {
      kind: 'truncated',
      problem: `the file is ${truncated[1]} bytes but its HDF5 superblock says ${truncated[2]} (file cut short?)`,
    };
  }
  if (/truncated/i.test(minor) || /past (the )?end of|beyond (the )?end|addr overflow/i.test(detail)) {
    return { kind: 'truncated', problem: `${detail} (${minor}; file cut short?)` };
  }
  // H5Z.c: "required filter '%s' is not registered"; H5PL*.c: plugins that cannot be found or loaded.
  if (/required filter .* not registered|plugin/i.test(detail)) {
    return { kind: 'unsupported', problem: `${detail} (${minor}): the data uses an HDF5 filter this build cannot decode` };
  }
  if (/No such file|unable to open file: name/i.test(detail)) {
    return { kind: 'not_found', problem: `cannot open file (${detail})` };
  }
  return { kind: 'corrupt', problem: `${detail} (${minor})` };
}

/**
 * Set when the wasm instance trapped or aborted (stack overflow, out of memory, a bug reached by a hostile
 * file): Emscripten marks it aborted and HDF5's state is undefined, so it is not used again in this process.
 */
let brokenBy: string | undefined;

/** Runs one synchronous h5wasm call; any failure it throws becomes a CheckpointError naming what we were doing. */
export function h5Call<T>(fail: ErrorFactory, doing: string, call: () => T): T {
  if (brokenBy !== undefined) {
    throw fail(
      'unsupported',
      `the HDF5 library stopped while reading ${brokenBy} and cannot read more files in this process; restart to read HDF5 files again`,
    );
  }
  try {
    return call();
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const { kind, problem } = classifyH5Failure(e);
    const err = fail(kind, `${doing}: ${problem}`);
    if (e instanceof WebAssembly.RuntimeError) brokenBy = err.file;
    throw err;
  }
}
