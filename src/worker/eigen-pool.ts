/**
 * A few threads that each solve one spectrum problem at a time (eigen-thread.ts), so that several small layers or
 * FARMS windows use every core: the analysis thread keeps reading tensors and computing metrics while the pool forms
 * Grams and reduces them. The pool's onnxruntime sessions run on one thread each; the wasm stages of the solver
 * (bulge chase, QL), single-threaded by nature, then overlap instead of leaving a core idle.
 * Two kinds of problem: the eigenvalues of a symmetric matrix (a FARMS window of a shared Gram), and the whole
 * spectrum of a matrix (its Gram, eigenvalues, and the direct SVD when the Gram is ill-conditioned).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AnalyzeOptions } from '../core/jobs/analyze/options';
import type { LayerPlan } from '../core/jobs/analyze/plan';
import { parallelWorkSeconds } from '../core/jobs/analyze/work-estimate';
import type { GramBackend, Spectrum } from '../core/linalg/spectrum';
import { giveWork } from '../core/linalg/workspace';
import type { Matrix } from '../core/tensor/matrix-view';

/** A problem as it crosses to a pool thread; `buffer` is transferred (the thread sends it back with the answer). */
export type EigenRequest =
  | { type: 'eigen'; id: number; n: number; buffer: ArrayBuffer; byteOffset: number }
  | { type: 'spectrum'; id: number; rows: number; cols: number; dtype: 'float32' | 'float64'; scale: number; buffer: ArrayBuffer; byteOffset: number }
  | { type: 'close' };
export type EigenReply = { id: number; buffer: ArrayBuffer } & ({ evals: Float64Array; method: Spectrum['method'] } | { error: string });

interface Task {
  request: Exclude<EigenRequest, { type: 'close' }>;
  /** Whether the returned buffer is a float64 work array worth reusing here. */
  reuse: boolean;
  resolve: (s: Spectrum) => void;
  reject: (e: Error) => void;
}

export class EigenPool {
  private readonly idle: Worker[] = [];
  private readonly running = new Map<number, { task: Task; worker: Worker }>();
  private readonly queue: Task[] = [];
  private readonly exits: Promise<number>[] = [];
  private readonly dead = new Set<Worker>();
  private nextId = 1;
  private closed = false;
  private drained?: () => void;

  constructor(threadFile: string, readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(threadFile);
      this.exits.push(new Promise((resolve) => w.once('exit', resolve)));
      w.on('message', (r: EigenReply) => this.finished(w, r));
      w.on('error', (e) => this.failed(w, e));
      w.once('exit', (code) => this.failed(w, new Error(`an eigen-solver thread ended (exit code ${code})`)));
      this.idle.push(w);
    }
  }

  /** Eigenvalues (ascending) of the symmetric n×n matrix `a` (overwritten, and no longer usable by the caller). */
  eigenvalues = async (a: Float64Array, n: number): Promise<Float64Array> =>
    (await this.submit({ type: 'eigen', id: 0, n, buffer: a.buffer as ArrayBuffer, byteOffset: a.byteOffset }, true)).evals;

  /**
   * The spectrum of W (times scale²), as matrixSpectrum computes it on this thread: Gram on the small side, the
   * two-stage eigen-solver, the direct SVD when ill-conditioned. W's data is copied; the caller keeps its array.
   */
  spectrum = (m: Matrix, scale = 1): Promise<Spectrum> => {
    const length = m.rows * m.cols;
    const copy = m.data instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
    copy.set(m.data.subarray(0, length));
    const dtype = copy instanceof Float32Array ? 'float32' : 'float64';
    return this.submit({ type: 'spectrum', id: 0, rows: m.rows, cols: m.cols, dtype, scale, buffer: copy.buffer as ArrayBuffer, byteOffset: 0 }, false);
  };

  private submit(request: Task['request'], reuse: boolean): Promise<Spectrum> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the eigen pool is closed'));
      if (this.dead.size === this.size) return reject(new Error('no eigenvalue thread is left'));
      this.queue.push({ request, reuse, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.pop()!;
      const task = this.queue.shift()!;
      const id = this.nextId++;
      this.running.set(id, { task, worker });
      worker.postMessage({ ...task.request, id }, [task.request.buffer]);
    }
    if (this.running.size === 0 && this.queue.length === 0) this.drained?.();
  }

  private finished(worker: Worker, r: EigenReply): void {
    const job = this.running.get(r.id);
    if (!job) return;
    this.running.delete(r.id);
    this.idle.push(worker);
    // A Gram came back with the answer: give it to the workspace so the next Gram reuses its pages.
    if (job.task.reuse) giveWork(new Float64Array(r.buffer));
    if ('evals' in r) job.task.resolve({ evals: r.evals, method: r.method });
    else job.task.reject(new Error(r.error));
    this.dispatch();
  }

  /** A thread that failed or ended is dropped; when none is left, whatever waits is rejected instead of hanging. */
  private failed(worker: Worker, e: Error): void {
    if (this.dead.has(worker)) return;
    this.dead.add(worker);
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
    for (const [id, job] of this.running) {
      if (job.worker !== worker) continue;
      this.running.delete(id);
      job.task.reject(this.closed ? e : new Error(`eigenvalue thread failed: ${e.message}`));
    }
    if (this.dead.size === this.size) for (const t of this.queue.splice(0)) t.reject(new Error(`no eigenvalue thread is left (${e.message})`));
    this.dispatch();
  }

  /**
   * Rejects what has not started, waits for the problems in flight (each at most a few seconds; a thread must not be
   * terminated inside an onnxruntime call), then lets every thread release its sessions and end.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new Error('the eigen pool is closed'));
    if (this.running.size) await new Promise<void>((resolve) => (this.drained = resolve));
    for (const w of this.idle) if (!this.dead.has(w)) w.postMessage({ type: 'close' } satisfies EigenRequest);
    await Promise.all(this.exits);
  }
}

/** With `threads` 0 (auto), a pool is started only for at least this much single-core work (it costs ≈ 0.3 s to start). */
export const POOL_MIN_WORK_SECONDS = 1;

/**
 * The eigen pool for a job: threads from the setting (0: one per core, at most 4), CPU provider only (a GPU provider
 * keeps its eigen-solver on its own device), none on a one-core machine, and in auto mode none for a job whose
 * pooled work (`workSeconds`, see parallelWorkSeconds) would not repay the threads' start.
 */
export function eigenPoolFor(threads: number, provider: string, threadFile: string, workSeconds = Infinity): EigenPool | undefined {
  const size = threads > 0 ? threads : Math.min(4, availableParallelism());
  if (size < 2 || provider !== 'cpu') return undefined;
  if (threads === 0 && workSeconds < POOL_MIN_WORK_SECONDS) return undefined;
  return new EigenPool(threadFile, size);
}

/**
 * Above this order one problem at a time on the analysis thread is faster: its onnxruntime GEMMs use every core,
 * and the problem is long enough to amortise the thread hand-offs. Below it, the pool solves several at once.
 */
export const POOLED_BELOW_ORDER = 2048;

/**
 * A Gram above this many flops (2·m·n²) is formed on the analysis thread, where onnxruntime uses every core (an
 * embedding matrix of 30522×768 took 1.4 s on one pool thread, 0.6 s there); its eigenvalues still go to the pool.
 */
const POOLED_GRAM_MAX_FLOPS = 8e9;

/** The backend with spectra and eigen-solves of orders below POOLED_BELOW_ORDER moved to the pool. */
export function withPool(backend: GramBackend, pool: EigenPool): GramBackend {
  const inThread = backend.eigenvalues!;
  const eigenvalues = (a: Float64Array, n: number) => (n < POOLED_BELOW_ORDER ? pool.eigenvalues(a, n) : inThread(a, n));
  const spectrum = (m: Matrix, scale: number) => {
    const n = Math.min(m.rows, m.cols);
    return n < POOLED_BELOW_ORDER && 2 * Math.max(m.rows, m.cols) * n * n <= POOLED_GRAM_MAX_FLOPS ? pool.spectrum(m, scale) : undefined;
  };
  return Object.assign((m: Matrix) => backend(m), { eigenvalues, sideGram: backend.sideGram, spectrum });
}

/** What an analysis job runs on: the backend (pooled or not), how many layers may be in flight, and the pool to close. */
export interface AnalysisBackend {
  gram: GramBackend;
  parallelLayers: number;
  pool?: EigenPool;
}

/** The analysis worker's choice, in one place (the benchmarks reuse it): a pool when eigenPoolFor says it pays. */
export function analysisBackend(backend: GramBackend, provider: string, plans: readonly LayerPlan[], opts: Pick<AnalyzeOptions, 'threads' | 'farms'>, threadFile: string): AnalysisBackend {
  const pool = eigenPoolFor(opts.threads, provider, threadFile, parallelWorkSeconds(plans, opts, POOLED_BELOW_ORDER));
  return pool ? { gram: withPool(backend, pool), parallelLayers: pool.size + 1, pool } : { gram: backend, parallelLayers: 1 };
}
