/** The analysis worker (dist/worker.js, a real worker thread): layers stream as they finish, cancel stops it at once. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_ANALYZE_OPTIONS } from '../../src/core/jobs/analyze/options';
import { analyzeInWorker, JobFailedError } from '../../src/worker/client';
import { writeSafetensors } from '../../bench/synthetic';
import { FIXTURES } from '../helpers/fixtures';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');

describe('analysis worker', () => {
  it('streams every layer before the final report, with progress counts', async () => {
    const seen: string[] = [];
    const job = analyzeInWorker(WORKER, path.join(FIXTURES, 'oracle', 'public.safetensors'), { ...DEFAULT_ANALYZE_OPTIONS, filter: undefined }, {
      onLayer: (layer, done, total) => {
        seen.push(layer.name);
        assert.equal(done, seen.length);
        assert.equal(total, 8);
      },
    });
    const report = await job.result;
    assert.deepEqual(seen, report.layers.map((l) => l.name));
    assert.equal(report.model.provider, 'cpu');
    assert.equal(await job.exited, 0, 'the thread ends by itself after the job');
  });

  it('reports a bad file as a typed failure, not a crash', async () => {
    const job = analyzeInWorker(WORKER, path.join(FIXTURES, 'hostile', 'st_truncated.safetensors'), { ...DEFAULT_ANALYZE_OPTIONS, filter: undefined });
    await assert.rejects(job.result, (e: unknown) => e instanceof JobFailedError && e.kind === 'truncated' && /st_truncated/.test(e.message));
  });

  it('cancel stops a long analysis within a second and ends the thread', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-cancel-'));
    const file = path.join(dir, 'slow.safetensors');
    writeSafetensors(file, Array.from({ length: 12 }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32' as const, shape: [1200, 1200] })));
    let layers = 0;
    let firstLayer!: () => void;
    const gotFirst = new Promise<void>((r) => (firstLayer = r));
    const job = analyzeInWorker(WORKER, file, { ...DEFAULT_ANALYZE_OPTIONS, filter: undefined }, {
      onLayer: () => {
        layers++;
        firstLayer();
      },
    });
    await gotFirst;
    const t0 = Date.now();
    job.cancel();
    await assert.rejects(job.result, (e: unknown) => e instanceof JobFailedError && e.kind === 'cancelled');
    await job.exited;
    assert.ok(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
    assert.ok(layers < 12, 'not every layer ran');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
