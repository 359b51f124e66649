import type { LowerBand } from '../band-to-tridiagonal';
import { KERNELS_WASM_BASE64 } from './kernels-wasm';

/**
 * The WebAssembly build of kernels.c (bulge chase, panel QR, tridiagonal QL): 3–4× the speed of the same loops in
 * JavaScript here. One instance per thread, created on first use. Arguments are copied into the module's memory and
 * results copied out, so callers keep ordinary Float64Arrays; the copies are O(data), the kernels O(data · b).
 */
interface Exports {
  chase_sweeps(a: number, n: number, b: number, i0: number, i1: number, work: number): void;
  panel_qr(p: number, m: number, b: number, v: number, t: number, work: number): number;
  tql_range(d: number, e: number, n: number, l0: number, l1: number, floor: number): number;
  bidiagonalize(a: number, m: number, n: number, d: number, e: number, work: number): void;
}

/** The first 128 KiB hold the C stack (wasm-ld places it below 66 560). */
const HEAP_BASE = 131072;
const PAGE = 65536;
/** Jobs needing more memory than this run in a temporary instance, so the thread's instance never stays that large. */
const RESIDENT_LIMIT = 64 * 2 ** 20;

class Kernels {
  private memory = new WebAssembly.Memory({ initial: 64 });
  private exports: Exports;
  private view = new Float64Array(this.memory.buffer);

  constructor(private module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as Exports;
  }

  /** This instance, or a fresh one (same compiled code) for a job of the given size in bytes. */
  private sized(bytes: number): Kernels {
    return bytes > RESIDENT_LIMIT ? new Kernels(this.module) : this;
  }

  /** Float64 offsets of consecutive regions of the given lengths above HEAP_BASE, memory grown to fit. */
  private regions(...lengths: number[]): number[] {
    const offsets: number[] = [];
    let at = HEAP_BASE;
    for (const n of lengths) {
      offsets.push(at);
      at += 8 * Math.max(1, n);
    }
    const missing = at - this.memory.buffer.byteLength;
    if (missing > 0) {
      this.memory.grow(Math.ceil(missing / PAGE));
      this.view = new Float64Array(this.memory.buffer);
    }
    return offsets;
  }

  private put(offset: number, data: ArrayLike<number>): void {
    this.view.set(data, offset / 8);
  }

  private get(offset: number, length: number): Float64Array {
    return this.view.slice(offset / 8, offset / 8 + length);
  }

  bandToTridiagonal(band: LowerBand): { d: Float64Array; e: Float64Array } {
    const own = this.sized(8 * band.data.length);
    if (own !== this) return own.bandToTridiagonal(band);
    const { n, b } = band;
    if (band.width !== 2 * b + 1) throw new RangeError('band storage must be 2b+1 wide');
    const [a, work] = this.regions(band.data.length, 3 * (b + 1));
    this.put(a, band.data);
    // Many short calls rather than one long one: V8 moves a wasm function to its optimising tier between calls.
    for (let i0 = 0, chunk = 8; i0 < n - 2; i0 += chunk, chunk = Math.min(chunk * 2, 256)) this.exports.chase_sweeps(a, n, b, i0, i0 + chunk, work);
    const d = new Float64Array(n);
    const e = new Float64Array(Math.max(0, n - 1));
    const base = a / 8;
    const W1 = 2 * b;
    for (let i = 0; i < n; i++) d[i] = this.view[base + i * W1 + i + W1];
    for (let i = 0; i + 1 < n; i++) e[i] = this.view[base + (i + 1) * W1 + i + W1];
    band.data.set(this.view.subarray(base, base + band.data.length));
    return { d, e };
  }

  /** Upper bidiagonal form of an m×n matrix, m ≥ n (the matrix itself is not modified). */
  bidiagonalize(data: ArrayLike<number>, m: number, n: number): { d: Float64Array; e: Float64Array } {
    if (m < n) throw new RangeError('bidiagonalize needs rows ≥ cols');
    const own = this.sized(8 * (m * n + 2 * m + 2 * n));
    if (own !== this) return own.bidiagonalize(data, m, n);
    const [a, d, e, work] = this.regions(m * n, n, n, 2 * Math.max(m, n));
    this.put(a, data);
    this.exports.bidiagonalize(a, m, n, d, e, work);
    return { d: this.get(d, n), e: this.get(e, Math.max(0, n - 1)) };
  }

  panelQr(p: Float64Array, m: number, b: number, V: Float64Array, T: Float64Array): number {
    const k = Math.min(m, b);
    const [pp, vv, tt, work] = this.regions(m * b, m * k, k * k, m * b + k + k * k);
    this.put(pp, p.subarray(0, m * b));
    this.exports.panel_qr(pp, m, b, vv, tt, work);
    p.set(this.view.subarray(pp / 8, pp / 8 + m * b));
    V.set(this.view.subarray(vv / 8, vv / 8 + m * k));
    T.set(this.view.subarray(tt / 8, tt / 8 + k * k));
    return k;
  }

  tridiagonalEigenvalues(dIn: Float64Array, eIn: Float64Array): Float64Array {
    const own = this.sized(16 * dIn.length);
    if (own !== this) return own.tridiagonalEigenvalues(dIn, eIn);
    const n = dIn.length;
    const [d, e] = this.regions(n, n);
    this.put(d, dIn);
    this.view.fill(0, e / 8, e / 8 + n);
    this.put(e, eIn.subarray(0, Math.max(0, n - 1)));
    let norm = 0;
    for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(dIn[i]) + (i < n - 1 ? Math.abs(eIn[i]) : 0) + (i > 0 ? Math.abs(eIn[i - 1]) : 0));
    const floor = 2 ** -52 * norm;
    for (let l0 = 0, chunk = 16; l0 < n; l0 += chunk, chunk = Math.min(chunk * 2, 512)) {
      const status = this.exports.tql_range(d, e, n, l0, Math.min(n, l0 + chunk), floor);
      if (status < 0) throw new Error(`tridiagonal QL did not converge at index ${-1 - status}`);
    }
    return this.get(d, n).sort();
  }
}

let kernels: Kernels | undefined;
let unavailable: string | undefined;

/**
 * This thread's instance; the first call compiles the module and runs every kernel on small inputs to warm it up.
 * undefined where WebAssembly (with SIMD) cannot run: callers then use the TypeScript kernels.
 */
export function wasmKernels(): Kernels | undefined {
  if (kernels || unavailable) return kernels;
  try {
    kernels = createKernels();
  } catch (e) {
    unavailable = (e as Error).message;
  }
  return kernels;
}

function createKernels(): Kernels {
  const k = new Kernels(new WebAssembly.Module(new Uint8Array(Buffer.from(KERNELS_WASM_BASE64, 'base64'))));
  const n = 48;
  const b = 6;
  for (let rep = 0; rep < 8; rep++) {
    const data = new Float64Array(n * (2 * b + 1));
    for (let r = 0; r < n; r++) for (let c = Math.max(0, r - b); c <= r; c++) data[r * 2 * b + c + 2 * b] = Math.sin(r * 7 + c + rep);
    const { d, e } = k.bandToTridiagonal({ n, b, width: 2 * b + 1, data });
    k.tridiagonalEigenvalues(d, e);
    k.panelQr(new Float64Array(n * b).map((_, i) => Math.cos(i * rep + 1)), n, b, new Float64Array(n * b), new Float64Array(b * b));
    k.bidiagonalize(new Float64Array(n * b).map((_, i) => Math.sin(i * rep + 2)), n, b);
  }
  return k;
}
