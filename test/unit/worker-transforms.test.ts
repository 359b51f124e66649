/**
 * The transform jobs in the real worker (dist/worker.js, so `npm run build` first) on real checkpoints: each returns
 * the document `weight-spectra <job> --json` prints for the same inputs and writes the same bytes; a cancel mid-job
 * leaves nothing behind and the thread ends; bad inputs are typed failures with readable messages.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { writeSafetensors } from '../../bench/synthetic';
import type { ProgressMessage } from '../../src/protocol';
import { compressInWorker, JobFailedError, type JobHandle, lmcInWorker, matchInWorker, mergeInWorker } from '../../src/worker/client';
import { FIXTURES } from '../helpers/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const WORKER = path.join(ROOT, 'dist', 'worker.js');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ST_MIXED = path.join(FIXTURES, 'converted', 'st_mixed.safetensors');
const SILERO_V5 = path.join(FIXTURES, 'shipped', 'silero_vad_v5.onnx');
const SILERO_V6 = path.join(FIXTURES, 'pairs', 'silero_vad_v6.onnx');
const SILERO_INPUTS = path.join(FIXTURES, 'pairs', 'silero_inputs.npz');
const MERGE = (f: string) => path.join(FIXTURES, 'pairs', 'merge', f);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-worker-transforms-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function freshDir(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  return dir;
}

/** `weight-spectra <args> --json`, parsed. */
function cli(args: string[]): Record<string, unknown> {
  const stdout = execFileSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** The report as JSON carries it (what the CLI prints), without the run time. */
function comparable(report: object): Record<string, unknown> {
  const { seconds: _seconds, ...rest } = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  return rest;
}

function readAll(files: readonly string[]): Buffer[] {
  return files.map((f) => fs.readFileSync(f));
}

/** Runs the CLI, keeps its outputs' bytes and removes them, so the worker can write to the very same paths. */
function cliThenClear(args: string[]): { report: Record<string, unknown>; bytes: Buffer[] } {
  const report = cli(args);
  const files = (report.files as string[] | undefined) ?? [];
  const bytes = readAll(files);
  for (const f of files) fs.rmSync(f);
  return { report, bytes };
}

async function finished<T>(job: JobHandle<T>): Promise<T> {
  const value = await job.result;
  assert.equal(await job.exited, 0, 'the worker thread ends by itself after the job');
  return value;
}

describe('transform jobs in the worker = the CLI', () => {
  it('compress st_mixed (rank reduction 40 %, factorized): same report, same bytes, progress in both phases', async () => {
    const dir = freshDir('compress');
    const out = path.join(dir, 'st_mixed-compressed.safetensors');
    const expected = cliThenClear(['compress', ST_MIXED, '--out', out, '--rank-reduction', '40', '--emit', 'factorized']);
    const phases = new Set<string>();
    const report = await finished(
      compressInWorker(WORKER, ST_MIXED, out, { criterion: { type: 'rank-reduction', fraction: 0.4 }, emit: 'factorized' }, { onProgress: (p) => phases.add(p.phase ?? '') }),
    );
    assert.deepEqual(comparable(report), comparable(expected.report));
    assert.deepEqual(readAll(report.files), expected.bytes);
    assert.deepEqual([...phases].sort(), ['spectra', 'write']);
    assert.ok(report.totals.params_after < report.totals.params_before);
  });

  it('compress with --energy and dense output, and with a filter', async () => {
    const dir = freshDir('compress-dense');
    const out = path.join(dir, 'dense.safetensors');
    const expected = cliThenClear(['compress', ST_MIXED, '--out', out, '--energy', '0.9', '--emit', 'dense', '--filter', 'attn']);
    const report = await finished(compressInWorker(WORKER, ST_MIXED, out, { criterion: { type: 'energy', fraction: 0.9 }, emit: 'dense', filter: 'attn' }));
    assert.deepEqual(comparable(report), comparable(expected.report));
    assert.deepEqual(readAll(report.files), expected.bytes);
    assert.ok(report.layers.every((l) => /attn/.test(l.name)));
  });

  it('match Silero VAD v5 ↔ v6 with the aligned copy written: same figures, same file', async () => {
    const dir = freshDir('match');
    const out = path.join(dir, 'v6-aligned.onnx');
    const expected = cliThenClear(['match', SILERO_V5, SILERO_V6, '--out', out]);
    const labels: string[] = [];
    const report = await finished(matchInWorker(WORKER, SILERO_V5, SILERO_V6, { spec: 'auto', out }, { onProgress: (p) => labels.push(p.label ?? '') }));
    assert.deepEqual(comparable(report), comparable(expected.report));
    assert.deepEqual(readAll(report.files), expected.bytes);
    assert.ok(report.distance_after < report.distance_before);
    assert.ok(labels.some((l) => /^sweep 1:/.test(l)), labels.join('\n'));
  });

  it('merge (linear with weights, and TIES on a base): same report, same bytes', async () => {
    const dir = freshDir('merge');
    const linearOut = path.join(dir, 'linear.safetensors');
    const inputs = [MERGE('model0.safetensors'), MERGE('model1.safetensors')];
    let expected = cliThenClear(['merge', ...inputs, '--method', 'linear', '--weights', '1,3', '--out', linearOut]);
    const progress: ProgressMessage[] = [];
    let report = await finished(mergeInWorker(WORKER, inputs, { method: 'linear', weights: [1, 3], out: linearOut }, { onProgress: (p) => progress.push(p) }));
    assert.deepEqual(comparable(report), comparable(expected.report));
    assert.deepEqual(readAll(report.files), expected.bytes);
    assert.deepEqual(
      progress.map((p) => [p.phase, p.done, p.total]),
      report.layers.map((_, i) => ['merge', i + 1, report.layers.length]),
    );

    const tiesOut = path.join(dir, 'ties.safetensors');
    expected = cliThenClear(['merge', ...inputs, '--method', 'ties', '--base', MERGE('base.safetensors'), '--density', '0.3', '--out', tiesOut]);
    report = await finished(mergeInWorker(WORKER, inputs, { method: 'ties', base: MERGE('base.safetensors'), params: { density: 0.3 }, out: tiesOut }));
    assert.deepEqual(comparable(report), comparable(expected.report));
    assert.deepEqual(readAll(report.files), expected.bytes);
  });

  it('lmc Silero VAD v5 ↔ v6 on the sample inputs: same curve and barrier, one progress step per λ', async () => {
    const expected = cli(['lmc', SILERO_V5, SILERO_V6, '--steps', '5', '--inputs', SILERO_INPUTS]);
    const steps: number[] = [];
    const report = await finished(lmcInWorker(WORKER, SILERO_V5, SILERO_V6, { steps: 5, inputs: SILERO_INPUTS }, { onProgress: (p) => steps.push(p.done) }));
    assert.deepEqual(comparable(report), comparable(expected));
    assert.deepEqual(steps, [1, 2, 3, 4, 5]);
    assert.equal(report.lambdas.length, 5);
    assert.ok(report.barrier !== null && report.barrier > 0);
  });
});

describe('transform jobs: cancel and errors', () => {
  it('cancel during compress\'s write phase: rejects as cancelled, the thread ends, no file is left', async () => {
    const dir = freshDir('cancel-compress');
    const input = path.join(dir, 'slow.safetensors');
    writeSafetensors(input, Array.from({ length: 6 }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32' as const, shape: [400, 400] })));
    const out = path.join(dir, 'out.safetensors');
    let writes = 0;
    let firstWrite!: () => void;
    const writing = new Promise<void>((resolve) => (firstWrite = resolve));
    const job = compressInWorker(WORKER, input, out, { criterion: { type: 'energy', fraction: 0.5 }, emit: 'factorized' }, {
      onProgress: (p) => {
        if (p.phase !== 'write') return;
        writes++;
        firstWrite();
      },
    });
    await writing;
    job.cancel();
    await assert.rejects(job.result, (e: unknown) => e instanceof JobFailedError && e.kind === 'cancelled');
    await job.exited;
    assert.ok(writes < 6, 'not every layer was written');
    assert.deepEqual(fs.readdirSync(dir), ['slow.safetensors'], 'no output and no temporary file');
  });

  it('cancel during a merge: no output, the thread ends', async () => {
    const dir = freshDir('cancel-merge');
    const models = [0, 1, 2].map((k) => {
      const file = path.join(dir, `m${k}.safetensors`);
      writeSafetensors(file, Array.from({ length: 8 }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32' as const, shape: [300, 300] })), { seed: k + 1 });
      return file;
    });
    let merged = 0;
    let first!: () => void;
    const started = new Promise<void>((resolve) => (first = resolve));
    const job = mergeInWorker(WORKER, models.slice(0, 2), { method: 'ties', base: models[2], out: path.join(dir, 'merged.safetensors') }, {
      onProgress: () => {
        merged++;
        first();
      },
    });
    await started;
    job.cancel();
    await assert.rejects(job.result, (e: unknown) => e instanceof JobFailedError && e.kind === 'cancelled');
    await job.exited;
    assert.ok(merged < 8, `${merged} of 8 tensors merged before the cancel took effect`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['m0.safetensors', 'm1.safetensors', 'm2.safetensors']);
  });

  it('cancel during weight matching (real models, aligned copy requested): nothing written, the thread ends', async () => {
    const dir = freshDir('cancel-match');
    let first!: () => void;
    const sweeping = new Promise<void>((resolve) => (first = resolve));
    const job = matchInWorker(WORKER, SILERO_V5, SILERO_V6, { spec: 'auto', out: path.join(dir, 'aligned.onnx') }, { onProgress: (p) => p.label?.startsWith('sweep') && first() });
    await sweeping;
    job.cancel();
    await assert.rejects(job.result, (e: unknown) => e instanceof JobFailedError && e.kind === 'cancelled');
    await job.exited;
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('different architectures, a hostile file, the input as output, a bad method parameter: typed, readable failures', async () => {
    const dir = freshDir('errors');
    await assert.rejects(
      matchInWorker(WORKER, SILERO_V5, ST_MIXED, { spec: 'auto' }).result,
      (e: unknown) => e instanceof JobFailedError && e.kind === 'architecture' && /different architectures/.test(e.message),
    );
    await assert.rejects(
      compressInWorker(WORKER, path.join(FIXTURES, 'hostile', 'st_truncated.safetensors'), path.join(dir, 'x.safetensors'), { criterion: { type: 'energy', fraction: 0.9 }, emit: 'dense' }).result,
      (e: unknown) => e instanceof JobFailedError && e.kind === 'truncated' && /st_truncated/.test(e.message),
    );
    await assert.rejects(
      compressInWorker(WORKER, ST_MIXED, ST_MIXED, { criterion: { type: 'energy', fraction: 0.9 }, emit: 'dense', force: true }).result,
      (e: unknown) => e instanceof JobFailedError && e.kind === 'output' && /input/.test(e.message),
    );
    await assert.rejects(
      mergeInWorker(WORKER, [MERGE('model0.safetensors'), MERGE('model1.safetensors')], { method: 'slerp', params: { t: 2 }, out: path.join(dir, 'm.safetensors') }).result,
      (e: unknown) => e instanceof JobFailedError && e.kind === 'input' && /--t must be 0…1, got 2/.test(e.message),
    );
    await assert.rejects(
      lmcInWorker(WORKER, SILERO_V5, SILERO_V6, { steps: 3 }).result,
      (e: unknown) => e instanceof JobFailedError && e.kind === 'onnxruntime' && /^onnxruntime could not run the model/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
