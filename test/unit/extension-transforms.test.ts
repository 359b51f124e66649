/**
 * The vscode-free parts of the Compress…, Merge… and Compare commands: output names and the targets they refuse,
 * the pickers' values and what they turn into (worker options that mean what the logged command line means — checked
 * by running both on real checkpoints), progress lines, and the Compare tab's page in headless Chromium (its CSP,
 * charts and buttons). Needs `npm run build` (the worker and the CLI) and /usr/bin/chromium for the page.
 */
import { PLOTLY_FILE, PLOTLY_PACKAGE } from '../../src/core/report/plotly-bundle';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { parseArgs } from '../../src/cli/args';
import { parseCompressOptions } from '../../src/cli/commands/compress';
import { runLmcJob } from '../../src/core/transforms/lmc/run-lmc';
import { runMatchJob } from '../../src/core/transforms/match/run-match';
import { METHOD_NAMES } from '../../src/core/transforms/merge/registry';
import { comparePageHtml, type ComparePageState } from '../../src/extension/compare-page';
import {
  compressCommandLine,
  compressOptions,
  compressSummary,
  CRITERIA,
  defaultCompressOutput,
  emitChoices,
  parseCriterion,
  shellLine,
} from '../../src/extension/compress-options';
import {
  defaultMergeOutput,
  defaultParameterText,
  mergeCommandLine,
  mergeInputsProblem,
  mergeOptions,
  mergeOutputExtensions,
  METHODS,
  methodByName,
  methodItem,
  parseMergeParameters,
} from '../../src/extension/merge-options';
import { besideInput, checkpointStem, outputProblem } from '../../src/extension/output-paths';
import { progressUpdate } from '../../src/extension/progress-text';
import { FromWorker, type LmcReport, type MatchReport } from '../../src/protocol';
import { compressInWorker, mergeInWorker } from '../../src/worker/client';
import { FIXTURES } from '../helpers/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const WORKER = path.join(ROOT, 'dist', 'worker.js');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const CHROMIUM = '/usr/bin/chromium';
const ST_MIXED = path.join(FIXTURES, 'converted', 'st_mixed.safetensors');
const SILERO_V5 = path.join(FIXTURES, 'shipped', 'silero_vad_v5.onnx');
const SILERO_V6 = path.join(FIXTURES, 'pairs', 'silero_vad_v6.onnx');
const MERGE = (f: string) => path.join(FIXTURES, 'pairs', 'merge', f);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-ext-transforms-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cliJson = (argv: string[]) => JSON.parse(execFileSync(process.execPath, [CLI, ...argv, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Record<string, unknown>;
const withoutSeconds = (r: object) => {
  const { seconds: _s, ...rest } = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
  return rest;
};

describe('output names and refused targets', () => {
  it('names beside the input from the checkpoint stem, never one that exists', () => {
    assert.equal(checkpointStem('/m/model.safetensors'), 'model');
    assert.equal(checkpointStem('/m/model.safetensors.index.json'), 'model');
    assert.equal(checkpointStem('/m/esrgan/model.json'), 'model');
    assert.equal(checkpointStem('/m/face_landmark_68_model-weights_manifest.json'), 'face_landmark_68_model-weights');
    assert.equal(checkpointStem('/m/silero_vad_v5.onnx'), 'silero_vad_v5');
    assert.equal(checkpointStem('/m/.safetensors'), 'model');
    const taken = new Set(['/m/a-compressed.safetensors', '/m/a-compressed-2.safetensors']);
    assert.equal(besideInput('/m/a.safetensors', '-compressed', '.safetensors', (p) => taken.has(p)), '/m/a-compressed-3.safetensors');
    assert.equal(besideInput('/m/a.safetensors', '-lora', '', () => false), '/m/a-lora');
  });

  it('refuses an input, a folder holding an input, the wrong extension, a LoRA folder named like a file', () => {
    const file = { file: ['.safetensors'] };
    assert.match(outputProblem('/m/a.safetensors', ['/m/a.safetensors'], file)!, /is one of the inputs/);
    assert.match(outputProblem('/m/x/../a.safetensors', ['/m/a.safetensors'], file)!, /is one of the inputs/);
    assert.match(outputProblem('/m', ['/m/a.safetensors'], { folder: true })!, /folder holding an input/);
    assert.match(outputProblem('/m/b.onnx', ['/m/a.safetensors'], file)!, /name the output \.safetensors \(got \.onnx\)/);
    assert.match(outputProblem('/m/b', ['/m/a.safetensors'], file)!, /got no extension/);
    assert.match(outputProblem('/m/b.safetensors', ['/m/a.safetensors'], { folder: true })!, /without a file extension/);
    assert.equal(outputProblem('/m/b.safetensors', ['/m/a.safetensors'], file), undefined);
    assert.equal(outputProblem('/m/b.ONNX', ['/m/a.onnx'], { file: ['.onnx', '.safetensors'] }), undefined);
    assert.equal(outputProblem('/m/a-lora', ['/m/a.safetensors'], { folder: true }), undefined);
  });
});

describe('Compress… choices', () => {
  it('the value box accepts what the CLI accepts and says why it refuses the rest', () => {
    assert.deepEqual(parseCriterion('rank-reduction', ' 40 '), { criterion: { type: 'rank-reduction', fraction: 0.4 } });
    assert.deepEqual(parseCriterion('energy', '0.95'), { criterion: { type: 'energy', fraction: 0.95 } });
    assert.deepEqual(parseCriterion('welore-tau', '0'), { criterion: { type: 'welore-tau', tau: 0 } });
    for (const [kind, text] of [['rank-reduction', '100'], ['rank-reduction', '0'], ['energy', '0'], ['energy', '1.5'], ['welore-tau', '-0.1'], ['energy', 'abc'], ['energy', '']] as const) {
      assert.ok('error' in parseCriterion(kind, text), `${kind} ${text}`);
    }
    assert.deepEqual(CRITERIA.map((c) => c.label), ['Rank reduction %', 'Energy', 'WeLore τ']);
    for (const c of CRITERIA) assert.ok('criterion' in parseCriterion(c.kind, c.initial), `${c.label}: the initial value is valid`);
  });

  it('offers onnx only for ONNX inputs (first), and defaults the output beside the input with the right extension', () => {
    assert.deepEqual(emitChoices('/m/a.safetensors').map((e) => e.label), ['factorized', 'dense', 'lora']);
    assert.deepEqual(emitChoices('/m/a.onnx').map((e) => e.label), ['onnx', 'factorized', 'dense', 'lora']);
    const none = () => false;
    const [onnx, factorized, , lora] = emitChoices('/m/silero.onnx');
    assert.equal(defaultCompressOutput('/m/silero.onnx', onnx, none), '/m/silero-compressed.onnx');
    assert.equal(defaultCompressOutput('/m/silero.onnx', factorized, none), '/m/silero-compressed.safetensors');
    assert.equal(defaultCompressOutput('/m/silero.onnx', lora, none), '/m/silero-lora');
  });

  it('the worker options mean what the logged command line means (parsed by the CLI; run by both on st_mixed)', async () => {
    for (const c of CRITERIA) {
      for (const e of emitChoices('/m/a.onnx')) {
        const crit = parseCriterion(c.kind, c.initial);
        assert.ok('criterion' in crit);
        const argv = compressCommandLine('/m/a.onnx', '/m/out', c.kind, c.initial, e.emit, true);
        const args = parseArgs(argv.slice(1), new Set(['out', 'rank-reduction', 'energy', 'welore-tau', 'emit']));
        const cliOptions = parseCompressOptions(args.flags);
        const ours = compressOptions(crit.criterion, e.emit, true);
        assert.deepEqual([cliOptions.criterion, cliOptions.emit, cliOptions.minRatio, cliOptions.force], [ours.criterion, ours.emit, ours.minRatio, ours.force]);
        assert.deepEqual(args.positionals, ['/m/a.onnx']);
      }
    }
    const dir = fs.mkdtempSync(path.join(tmp, 'compress-'));
    const out = path.join(dir, 'st_mixed-compressed.safetensors');
    const crit = parseCriterion('welore-tau', '0.3');
    assert.ok('criterion' in crit);
    const expected = cliJson(compressCommandLine(ST_MIXED, out, 'welore-tau', '0.3', 'dense', false));
    for (const f of expected.files as string[]) fs.rmSync(f);
    const job = compressInWorker(WORKER, ST_MIXED, out, compressOptions(crit.criterion, 'dense', false));
    const report = await job.result;
    assert.deepEqual(JSON.parse(JSON.stringify(report)), expected);
    const summary = compressSummary(report);
    const compressed = report.layers.filter((l) => l.compressed);
    assert.ok(compressed.length > 0);
    const kept = compressed.reduce((a, l) => a + l.rank, 0).toLocaleString('en-US');
    const full = compressed.reduce((a, l) => a + l.full_rank, 0).toLocaleString('en-US');
    assert.match(
      summary,
      new RegExp(`^Compressed st_mixed\\.safetensors → st_mixed-compressed\\.safetensors \\(dense\\): ${compressed.length} of 5 weight matrices \\(ranks ${kept} of ${full} kept\\), same shapes and parameter count \\([\\d,]+\\), rank-limited, worst rel_error [\\d.e+-]+\\.$`),
    );
    const factorized = compressSummary({ ...report, emit: 'factorized', totals: { ...report.totals, params_after: report.totals.params_before / 2 } });
    assert.match(factorized, /parameters 721,024 → 360,512 \(50\.0 % fewer\)/);
    const nothing = report.layers.map((l) => ({ ...l, compressed: false, rank: l.full_rank, reason: 'factorizing saves nothing: r(m+n) ≥ mn' }));
    assert.equal(
      compressSummary({ ...report, layers: nothing }),
      'Wrote st_mixed-compressed.safetensors, but none of the 5 weight matrices of st_mixed.safetensors was compressed (factorizing saves nothing: r(m+n) ≥ mn ×5): ask for a stronger reduction.',
    );
    assert.match(compressSummary({ ...report, emit: 'lora' }), /\(lora\): .* adapter of [\d,]+ parameters for layers of [\d,]+ \(\d+\.\d % fewer\), residual base beside it/);
    assert.equal(shellLine(['compress', '/a b/it\'s.safetensors', '--energy', '0.9']), `weight-spectra compress '/a b/it'\\''s.safetensors' --energy 0.9`);
  });
});

describe('Merge… choices', () => {
  it('lists every registry method with its parameters\' defaults', () => {
    assert.deepEqual(METHODS.map((m) => m.name), METHOD_NAMES);
    assert.equal(methodItem(methodByName('ties')!).detail, 'density = 0.5 · lambda = 1 · weights = 1 each · needs a base model · 1+ model');
    assert.equal(methodItem(methodByName('slerp')!).detail, 't = 0.5 · exactly 2 models');
    assert.equal(defaultParameterText(methodByName('dare')!, 2), 'density=0.5 lambda=1 weights=1,1');
    assert.equal(defaultParameterText(methodByName('linear')!, 3), 'weights=1,1,1');
    assert.equal(defaultParameterText(methodByName('opcm')!, 2), 'alpha=0.5');
    assert.equal(defaultParameterText(methodByName('rebasin')!, 2), 't=0.5');
    assert.equal(defaultParameterText(methodByName('rebasin')!, 3), 't=0.5 weights=1,1,1');
  });

  it('the parameter line: defaults parse back, every mistake is named', () => {
    for (const m of METHODS) {
      const r = parseMergeParameters(defaultParameterText(m, 2), m, 2);
      assert.ok(!('error' in r), `${m.name}: ${JSON.stringify(r)}`);
      assert.deepEqual(r.params, Object.fromEntries(m.params.map((p) => [p.name, p.default])));
    }
    const ties = methodByName('ties')!;
    assert.deepEqual(parseMergeParameters('density=0.3;lambda=2  weights=1,2.5', ties, 2), { params: { density: 0.3, lambda: 2 }, weights: [1, 2.5] });
    assert.deepEqual(parseMergeParameters('', ties, 2), { params: {} });
    const error = (text: string, m = ties, n = 2) => {
      const r = parseMergeParameters(text, m, n);
      return 'error' in r ? r.error : '';
    };
    assert.match(error('density=1.5'), /ties: density must be 0…1, got 1.5/);
    assert.match(error('density=x'), /density needs a number, got "x"/);
    assert.match(error('weights=1,2,3'), /weights needs 2 values/);
    assert.match(error('weights=1,,2'), /weights needs a number/);
    assert.match(error('t=0.5'), /ties has no parameter "t" \(it takes density, lambda, weights\)/);
    assert.match(error('density'), /"density" is not name=value/);
    assert.match(error('weights=1,1', methodByName('slerp')!), /slerp has no parameter "weights" \(it takes t\)/);
  });

  it('checks the models and base as the merge job does, and names the output by format', () => {
    const slerp = methodByName('slerp')!;
    const ta = methodByName('task-arithmetic')!;
    assert.match(mergeInputsProblem(slerp, ['/a'], undefined)!, /slerp needs at least 2 models/);
    assert.match(mergeInputsProblem(slerp, ['/a', '/b', '/c'], undefined)!, /merges exactly 2 models/);
    assert.match(mergeInputsProblem(ta, ['/a'], undefined)!, /needs a base model/);
    assert.match(mergeInputsProblem(slerp, ['/a', '/b'], '/c')!, /takes no base/);
    assert.match(mergeInputsProblem(ta, ['/a', '/c'], '/c')!, /base c is also one of the models/);
    assert.equal(mergeInputsProblem(ta, ['/a'], '/c'), undefined);
    assert.deepEqual(mergeOutputExtensions(['/a.onnx', '/b.onnx']), ['.onnx', '.safetensors']);
    assert.deepEqual(mergeOutputExtensions(['/a.onnx', '/b.safetensors']), ['.safetensors']);
    assert.equal(defaultMergeOutput(['/m/a.onnx', '/m/b.onnx'], 'slerp', () => false), '/m/a-slerp.onnx');
  });

  it('the worker options mean what the logged command line means (both run on the merge fixtures)', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'merge-'));
    const inputs = [MERGE('model0.safetensors'), MERGE('model1.safetensors')];
    const dare = methodByName('dare')!;
    const p = parseMergeParameters('density=0.7 lambda=0.8 weights=2,1', dare, 2);
    assert.ok(!('error' in p));
    const options = mergeOptions('dare', path.join(dir, 'merged.safetensors'), MERGE('base.safetensors'), p, false);
    const expected = cliJson(mergeCommandLine(inputs, options));
    for (const f of expected.files as string[]) fs.rmSync(f);
    const report = await mergeInWorker(WORKER, inputs, options).result;
    assert.deepEqual(withoutSeconds(report), withoutSeconds(expected));
    assert.deepEqual(report.params, { density: 0.7, lambda: 0.8 });
    assert.deepEqual(report.weights, [2, 1]);
  });
});

describe('progress lines', () => {
  const p = (phase: string | undefined, done: number, total: number, label?: string) => progressUpdate({ type: FromWorker.Progress, jobId: 1, done, total, label, phase });
  it('compress spends half on the spectra, half on the factors; match has nothing to count', () => {
    assert.deepEqual(p('spectra', 1, 4, 'a.weight'), { message: 'spectra 1 of 4 · a.weight', percent: 12.5 });
    assert.deepEqual(p('write', 2, 2, 'b.weight'), { message: 'factorizing 2 of 2 · b.weight', percent: 100 });
    assert.deepEqual(p('merge', 3, 4, 'c'), { message: '3 of 4 tensors · c', percent: 75 });
    assert.deepEqual(p('lmc', 1, 11, 'λ = 0.000'), { message: 'model 1 of 11 on the path · λ = 0.000', percent: 100 / 11 });
    assert.deepEqual(p('match', 0, 0, 'sweep 1: ch64 +2389'), { message: 'sweep 1: ch64 +2389' });
    assert.equal(p('merge', 1, 1, 'x'.repeat(100)).message.length, '1 of 1 tensors · '.length + 60);
  });
});

describe('Compare tab page', { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing` }, () => {
  let match: MatchReport;
  let lmc: LmcReport;
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    match = await runMatchJob(SILERO_V5, SILERO_V6, { spec: 'auto' });
    lmc = await runLmcJob(SILERO_V5, SILERO_V6, { steps: 5, inputs: path.join(FIXTURES, 'pairs', 'silero_inputs.npz') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
  });
  after(async () => browser?.close());

  async function open(state: ComparePageState) {
    const file = path.join(tmp, `compare-${Math.random().toString(36).slice(2)}.html`);
    const plotly = pathToFileURL(path.join(ROOT, 'node_modules', PLOTLY_PACKAGE, PLOTLY_FILE)).href;
    fs.writeFileSync(file, comparePageHtml(state, { cspSource: 'file:', plotly }));
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.addInitScript({ content: 'window.__posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m) });' });
    await page.goto(pathToFileURL(file).href);
    return page;
  }

  it('shows the distances, a row per tensor and the charts; buttons post their messages; CSP holds', async () => {
    const page = await open({ match, canRunLmc: true });
    await page.waitForFunction(() => document.querySelectorAll('.chart .main-svg').length >= 2);
    assert.equal(await page.$$eval('[data-testid="compare-table"] tbody tr', (r) => r.length), match.layers.length);
    assert.equal(await page.textContent('[data-testid="distance-before"]'), match.distance_before.toFixed(4));
    assert.equal(await page.textContent('[data-testid="distance-after"]'), match.distance_after.toFixed(4));
    assert.equal(await page.$$eval('[data-testid="chart-distances"] .trace.bars', (t) => t.length), 2);
    for (const id of ['save-aligned', 'run-lmc', 'show-report']) await page.click(`[data-testid="${id}"]`);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted), [{ type: 'saveAligned' }, { type: 'runLmc' }, { type: 'showReport' }]);
    assert.equal(await page.$('[data-testid="chart-lmc"]'), null);
    await page.close();
    assert.deepEqual(problems, []);
  });

  it('with the LMC curve: barrier, a point per λ; busy disables the buttons; no LMC button for other formats; names are escaped', async () => {
    const page = await open({ match, lmc, canRunLmc: true, busy: 'computing the LMC curve' });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="chart-lmc"] .main-svg').length >= 1);
    assert.equal(await page.$$eval('[data-testid="lmc-table"] tbody tr', (r) => r.length), 5);
    assert.match((await page.textContent('[data-testid="lmc-figures"]')) ?? '', new RegExp(`barrier \\(output-deviation\\)${lmc.barrier!.toFixed(4)}`));
    assert.equal(await page.$$eval('[data-testid="chart-lmc"] .scatterlayer .trace', (t) => t.length), 3);
    assert.ok(await page.$eval('[data-testid="save-aligned"]', (b) => (b as HTMLButtonElement).disabled));
    await page.close();

    const hostile = { ...match, format: 'safetensors' as const, a: '/m/<img src=x onerror=alert(1)>.safetensors', layers: [{ ...match.layers[0], name: '</script><script>alert(1)</script>' }] };
    const html = comparePageHtml({ match: hostile, canRunLmc: false }, { cspSource: 'file:', plotly: 'plotly.js', nonce: 'N0NCE' });
    assert.ok(!html.includes('<img src=x'));
    assert.ok(!html.includes('</script><script>alert'));
    assert.ok(!html.includes('data-testid="run-lmc"'));
    assert.match(html, /script-src 'nonce-N0NCE'/);
    assert.equal((html.match(/<script nonce="N0NCE"/g) ?? []).length, 2, 'every executable script carries the nonce');
    assert.match(html, /Linear mode connectivity needs two ONNX models/);
    assert.deepEqual(problems, []);
  });
});
