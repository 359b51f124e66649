/**
 * Cooperative cancellation for long synchronous computations. A job installs a check (e.g. a SharedArrayBuffer flag
 * the caller sets, readable while this thread is busy); long loops call `throwIfCancelled()` at safe points, so the
 * job unwinds by itself instead of the thread being killed in the middle of a native (onnxruntime) call.
 */
export class JobCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

let check: (() => boolean) | undefined;

/** Installs the check for the job running on this thread (undefined removes it). */
export function setCancellationCheck(fn: (() => boolean) | undefined): void {
  check = fn;
}

export function isCancelled(): boolean {
  return check?.() ?? false;
}

/** Throws at a safe point when the running job was cancelled; cheap enough for every outer-loop iteration. */
export function throwIfCancelled(): void {
  if (check?.()) throw new JobCancelledError();
}

/** True for any cancellation error (analysis and transforms each raise their own, all named 'CancelledError'). */
export function isCancellation(e: unknown): boolean {
  return e instanceof Error && e.name === 'CancelledError';
}
