/**
 * Child process of bench/spectra.ts (goals 4 and 5): analyses the layers of a checkpoint that match a filter, the way
 * the CLI's worker does (onnxruntime backend, its eigen pool, analyzeCheckpoint with its prefetch of the next tensor), and prints one
 * JSON line: wall time, peak RSS of this process, and when every tensor read started/finished and every layer finished,
 * so the parent can tell how much read time the pipeline left exposed.
 *   node --import tsx bench/analyze-child.ts <checkpoint> <filter-regex> [read-only]
 */
import { openCheckpoint } from '../src/core/checkpoint/registry';
import type { Checkpoint } from '../src/core/checkpoint/types';
import { DEFAULT_ANALYZE_OPTIONS } from '../src/core/jobs/analyze/options';
import { planLayers } from '../src/core/jobs/analyze/plan';
import { analyzeCheckpoint } from '../src/core/jobs/analyze/run';
import * as path from 'node:path';
import { createOrtGram } from '../src/core/linalg/ort/gram-session';
import { analysisBackend } from '../src/worker/eigen-pool';

async function main() {
  const [file, filterSource, mode] = process.argv.slice(2);
  const filter = new RegExp(filterSource);
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  const ckpt = await openCheckpoint(file);
  const reads: { name: string; start: number; end: number }[] = [];
  const timed: Checkpoint = new Proxy(ckpt, {
    get(target, prop, receiver) {
      if (prop !== 'read') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Checkpoint['read']>) => {
        const r = { name: args[0], start: now(), end: NaN };
        reads.push(r);
        const data = await target.read(...args);
        r.end = now();
        return data;
      };
    },
  });
  if (mode === 'read-only') {
    // The same reads, one after another, no compute: what the reads cost when nothing hides them.
    for (const p of planLayers(ckpt, { ...DEFAULT_ANALYZE_OPTIONS, filter })) if (!p.skipped) await timed.read(p.name, 'float32');
  } else {
    const gram = await createOrtGram('cpu');
    const options = { ...DEFAULT_ANALYZE_OPTIONS, filter };
    const { gram: backend, parallelLayers, pool } = analysisBackend(gram.backend, gram.provider, planLayers(ckpt, options), options, path.join(__dirname, '..', 'dist', 'eigen-thread.js'));
    const layers: { name: string; done: number; error?: string }[] = [];
    await analyzeCheckpoint(timed, options, { gram: backend, provider: gram.provider, parallelLayers }, {
      onLayer: (l) => layers.push({ name: l.name, done: now(), error: l.error }),
    });
    await pool?.close();
    await gram.release();
    process.stdout.write(`${JSON.stringify({ wall: now(), maxRssMB: process.resourceUsage().maxRSS / 1024, reads, layers })}\n`);
    await ckpt.close();
    return;
  }
  process.stdout.write(`${JSON.stringify({ wall: now(), maxRssMB: process.resourceUsage().maxRSS / 1024, reads, layers: [] })}\n`);
  await ckpt.close();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
