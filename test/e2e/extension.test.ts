/**
 * The extension in real VS Code (code-server + Chromium, see harness.ts): the built VSIX installed as a user would,
 * a workspace of real checkpoints, and what a user sees checked against the CLI's analysis of the same files.
 * Needs scripts/e2e/setup.sh and `npm run package` (npm run test:e2e does both). Screenshots: test-results/e2e-*.png.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { writeSafetensors } from '../../bench/synthetic';
import { cliLayerCount, cpuSeconds, EXTENSION_ID, FIXTURES, RESULTS, ROOT, sleep, threadNames, until, VsCode } from './harness';

const FILES = {
  oracle: 'public.safetensors',
  mixed: 'st_mixed.safetensors',
  gguf: 'gguf_kquant.gguf',
  onnx: 'silero_vad_v5.onnx',
  corrupt: 'st_truncated.safetensors',
  big: 'big.safetensors',
  model0: 'model0.safetensors',
  model1: 'model1.safetensors',
};

/** Tensor entries and data of a safetensors file, without its __metadata__ (which names the inputs and options). */
function safetensorsContent(file: string): { tensors: Record<string, unknown>; data: Buffer } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  delete header.__metadata__;
  return { tensors: header, data: buf.subarray(8 + n) };
}

/** Runs the CLI (the same build the VSIX bundles) and returns its JSON report. */
function cli(args: string[]): unknown {
  return JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args, '--json'], { encoding: 'utf8', timeout: 300_000 }));
}

/** 40 float32 1536×1536 matrices (377 MB): several seconds per layer here, so there is time to cancel. */
function writeBig(file: string): void {
  writeSafetensors(file, Array.from({ length: 40 }, (_, i) => ({ name: `blocks.${i}.mlp.weight`, dtype: 'F32' as const, shape: [1536, 1536] })));
}

const log = (line: string) => process.stderr.write(`  [e2e] ${line}\n`);

describe('Weight Spectra in VS Code (code-server)', () => {
  let vs: VsCode;
  let extensionHost: number;

  before(async () => {
    // Screenshots of an earlier run must not pass for this one's.
    if (fs.existsSync(RESULTS)) for (const f of fs.readdirSync(RESULTS)) if (/^e2e-(?!bench-).*\.png$/.test(f)) fs.rmSync(path.join(RESULTS, f));
    vs = await VsCode.start({
      files: [
        { name: FILES.oracle, from: path.join(FIXTURES, 'oracle', 'public.safetensors') },
        { name: FILES.mixed, from: path.join(FIXTURES, 'converted', 'st_mixed.safetensors') },
        { name: FILES.gguf, from: path.join(FIXTURES, 'converted', 'gguf_kquant.gguf') },
        { name: FILES.onnx, from: path.join(FIXTURES, 'shipped', 'silero_vad_v5.onnx') },
        { name: FILES.corrupt, from: path.join(FIXTURES, 'hostile', 'st_truncated.safetensors') },
        { name: FILES.big, write: writeBig },
        { name: FILES.model0, from: path.join(FIXTURES, 'pairs', 'merge', 'model0.safetensors') },
        { name: FILES.model1, from: path.join(FIXTURES, 'pairs', 'merge', 'model1.safetensors') },
      ],
      log,
    });
    extensionHost = vs.extensionHostPid()!;
  }, { timeout: 240_000 });

  after(async () => {
    await vs?.stop();
  });

  /** A test that leaves a screenshot and the extension host's log behind when it fails. */
  function step(name: string, timeout: number, fn: () => Promise<void>): void {
    it(name, { timeout }, async () => {
      try {
        await fn();
      } catch (e) {
        const shot = await vs?.screenshot(`FAIL-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
        log(`failed; screenshot ${shot}\n${vs?.extensionHostLog() ?? ''}`);
        throw e;
      }
    });
  }

  /** The report frame of the tab whose title mentions `file`, once it shows the report app. */
  async function reportFrame(): Promise<Frame> {
    return vs.frameWith('[data-testid="report-app"]', 60_000);
  }

  async function phase(frame: Frame): Promise<string | null> {
    return frame.locator('[data-testid="status-line"]').getAttribute('data-phase', { timeout: 5_000 });
  }

  async function waitPhase(frame: Frame, wanted: string[], timeoutMs: number): Promise<string> {
    return until(`the report to reach ${wanted.join('/')}`, timeoutMs, async () => {
      const p = await phase(frame);
      return p && wanted.includes(p) ? p : undefined;
    }, 200);
  }

  /** "N of M layers" under the table. */
  async function layerCount(frame: Frame): Promise<{ shown: number; total: number }> {
    const text = (await frame.locator('[data-testid="layer-count"]').textContent({ timeout: 5_000 })) ?? '';
    const m = /(\d+) of (\d+) layer/.exec(text);
    assert.ok(m, `layer count text "${text}"`);
    return { shown: Number(m[1]), total: Number(m[2]) };
  }

  function workerThreads(): number {
    return threadNames(extensionHost).filter((n) => n === 'WorkerThread').length;
  }
  /**
   * Threads named WorkerThread when no analysis runs: our worker threads and the native threads they start inherit
   * that name, and onnxruntime keeps one process-wide thread once a worker has loaded it. Measured after the first
   * finished analysis; an analysis that is cancelled or closed must bring the count back to it.
   */
  let idleWorkerThreads: number | undefined;
  async function settledWorkerThreads(): Promise<number> {
    let last = workerThreads();
    let since = Date.now();
    return until('the worker thread count to settle', 20_000, () => {
      const now = workerThreads();
      if (now !== last) [last, since] = [now, Date.now()];
      return Date.now() - since >= 1500 ? now : undefined;
    }, 100);
  }
  async function noAnalysisRunning(what: string, timeoutMs: number): Promise<void> {
    assert.ok(idleWorkerThreads !== undefined, 'the idle thread count was measured');
    await until(`${what} (WorkerThread threads back to ${idleWorkerThreads}: ${threadNames(extensionHost).join(',')})`, timeoutMs, () => workerThreads() <= idleWorkerThreads!, 100);
  }

  async function openAndCheckReport(file: string, open: () => Promise<unknown>, shot: string): Promise<Frame> {
    const expected = cliLayerCount(path.join(vs.workspace, file));
    await vs.closeAllEditors();
    await open();
    await until(`a tab for ${file}`, 30_000, async () => (await vs.tabTitles()).some((t) => t.includes(file)));
    const frame = await reportFrame();
    assert.equal(await waitPhase(frame, ['done', 'failed', 'cancelled'], 120_000), 'done');
    await frame.locator('tr[data-name]').first().waitFor({ timeout: 10_000 });
    const count = await layerCount(frame);
    assert.deepEqual(count, { shown: expected.layers, total: expected.layers }, `${file}: the CLI finds ${expected.layers} layers`);
    const rows = await frame.locator('tr[data-name]').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.name));
    for (const name of rows) assert.ok(expected.report.layers.some((l) => l.name === name), `row ${name} is a layer the CLI analyses`);
    await sleep(500);
    await vs.screenshot(shot);
    return frame;
  }

  step('the VSIX installs into a clean code-server', 30_000, async () => {
    const installed = vs.listExtensions();
    assert.ok(installed.some((e) => e.startsWith(`${EXTENSION_ID}@`)), `installed: ${installed.join(', ')}`);
    const dir = fs.readdirSync(vs.extensionsDir).find((d) => d.startsWith(EXTENSION_ID));
    assert.ok(dir, 'extension folder');
    assert.ok(fs.existsSync(path.join(vs.extensionsDir, dir, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node')));
    assert.ok(extensionHost > 0, 'an extension host runs');
  });

  step('Analyze Checkpoint from the explorer context menu fills the report with every layer', 180_000, async () => {
    await openAndCheckReport(FILES.oracle, () => vs.explorerContextAction(FILES.oracle, 'Analyze Checkpoint'), 'report-context-menu');
    const notes = await vs.notifications();
    assert.ok(!notes.some((n) => /could not|error/i.test(n)), `no error notification: ${notes.join(' | ')}`);
    idleWorkerThreads = await settledWorkerThreads();
    log(`threads named WorkerThread in the idle extension host: ${idleWorkerThreads}`);
    assert.ok(idleWorkerThreads <= 1, `the finished analysis left ${idleWorkerThreads} WorkerThread threads`);
  });

  step('clicking a layer draws its ESD chart with the fitted power law', 90_000, async () => {
    const frame = await reportFrame();
    const expected = cliLayerCount(path.join(vs.workspace, FILES.oracle)).report.layers.filter((l) => l.alpha !== undefined);
    const target = expected[1];
    await frame.locator(`tr[data-name="${target.name}"]`).click();
    await until(`${target.name} to be selected`, 10_000, async () => (await frame.locator('[data-testid="selected-layer"]').textContent())?.trim() === target.name);
    const chart = frame.locator('[data-testid="chart-esd"]');
    const traces = await until('the ESD chart of the selected layer', 30_000, async () => {
      const t = await chart.evaluate((el) => {
        const gd = el as HTMLElement & { data?: { type?: string; name?: string; x?: unknown[] }[]; layout?: { title?: { text?: string } } };
        return { title: gd.layout?.title?.text ?? '', data: (gd.data ?? []).map((d) => ({ type: d.type, name: d.name, points: d.x?.length ?? 0 })) };
      });
      return t.title.includes(target.name) && t.data.length >= 2 ? t : undefined;
    });
    const bars = traces.data.find((d) => d.type === 'bar' && d.name === 'ESD');
    assert.ok(bars && bars.points > 3, `an ESD histogram: ${JSON.stringify(traces.data)}`);
    const fit = traces.data.find((d) => d.type === 'scatter' && /^power law α = /.test(d.name ?? ''));
    assert.ok(fit, `a power-law trace: ${JSON.stringify(traces.data)}`);
    const alpha = Number(/α = ([\d.]+)/.exec(fit.name!)![1]);
    assert.ok(Math.abs(alpha - target.alpha!) <= 0.01 * target.alpha!, `α ${alpha} in the chart, ${target.alpha} from the CLI`);
    // The SVG plotly drew: histogram bars and the power-law line.
    assert.ok((await chart.locator('svg.main-svg').count()) > 0, 'a plotly SVG');
    assert.ok((await chart.locator('.barlayer .point path').count()) > 3, 'histogram bars in the SVG');
    assert.ok((await chart.locator('.scatterlayer .js-line').count()) >= 1, 'the fitted line in the SVG');
    await chart.scrollIntoViewIfNeeded();
    await sleep(300);
    await vs.screenshot('esd-chart');
  });

  step('opening a .safetensors file opens the report editor, not the binary-file warning', 180_000, async () => {
    await openAndCheckReport(FILES.mixed, () => vs.openFromExplorer(FILES.mixed), 'custom-editor-safetensors');
    const text = await vs.page.locator('.monaco-workbench .part.editor').innerText();
    assert.ok(!/binary|unsupported text encoding/i.test(text), `no binary-file warning: ${text.slice(0, 300)}`);
  });

  step('GGUF (context menu) and ONNX (opened) checkpoints are analysed like the CLI does', 240_000, async () => {
    await openAndCheckReport(FILES.gguf, () => vs.explorerContextAction(FILES.gguf, 'Analyze Checkpoint'), 'report-gguf');
    await openAndCheckReport(FILES.onnx, () => vs.openFromExplorer(FILES.onnx), 'custom-editor-onnx');
  });

  step('a corrupt checkpoint shows a readable error in the report', 90_000, async () => {
    await vs.closeAllEditors();
    await vs.explorerContextAction(FILES.corrupt, 'Analyze Checkpoint');
    const frame = await reportFrame();
    const box = frame.locator('[data-testid="error-box"]');
    await box.waitFor({ state: 'visible', timeout: 60_000 });
    const message = (await frame.locator('[data-testid="error-message"]').innerText()).trim();
    assert.match(message, /18448 bytes of tensor data but the file holds 11068|cut short|truncated/i);
    assert.equal(await box.getAttribute('data-error-kind'), 'truncated');
    assert.equal(await phase(frame), 'failed');
    assert.equal(vs.extensionHostPid(), extensionHost, 'the extension host did not restart');
    await sleep(300);
    await vs.screenshot('corrupt-file-error');
  });

  /** Waits for the quick input (QuickPick, input box or simple save dialog) titled like `title`, then accepts it with Enter. */
  async function acceptQuickInput(title: RegExp): Promise<string> {
    const widget = vs.page.locator('.quick-input-widget');
    const shown = await until(`a quick input titled ${title}`, 30_000, async () => {
      if (!(await widget.isVisible().catch(() => false))) return undefined;
      const t = (await widget.locator('.quick-input-title').textContent().catch(() => '')) ?? '';
      return title.test(t) ? t : undefined;
    }, 100);
    await sleep(300);
    await widget.locator('input.input').press('Enter');
    await until(`the quick input "${shown}" to go`, 10_000, async () => {
      if (!(await widget.isVisible().catch(() => false))) return true;
      return ((await widget.locator('.quick-input-title').textContent().catch(() => '')) ?? '') !== shown;
    });
    return shown;
  }

  step('Compress… from the context menu writes the model the CLI writes with the same choices', 180_000, async () => {
    await vs.closeAllEditors();
    const out = path.join(vs.workspace, 'st_mixed-compressed.safetensors');
    assert.ok(!fs.existsSync(out));
    await vs.explorerContextAction(FILES.mixed, 'Compress…');
    // The defaults a user accepts with Enter: rank reduction 40 %, factorized, saved beside the input.
    await acceptQuickInput(/Compress st_mixed\.safetensors: how to choose each layer's rank/);
    await acceptQuickInput(/Compress st_mixed\.safetensors: Rank reduction %/);
    await acceptQuickInput(/Compress st_mixed\.safetensors: output form/);
    await acceptQuickInput(/Compress st_mixed\.safetensors: save the factorized model as/);
    await until('the compressed model and the done notification', 120_000, async () => fs.existsSync(out) && (await vs.notifications()).some((n) => /^Weight Spectra: /.test(n)));
    await until('the progress notification to close', 10_000, async () => !(await vs.notifications()).some((n) => /compressing st_mixed/i.test(n)));
    await vs.screenshot('compress-done');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-e2e-cli-'));
    try {
      const ref = path.join(dir, 'ref.safetensors');
      cli(['compress', path.join(vs.workspace, FILES.mixed), '--out', ref, '--rank-reduction', '40', '--emit', 'factorized']);
      const [ours, theirs] = [safetensorsContent(out), safetensorsContent(ref)];
      assert.deepEqual(ours.tensors, theirs.tensors, 'same tensors, dtypes, shapes and offsets as the CLI');
      assert.ok(ours.data.equals(theirs.data), 'the same bytes as the CLI');
      assert.ok(Object.keys(ours.tensors).some((k) => k.endsWith('.weight.U')), 'some layer was factorized (W → W.U · W.V)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(vs.extensionHostPid(), extensionHost, 'the extension host did not restart');
  });

  step('Merge… on two selected models writes the CLI\'s linear merge', 180_000, async () => {
    await vs.closeAllEditors();
    const out = path.join(vs.workspace, 'model0-linear.safetensors');
    const alt = path.join(vs.workspace, 'model1-linear.safetensors');
    await vs.explorerRow(FILES.model0).click({ timeout: 15_000 });
    await vs.explorerRow(FILES.model1).click({ modifiers: ['Control'], timeout: 15_000 });
    await vs.explorerContextAction(FILES.model1, 'Merge…');
    const method = await acceptQuickInput(/Merge 2 models: method/);
    assert.match(method, /Merge 2 models/);
    await acceptQuickInput(/Merge \(linear\): parameters/);
    await acceptQuickInput(/Merge \(linear\): save the merged model as/);
    const written = await until('the merged model', 120_000, () => (fs.existsSync(out) ? out : fs.existsSync(alt) ? alt : undefined));
    await until('the done notification', 30_000, async () => (await vs.notifications()).some((n) => /^Weight Spectra: /.test(n) && /merge|linear/i.test(n)));
    await until('the progress notification to close', 10_000, async () => !(await vs.notifications()).some((n) => /merging 2 models/i.test(n)));
    await vs.screenshot('merge-done');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-e2e-cli-'));
    try {
      const ref = path.join(dir, 'ref.safetensors');
      cli(['merge', path.join(vs.workspace, FILES.model0), path.join(vs.workspace, FILES.model1), '--out', ref, '--method', 'linear']);
      const [ours, theirs] = [safetensorsContent(written), safetensorsContent(ref)];
      assert.deepEqual(ours.tensors, theirs.tensors);
      assert.ok(ours.data.equals(theirs.data), 'the same bytes as the CLI');
      assert.ok(!ours.data.equals(safetensorsContent(path.join(vs.workspace, FILES.model0)).data), 'a merge, not a copy');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Starts the long analysis, waits for its first layers, cancels with `cancel`, then checks the worker is gone. */
  async function cancelLongAnalysis(start: () => Promise<unknown>, cancel: (frame: Frame) => Promise<void>, shot: string): Promise<void> {
    await noAnalysisRunning('no analysis before this one', 30_000);
    await start();
    const frame = await reportFrame();
    // A rerun starts from a report that still shows the cancelled run's rows: wait for the new run first.
    await waitPhase(frame, ['waiting', 'running'], 30_000);
    await until('the first layer of the long analysis', 120_000, async () => (await phase(frame)) === 'running' && (await frame.locator('tr[data-name]').count()) > 0, 250);
    assert.ok(workerThreads() > idleWorkerThreads!, `a worker thread runs the analysis: ${threadNames(extensionHost).join(', ')}`);
    await vs.screenshot(`${shot}-running`);
    const before = await layerCount(frame);
    await cancel(frame);
    const t0 = Date.now();
    await noAnalysisRunning('the worker thread to end after Cancel', 15_000);
    log(`worker gone ${Date.now() - t0} ms after Cancel`);
    assert.equal(await waitPhase(frame, ['cancelled', 'failed', 'done'], 10_000), 'cancelled');
    // Nothing keeps computing: the extension host idles and no more layers arrive.
    const cpu0 = cpuSeconds(extensionHost);
    await sleep(3000);
    const busy = cpuSeconds(extensionHost) - cpu0;
    assert.ok(busy < 1.0, `the extension host used ${busy.toFixed(2)} s of CPU in the 3 s after Cancel`);
    const afterCancel = await layerCount(frame);
    assert.ok(afterCancel.total <= before.total + 2 && afterCancel.total < 40, `layers stopped arriving: ${before.total} → ${afterCancel.total}`);
    await until('the progress notification to close', 10_000, async () => !(await vs.notifications()).some((n) => /analysing big/i.test(n)));
    assert.equal(vs.extensionHostPid(), extensionHost, 'the extension host did not restart');
    await vs.screenshot(`${shot}-cancelled`);
  }

  step('Cancel in the progress notification stops the worker', 240_000, async () => {
    await vs.closeAllEditors();
    await cancelLongAnalysis(
      () => vs.explorerContextAction(FILES.big, 'Analyze Checkpoint'),
      async () => {
        const toast = vs.page.locator('.notifications-toasts .notification-toast', { hasText: 'big.safetensors' });
        await toast.hover();
        await toast.locator('.monaco-button', { hasText: 'Cancel' }).click({ timeout: 10_000 });
      },
      'cancel-notification',
    );
  });

  step('Cancel in the report stops the worker; Analyze again restarts it', 240_000, async () => {
    const frame = await reportFrame();
    await cancelLongAnalysis(
      () => frame.locator('[data-testid="rerun"]').click({ timeout: 10_000 }),
      (f) => f.locator('[data-testid="cancel"]').click({ timeout: 10_000 }),
      'cancel-report',
    );
  });

  step('closing a running report tab stops its worker', 180_000, async () => {
    await vs.closeAllEditors();
    await noAnalysisRunning('no analysis before this one', 30_000);
    await vs.openFromExplorer(FILES.big);
    const frame = await reportFrame();
    await until('the first layer', 120_000, async () => (await frame.locator('tr[data-name]').count()) > 0, 250);
    assert.ok(workerThreads() > idleWorkerThreads!, 'a worker thread runs the analysis');
    await vs.closeAllEditors();
    await noAnalysisRunning('the worker thread to end after the tab closed', 15_000);
  });

  step('after all these analyses no thread was left behind', 60_000, async () => {
    assert.equal(await settledWorkerThreads(), idleWorkerThreads);
    assert.equal(vs.extensionHostPid(), extensionHost, 'the same extension host ran every test');
  });
});
