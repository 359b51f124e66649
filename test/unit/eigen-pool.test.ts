/**
 * The eigen pool (issue 5): eigenvalue problems solved on other threads (dist/eigen-thread.js, real worker threads,
 * real onnxruntime) give the analysis thread's answers, several at once, and the pool fails loudly rather than hang.
 * Through the analysis worker, a report with the pool equals one without it, FARMS included.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Slots } from '../../src/core/concurrency';
import { DEFAULT_ANALYZE_OPTIONS } from '../../src/core/jobs/analyze/options';
import { createOrtGram, type OrtGram } from '../../src/core/linalg/ort/gram-session';
import { matrixSpectrum } from '../../src/core/linalg/spectrum';
import { eigenPoolFor, EigenPool, POOL_MIN_WORK_SECONDS, POOLED_BELOW_ORDER } from '../../src/worker/eigen-pool';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { planLayers } from '../../src/core/jobs/analyze/plan';
import { parallelWorkSeconds } from '../../src/core/jobs/analyze/work-estimate';
import { analyzeInWorker } from '../../src/worker/client';
import { writeSafetensors } from '../../bench/synthetic';
import { FIXTURES } from '../helpers/fixtures';

const DIST = path.join(__dirname, '..', '..', 'dist');

function randomGram(n: number, k: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const r = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32 - 0.5;
  };
  const x = Float64Array.from({ length: n * k }, r);
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let t = 0;
    for (let p = 0; p < k; p++) t += x[i * k + p] * x[j * k + p];
    g[i * n + j] = g[j * n + i] = t;
  }
  return g;
}

describe('eigen pool', () => {
  let ort: OrtGram;
  before(async () => (ort = await createOrtGram('cpu')));
  after(async () => ort.release());

  it('solves several problems at once with the same eigenvalues as the analysis thread', async () => {
    const pool = new EigenPool(path.join(DIST, 'eigen-thread.js'), 2);
    try {
      const problems = [300, 517, 256, 640].map((n, i) => ({ n, g: randomGram(n, n + 40, 11 + i) }));
      const expected = await Promise.all(problems.map((p) => ort.backend.eigenvalues!(p.g.slice(), p.n)));
      const got = await Promise.all(problems.map((p) => pool.eigenvalues(p.g.slice(), p.n)));
      for (let i = 0; i < problems.length; i++) {
        assert.equal(got[i].length, problems[i].n);
        const top = expected[i][problems[i].n - 1];
        for (let j = 0; j < problems[i].n; j++) assert.ok(Math.abs(got[i][j] - expected[i][j]) <= 1e-12 * top, `problem ${i}, eigenvalue ${j}`);
      }
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.eigenvalues(new Float64Array(4), 2), /closed/);
  });

  it('computes whole spectra as matrixSpectrum does: Gram, scale, and the direct SVD of an ill-conditioned matrix', async () => {
    const pool = new EigenPool(path.join(DIST, 'eigen-thread.js'), 2);
    try {
      let s = 7;
      const r = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5);
      const wide = { rows: 300, cols: 700, data: Float32Array.from({ length: 300 * 700 }, r) };
      // Rank 40 of 260 columns: the Gram's small eigenvalues are round-off, so the SVD path must be taken.
      const left = Float64Array.from({ length: 400 * 40 }, r);
      const right = Float64Array.from({ length: 40 * 260 }, r);
      const lowRank = new Float64Array(400 * 260);
      for (let i = 0; i < 400; i++) for (let j = 0; j < 260; j++) for (let p = 0; p < 40; p++) lowRank[i * 260 + j] += left[i * 40 + p] * right[p * 260 + j];
      const cases = [
        { m: wide, scale: 1 },
        { m: wide, scale: Math.SQRT1_2 },
        { m: { rows: 400, cols: 260, data: lowRank }, scale: 1 },
      ];
      for (const { m, scale } of cases) {
        const before = m.data.slice();
        const [got, want] = await Promise.all([pool.spectrum(m, scale), matrixSpectrum(m, { scale, gram: ort.backend })]);
        assert.equal(got.method, want.method);
        assert.deepEqual(m.data, before, 'the caller keeps its matrix');
        const top = want.evals[want.evals.length - 1];
        for (let j = 0; j < want.evals.length; j++) assert.ok(Math.abs(got.evals[j] - want.evals[j]) <= 1e-12 * top, `eigenvalue ${j}`);
      }
      assert.equal((await pool.spectrum(cases[2].m, 1)).method, 'svd');
    } finally {
      await pool.close();
    }
  });

  it('rejects instead of hanging when its threads cannot start', async () => {
    const pool = new EigenPool(path.join(DIST, 'no-such-thread.js'), 2);
    await assert.rejects(pool.eigenvalues(randomGram(200, 200, 3), 200), /thread/);
    await pool.close();
  });
});

describe('when the pool starts by itself (threads 0)', () => {
  it('not for a small model (its start would cost more than it saves), yes for BERT-sized layers or FARMS', async () => {
    const small = await openCheckpoint(path.join(FIXTURES, 'oracle', 'public.safetensors'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-work-'));
    const file = path.join(dir, 'bert-block.safetensors');
    writeSafetensors(file, [
      ...['q', 'k', 'v', 'o'].map((x) => ({ name: `attn.${x}.weight`, dtype: 'F32' as const, shape: [768, 768] })),
      { name: 'mlp.up.weight', dtype: 'F32', shape: [3072, 768] },
      { name: 'mlp.down.weight', dtype: 'F32', shape: [768, 3072] },
    ], { sparse: true });
    const block = await openCheckpoint(file);
    try {
      const opts = { ...DEFAULT_ANALYZE_OPTIONS, filter: undefined };
      const smallWork = parallelWorkSeconds(planLayers(small, opts), opts, POOLED_BELOW_ORDER);
      assert.ok(smallWork < POOL_MIN_WORK_SECONDS, `${smallWork} s`);
      assert.ok(parallelWorkSeconds(planLayers(small, opts), { farms: {} }, POOLED_BELOW_ORDER) > smallWork, 'FARMS windows add work');
      const blocks = 12 * parallelWorkSeconds(planLayers(block, opts), opts, POOLED_BELOW_ORDER);
      assert.ok(blocks > POOL_MIN_WORK_SECONDS, `${blocks} s for 12 BERT blocks`);
      assert.equal(eigenPoolFor(0, 'cpu', 'unused.js', smallWork), undefined);
      assert.equal(eigenPoolFor(0, 'webgpu', 'unused.js', 100), undefined, 'GPU providers keep their own solver');
      assert.equal(eigenPoolFor(1, 'cpu', 'unused.js', 100), undefined, 'threads 1: no pool');
      const explicit = eigenPoolFor(2, 'cpu', path.join(DIST, 'eigen-thread.js'), 0);
      assert.equal(explicit?.size, 2, 'an explicit thread count is obeyed');
      await explicit!.close();
    } finally {
      await small.close();
      await block.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Slots', () => {
  it('never runs more than its limit at once, and drain waits for all', async () => {
    const slots = new Slots(2);
    let active = 0;
    let peak = 0;
    const done: Promise<number>[] = [];
    for (let i = 0; i < 7; i++) {
      const started = await slots.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5 + (i % 3) * 5));
        active--;
        return i;
      });
      done.push(started.done);
    }
    await slots.drain();
    assert.equal(active, 0);
    assert.equal(peak, 2);
    assert.deepEqual(await Promise.all(done), [0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('analysis with and without the pool', () => {
  it('gives the same report, rows in checkpoint order, FARMS, MP fit and a model-wide WeLore τ included', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-pool-'));
    const file = path.join(dir, 'model.safetensors');
    // Layers of mixed sizes (one above the in-thread order, a vector between) so that rows finish out of order.
    writeSafetensors(file, [
      { name: 'a.weight', dtype: 'F32', shape: [2100, 2300] },
      { name: 'a.bias', dtype: 'F32', shape: [2300] },
      { name: 'b.weight', dtype: 'F32', shape: [300, 900] },
      { name: 'c.weight', dtype: 'F32', shape: [700, 256] },
      { name: 'd.weight', dtype: 'F16', shape: [512, 512] },
      { name: 'e.weight', dtype: 'F32', shape: [64, 40] },
    ]);
    const worker = path.join(DIST, 'worker.js');
    const run = async (threads: number) => {
      const seen: string[] = [];
      const job = analyzeInWorker(worker, file, { ...DEFAULT_ANALYZE_OPTIONS, filter: undefined, mpFit: true, farms: { num_row_samples: 256, sampling_ops_per_dim: 3 }, weloreTarget: 0.3, threads }, {
        onLayer: (l) => seen.push(l.name),
      });
      const report = await job.result;
      assert.equal(await job.exited, 0, 'the worker (and its pool) end by themselves');
      return { report, seen };
    };
    try {
      const one = await run(1);
      const four = await run(4);
      assert.deepEqual(four.seen, one.seen);
      assert.deepEqual(four.seen, ['a.weight', 'b.weight', 'c.weight', 'd.weight', 'e.weight']);
      assert.equal(one.report.layers.filter((l) => l.error).length, 0);
      assert.ok(one.report.layers[0].farms && 'alpha' in one.report.layers[0].farms, 'FARMS ran');
      assert.deepEqual(four.report.layers, one.report.layers);
      assert.deepEqual(four.report.model.summary, one.report.model.summary, 'the same model-wide WeLore τ and summary');
      assert.ok(one.report.model.summary.welore, 'a model-wide τ was solved');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cancel in the middle of one layer\'s FARMS windows stops within a second; the worker and its pool end', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-farms-cancel-'));
    const file = path.join(dir, 'one-layer.safetensors');
    writeSafetensors(file, [{ name: 'mlp.weight', dtype: 'F32', shape: [2400, 2400] }]);
    try {
      for (const threads of [1, 2]) {
        // 15 × 15 windows of 700²: several seconds of windows in one layer, no row before the layer ends.
        const job = analyzeInWorker(path.join(DIST, 'worker.js'), file, { ...DEFAULT_ANALYZE_OPTIONS, filter: undefined, farms: { num_row_samples: 700 }, threads });
        job.result.catch(() => undefined);
        await new Promise((r) => setTimeout(r, 2000));
        const t0 = performance.now();
        job.cancel();
        const code = await job.exited;
        const seconds = (performance.now() - t0) / 1000;
        assert.equal(code, 0, `threads ${threads}: the worker ended by itself`);
        assert.ok(seconds < 1.5, `threads ${threads}: the worker ended ${seconds.toFixed(2)} s after cancel`);
        await assert.rejects(job.result, /cancel/i);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a real model (the shipped FARMS oracle file) gives identical rows', async () => {
    const file = path.join(FIXTURES, 'oracle', 'public.safetensors');
    const worker = path.join(DIST, 'worker.js');
    const rows = async (threads: number) => (await analyzeInWorker(worker, file, { ...DEFAULT_ANALYZE_OPTIONS, filter: undefined, farms: {}, threads }).result).layers;
    assert.deepEqual(await rows(3), await rows(1));
  });
});
