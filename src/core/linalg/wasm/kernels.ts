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
  tql_range(d: number, e: number, n: number, l0: number, l1: number): number;
}

/** The first 128 KiB hold the C stack (wasm-ld places it below 66 560). */
const HEAP_BASE = 131072;
const PAGE = 65536;

class Kernels {
  private memory = new WebAssembly.Memory({ initial: 64 });
  private exports: Exports;
  private view = new Float64Array(this.memory.buffer);

  constructor(bytes: Uint8Array<ArrayBuffer>) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as Exports;
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
    const n = dIn.length;
    const [d, e] = this.regions(n, n);
    this.put(d, dIn);
    this.view.fill(0, e / 8, e / 8 + n);
    this.put(e, eIn.subarray(0, Math.max(0, n - 1)));
    for (let l0 = 0, chunk = 16; l0 < n; l0 += chunk, chunk = Math.min(chunk * 2, 512)) {
      const status = this.exports.tql_range(d, e, n, l0, Math.min(n, l0 + chunk));
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
  const k = new Kernels(new Uint8Array(Buffer.from(KERNELS_WASM_BASE64, 'base64')));
  const n = 48;
  const b = 6;
  for (let rep = 0; rep < 8; rep++) {
    const data = new Float64Array(n * (2 * b + 1));
    for (let r = 0; r < n; r++) for (let c = Math.max(0, r - b); c <= r; c++) data[r * 2 * b + c + 2 * b] = Math.sin(r * 7 + c + rep);
    const { d, e } = k.bandToTridiagonal({ n, b, width: 2 * b + 1, data });
    k.tridiagonalEigenvalues(d, e);
    k.panelQr(new Float64Array(n * b).map((_, i) => Math.cos(i * rep + 1)), n, b, new Float64Array(n * b), new Float64Array(b * b));
  }
  return k;
}
