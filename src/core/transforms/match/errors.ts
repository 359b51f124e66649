/** Errors of the match/merge/lmc jobs that a user can act on, with a short kind for messages and tests. */
import { ArchitectureError } from './load';
import { AssignmentError } from './lap';
import { CancelledError } from './run-match';
import { SpecError } from './spec';

/** A job input that cannot be used as asked (mismatched models, bad parameters). */
export class TransformInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformInputError';
  }
}

/** 'architecture' | 'spec' | 'assignment' | 'input' | 'cancelled', or undefined for anything else. */
export function transformErrorKind(e: unknown): string | undefined {
  if (e instanceof ArchitectureError) return 'architecture';
  if (e instanceof SpecError) return 'spec';
  if (e instanceof AssignmentError) return 'assignment';
  if (e instanceof TransformInputError) return 'input';
  if (e instanceof CancelledError) return 'cancelled';
  return undefined;
}
