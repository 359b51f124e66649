/** What went wrong with a checkpoint, in words a user can act on. Stable identifiers for tests and UI. */
export type CheckpointErrorKind =
  | 'not_found' // the path does not exist or cannot be opened
  | 'unknown_format' // no reader recognises the content
  | 'truncated' // the file ends before the data its header describes
  | 'header_out_of_bounds' // a header length/offset points past the end of the file
  | 'invalid_offsets' // tensor extents overlap, are out of range, or disagree with dtype × shape
  | 'too_large' // a header claims sizes/counts beyond sane limits (checked before allocating)
  | 'too_deep' // nesting beyond the recursion limit
  | 'unsafe_pickle' // a pickle asks for a global outside the allow-list
  | 'unsafe_path' // an archive entry escapes its folder (../, absolute paths)
  | 'unsupported' // a valid file using a feature we do not read (dtype, quant type, layout)
  | 'corrupt' // malformed content not covered by the above
  | 'not_a_tensor'; // a name that is not in the checkpoint

/** Typed error naming the file, the format and the problem. */
export class CheckpointError extends Error {
  readonly kind: CheckpointErrorKind;
  readonly file: string;
  readonly format: string;

  constructor(kind: CheckpointErrorKind, file: string, format: string, problem: string) {
    super(`${file}: ${format ? `${format}: ` : ''}${problem}`);
    this.name = 'CheckpointError';
    this.kind = kind;
    this.file = file;
    this.format = format;
  }
}

/** Per-format error factory so readers do not repeat file and format at every throw. */
export function errorFactory(file: string, format: string) {
  return (kind: CheckpointErrorKind, problem: string): CheckpointError =>
    new CheckpointError(kind, file, format, problem);
}
export type ErrorFactory = ReturnType<typeof errorFactory>;

/** Limits applied before any allocation a header asks for. */
export const LIMITS = {
  /** Largest tensor we will decode at once (elements). 2^31 - 1 matches typed-array limits. */
  maxTensorElements: 2 ** 31 - 1,
  /** Largest header / metadata block we will read into memory (bytes). */
  maxHeaderBytes: 512 * 1024 * 1024,
  /** Most tensors a single file may declare. */
  maxTensorCount: 10_000_000,
  /** Longest single string in a binary header (bytes). */
  maxStringBytes: 64 * 1024 * 1024,
  /** Deepest nesting of subgraphs / pickle containers. */
  maxDepth: 256,
  /** Largest total size an archive may inflate a compressed member to (bytes), relative to its compressed size. */
  maxInflateRatio: 1000,
} as const;
