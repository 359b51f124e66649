/** The formats we read. The CLI prints these identifiers. */
export type FormatId = 'safetensors' | 'pytorch' | 'onnx' | 'gguf' | 'npy' | 'npz' | 'tfjs' | 'keras-h5';

/** Decoded tensor values, row-major in `TensorInfo.shape`. */
export type TensorData = Float32Array | Float64Array;

export type Precision = 'float32' | 'float64';

/** Metadata of one tensor, known without reading its data. */
export interface TensorInfo {
  /** Exactly as stored (safetensors key, state_dict key, ONNX initializer/Constant output, ...). */
  readonly name: string;
  /** Canonical lowercase dtype: float32, float16, bfloat16, float8_e4m3fn, int64, uint8, bool, q4_k, ... */
  readonly dtype: string;
  /** The format's own spelling of the dtype (BF16, torch.float16, FLOAT16, Q4_K, <f2, H5T_IEEE_F32LE). */
  readonly storedDtype: string;
  /** Logical row-major (numpy) shape; [] for a scalar. */
  readonly shape: readonly number[];
  readonly numel: number;
  /** Bytes the tensor occupies as stored (quantized blocks, uint8 codes, ...). */
  readonly bytes: number;
  /** The file that holds the tensor's bytes. */
  readonly file: string;
  /** Byte offset of the data in `file`, where the data is one contiguous range. */
  readonly offset?: number;
}

/** A checkpoint opened lazily: tensor metadata is in memory, tensor data is read on demand. */
export interface Checkpoint {
  readonly format: FormatId;
  /** The path the user opened. */
  readonly path: string;
  /** Every file the checkpoint spans (shards, external data). */
  readonly files: readonly string[];
  readonly tensors: readonly TensorInfo[];
  /** Format-level metadata (safetensors __metadata__, GGUF KV pairs, ...), JSON-friendly. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * Reads and decodes one tensor by positional reads of its bytes only.
   * Without `precision`, float64/int32/int64/uint32/uint64 tensors come back as Float64Array, others as Float32Array.
   * With `into` (length ≥ numel; its type sets the precision), the values are written there and a view of its first
   * numel elements is returned: streaming consumers reuse one buffer instead of faulting in fresh memory per tensor.
   */
  read(name: string, precision?: Precision, into?: TensorData): Promise<TensorData>;
  close(): Promise<void>;
}

/** First bytes of a file, for cheap content sniffing. */
export interface Probe {
  readonly path: string;
  readonly size: number;
  /** Up to the first 64 KiB. */
  readonly head: Buffer;
}

/** One module per format, in the manner of Netron: a cheap content match and a lazy open. */
export interface FormatReader {
  readonly format: FormatId;
  /** 0: not this format; 1: the file name suggests it; 2: the content says so. */
  match(probe: Probe): number;
  open(path: string, probe: Probe): Promise<Checkpoint>;
}
