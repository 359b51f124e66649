/**
 * The extension host's parts that need no VS Code: settings → analysis options, the AnalysisSession that feeds a report
 * tab from the real worker (dist/worker.js, so `npm run build` first), exports, the page HTML, and the package.json
 * contributions they must agree with. The vscode glue itself runs in the code-server e2e tests (test/e2e).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { writeSafetensors } from '../../bench/synthetic';
import type { AnalysisReport } from '../../src/core/report/model';
import { AnalysisSession } from '../../src/extension/analysis-session';
import { defaultExportPath, looksLikeCheckpoint, renderExport, reportCsv, reportJson } from '../../src/extension/exports';
import { analyzeOptionsFromSettings } from '../../src/extension/settings';
import { contentSecurityPolicy, reportPageHtml } from '../../src/extension/webview-html';
import type { ToWebviewMessage } from '../../src/protocol';
import { FIXTURES } from '../helpers/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const WORKER = path.join(ROOT, 'dist', 'worker.js');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

const settingsFrom = (values: Record<string, unknown>) => analyzeOptionsFromSettings((k) => values[k]);

describe('settings → analysis options', () => {
  it('defaults: auto provider, no FARMS, eigenvalues always on (the charts need them)', () => {
    const { options, problems } = settingsFrom({});
    assert.deepEqual(problems, []);
    assert.equal(options.provider, 'auto');
    assert.equal(options.farms, false);
    assert.equal(options.mpFit, false);
    assert.equal(options.eigenvalues, true);
    assert.equal(options.filter, undefined);
    assert.deepEqual([options.minEvals, options.maxEvals, options.maxN], [10, 15000, 50000]);
  });

  it('the defaults declared in package.json give the same options as unset settings', () => {
    const props = PKG.contributes.configuration.properties as Record<string, { default: unknown }>;
    const defaults = Object.fromEntries(Object.entries(props).map(([k, v]) => [k.replace(/^weightSpectra\./, ''), v.default]));
    assert.deepEqual(settingsFrom(defaults), settingsFrom({}));
    // With FARMS on, package.json's FARMS defaults are the LLM paper's (what the CLI uses with --farms).
    const farmsOn = settingsFrom({ ...defaults, 'farms.enabled': true });
    assert.deepEqual(farmsOn.options.farms, settingsFrom({ 'farms.enabled': true }).options.farms);
    assert.deepEqual(farmsOn.options.farms, { num_row_samples: 2000, Q_ratio: 1, sampling_ops_per_dim: 15, fix_fingers: 'xmin_peak' });
  });

  it('maps every setting', () => {
    const { options, problems } = settingsFrom({
      provider: 'cuda',
      'farms.enabled': true,
      'farms.rows': 100,
      'farms.q': 2,
      'farms.windows': 10,
      'farms.fit': 'mid',
      minEvals: 20,
      maxEvals: 500,
      maxN: 1000,
      mpFit: true,
      filter: '\\.(q|k|v)_proj\\.',
    });
    assert.deepEqual(problems, []);
    assert.equal(options.provider, 'cuda');
    assert.deepEqual(options.farms, { num_row_samples: 100, Q_ratio: 2, sampling_ops_per_dim: 10, fix_fingers: 'xmin_mid' });
    assert.deepEqual([options.minEvals, options.maxEvals, options.maxN, options.mpFit, options.filter], [20, 500, 1000, true, '\\.(q|k|v)_proj\\.']);
    assert.equal(settingsFrom({ 'farms.enabled': true, 'farms.fit': 'full' }).options.farms && (settingsFrom({ 'farms.enabled': true, 'farms.fit': 'full' }).options.farms as { fix_fingers: unknown }).fix_fingers, null);
  });

  it('bad values fall back to the default and say which setting and why', () => {
    const { options, problems } = settingsFrom({ provider: 'tpu', filter: '(unclosed', minEvals: -3, maxEvals: 2.5, 'farms.enabled': true, 'farms.fit': 'best', 'farms.q': 0 });
    assert.equal(options.provider, 'auto');
    assert.equal(options.filter, undefined);
    assert.equal(options.minEvals, 10);
    assert.equal(options.maxEvals, 15000);
    assert.deepEqual(options.farms, { num_row_samples: 2000, Q_ratio: 1, sampling_ops_per_dim: 15, fix_fingers: 'xmin_peak' });
    assert.deepEqual(
      problems.map((p) => p.key),
      ['weightSpectra.provider', 'weightSpectra.filter', 'weightSpectra.minEvals', 'weightSpectra.maxEvals', 'weightSpectra.farms.fit', 'weightSpectra.farms.q'],
    );
    assert.match(problems[1].message, /not a valid regular expression/);
    const inverted = settingsFrom({ minEvals: 100, maxEvals: 50 });
    assert.deepEqual([inverted.options.minEvals, inverted.options.maxEvals], [100, 15000]);
    assert.equal(inverted.problems[0].key, 'weightSpectra.maxEvals');
    // FARMS parameters are ignored (not validated) while FARMS is off; a blank filter means every layer.
    assert.deepEqual(settingsFrom({ 'farms.fit': 'best', filter: '  ' }), settingsFrom({}));
  });
});

/** Runs one session to the end and returns what the webview would have received. */
async function record(file: string, settings: Record<string, unknown> = { provider: 'cpu' }) {
  const messages: ToWebviewMessage[] = [];
  const log: string[] = [];
  const session = new AnalysisSession(file, WORKER, { post: (m) => messages.push(m), log: (l) => log.push(l) });
  const outcome = await session.start(settingsFrom(settings).options);
  return { session, outcome, messages, log };
}

describe('AnalysisSession (real worker thread)', () => {
  it('streams Begin, layer batches with flags and a running summary, then Done; eigenvalues stay on the host', async () => {
    const file = path.join(FIXTURES, 'oracle', 'public.safetensors');
    const { session, outcome, messages, log } = await record(file);
    assert.equal(outcome.status, 'done');
    assert.equal(messages[0].type, 'begin');
    assert.deepEqual(messages[1], { type: 'model', info: { format: 'safetensors', parameters: 2779520, provider: 'cpu', total: 8 } }, 'the header before any row');
    assert.equal(messages[messages.length - 1].type, 'done');
    const batches = messages.filter((m) => m.type === 'layers');
    assert.ok(batches.length >= 1);
    const streamed = batches.flatMap((m) => (m.type === 'layers' ? m.layers : []));
    assert.deepEqual(streamed.map((l) => l.name), session.report!.layers.map((l) => l.name));
    const last = batches[batches.length - 1];
    assert.ok(last.type === 'layers' && last.done === 8 && last.total === 8 && last.summary.layers_analysed === 7);
    assert.deepEqual(streamed.find((l) => l.name === 'layers.5.weight')?.flags, ['over-trained'], 'flags while streaming');
    for (const m of messages) assert.doesNotMatch(JSON.stringify(m), /"eigenvalues":\[/, `${m.type} carries no eigenvalues`);
    // The host keeps every analysed layer's spectrum for GetSpectrum, and the final report keeps them for exports.
    const l0 = session.report!.layers.find((l) => l.name === 'layers.0.weight')!;
    assert.equal(session.spectrum('layers.0.weight')?.length, 256);
    assert.deepEqual(session.spectrum('layers.0.weight'), l0.eigenvalues);
    assert.equal(session.spectrum('edge.small.weight'), undefined, 'a skipped layer has none');
    assert.ok(log.some((l) => /done in .* s \(first layer after/.test(l)), log.join('\n'));
    assert.ok(log.some((l) => /provider=cpu, FARMS off/.test(l)), log.join('\n'));

    // A reloaded webview gets everything again in four messages.
    const replay: ToWebviewMessage[] = [];
    session.replay((m) => replay.push(m));
    assert.deepEqual(replay.map((m) => m.type), ['begin', 'model', 'layers', 'done']);
    assert.equal(replay[2].type === 'layers' && replay[2].layers.length, 8);
    assert.deepEqual(replay[3], messages[messages.length - 1]);
  });

  it('reports a corrupt checkpoint as a typed failure, for the webview and the log', async () => {
    const file = path.join(FIXTURES, 'hostile', 'st_truncated.safetensors');
    const { outcome, messages, log } = await record(file);
    assert.equal(outcome.status, 'failed');
    const failed = messages[messages.length - 1];
    assert.ok(failed.type === 'failed' && failed.kind === 'truncated' && failed.file === file, JSON.stringify(failed));
    assert.match(failed.type === 'failed' ? failed.message : '', /st_truncated\.safetensors: safetensors: the header describes/);
    assert.ok(log.some((l) => /failed \(truncated\)/.test(l)));
  });

  it('a missing worker script is a readable internal failure, not a crash', async () => {
    const session = new AnalysisSession(path.join(FIXTURES, 'oracle', 'public.safetensors'), path.join(os.tmpdir(), 'no-such-worker.js'), { post: () => {}, log: () => {} });
    const outcome = await session.start(settingsFrom({ provider: 'cpu' }).options);
    assert.equal(outcome.status, 'failed');
    assert.ok(outcome.status === 'failed' && outcome.kind === 'internal');
  });

  // Cancel is cooperative (src/worker/client.ts): terminating a thread inside an onnxruntime call would abort the host.
  it('cancel stops the worker mid-analysis; dispose silences a running session', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-session-'));
    const file = path.join(dir, 'slow.safetensors');
    writeSafetensors(file, Array.from({ length: 12 }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32' as const, shape: [1000, 1000] })));
    try {
      const messages: ToWebviewMessage[] = [];
      let firstLayer!: () => void;
      const gotFirst = new Promise<void>((r) => (firstLayer = r));
      const session = new AnalysisSession(file, WORKER, { post: (m) => messages.push(m), log: () => {}, onProgress: () => firstLayer() });
      const run = session.start(settingsFrom({ provider: 'cpu' }).options);
      await gotFirst;
      assert.equal(session.running, true);
      session.cancel();
      const outcome = await run;
      assert.equal(outcome.status, 'cancelled');
      assert.equal(session.running, false);
      const last = messages[messages.length - 1];
      assert.ok(last.type === 'failed' && last.kind === 'cancelled', JSON.stringify(last));
      assert.match(last.type === 'failed' ? last.message : '', /^Cancelled after \d+ of 12 layers\.$/);

      // Rerun, then close the tab while it runs: nothing is posted after dispose.
      const again = session.start(settingsFrom({ provider: 'cpu' }).options);
      const before = messages.length;
      session.dispose();
      const outcome2 = await again;
      assert.equal(outcome2.status, 'cancelled');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(messages.length, before, messages.slice(before).map((m) => m.type).join(','));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('exports', () => {
  const report = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reports', 'sample-analysis.json'), 'utf8')) as AnalysisReport;

  it('CSV: one row per layer, RFC 4180 quoting, flags joined', () => {
    const tricky: AnalysisReport = { ...report, layers: [...report.layers, { ...report.layers[0], name: 'odd,"name"\nhere', flags: ['a', 'b'] }] };
    const csv = reportCsv(tricky);
    const lines = csv.split('\r\n');
    assert.equal(lines[lines.length - 1], '');
    const header = lines[0].split(',');
    assert.deepEqual(header.slice(0, 4), ['layer_id', 'name', 'kind', 'layer_type']);
    assert.ok(header.includes('alpha') && header.includes('farms_alpha') && header.includes('flags'));
    assert.equal(lines.length, tricky.layers.length + 2, 'header, one record per layer, final CRLF (a quoted LF is not a record break)');
    assert.ok(csv.includes('"odd,""name""\nhere"'));
    const row1 = lines[1].split(',');
    const first = report.layers[0];
    assert.equal(row1[header.indexOf('name')], first.name);
    assert.equal(Number(row1[header.indexOf('alpha')]), first.alpha);
    assert.equal(row1[header.indexOf('flags')], (first.flags ?? []).join(';'));
    const skipped = lines.find((l) => l.includes('edge.small.weight'))!.split(',');
    assert.equal(skipped[header.indexOf('status')], 'skipped');
    assert.equal(skipped[header.indexOf('alpha')], '');
  });

  it('JSON drops the eigenvalues; HTML keeps them for its ESD charts', () => {
    assert.ok(report.layers.some((l) => l.eigenvalues?.length));
    const json = JSON.parse(reportJson(report)) as AnalysisReport;
    assert.equal(json.layers.length, report.layers.length);
    assert.ok(json.layers.every((l) => l.eigenvalues === undefined));
    assert.equal(json.model.summary.alpha, report.model.summary.alpha);
    const html = renderExport('html', report);
    assert.match(html, /^<!doctype html>/);
    assert.ok(html.includes(String(report.layers[0].eigenvalues![3])));
  });

  it('default file names sit next to the checkpoint; checkpoint files are never export targets', () => {
    assert.equal(defaultExportPath('/m/model.safetensors', 'csv'), '/m/model-spectra.csv');
    assert.equal(defaultExportPath('/m/model.safetensors.index.json', 'json'), '/m/model.safetensors-spectra.json');
    assert.equal(defaultExportPath('/m/psnr/model.json', 'html'), '/m/psnr/model-spectra.html');
    for (const f of ['/m/model.safetensors', '/m/x.GGUF', '/m/model.json', '/m/model.safetensors.index.json', '/m/g-weights_manifest.json', '/m/model.onnx.data', '/m/pytorch_model.bin']) {
      assert.equal(looksLikeCheckpoint(f), true, f);
    }
    for (const f of ['/m/model-spectra.json', '/m/report.csv', '/m/report.html', '/m/config.json']) assert.equal(looksLikeCheckpoint(f), false, f);
  });
});

describe('report page HTML and package.json contributions', () => {
  it('strict CSP: scripts only with the nonce, nothing remote', () => {
    const html = reportPageHtml({ cspSource: 'https://file+.vscode-resource.vscode-cdn.net', script: 's.js', style: 's.css', plotly: 'p.js', title: 'Spectra · <x>' });
    const nonce = /script-src 'nonce-([A-Za-z0-9]+)'/.exec(html)?.[1];
    assert.ok(nonce && nonce.length >= 20);
    assert.equal(html.match(new RegExp(`<script nonce="${nonce}" src=`, 'g'))?.length, 2);
    assert.match(html, /<title>Spectra · &lt;x&gt;<\/title>/);
    assert.match(contentSecurityPolicy('X', 'n'), /^default-src 'none'; script-src 'nonce-n'; style-src X 'unsafe-inline'; img-src X data: blob:; font-src X/);
    assert.notEqual(reportPageHtml({ cspSource: 'X', script: '', style: '', plotly: '', title: '' }), reportPageHtml({ cspSource: 'X', script: '', style: '', plotly: '', title: '' }), 'a fresh nonce each time');
  });

  it('explorer menus appear for the files the readers open, and only for them', () => {
    const menus = PKG.contributes.menus['explorer/context'] as { command: string; when: string }[];
    assert.deepEqual(menus.map((m) => m.command).sort(), ['weightSpectra.analyze', 'weightSpectra.compare', 'weightSpectra.compress', 'weightSpectra.merge']);
    // Evaluate the when-clause's regex parts the way VS Code does (JavaScript regular expressions).
    const when = menus[0].when;
    const ext = new RegExp(/resourceExtname =~ \/(.+?)\/i/.exec(when)![1], 'i');
    const names = [...when.matchAll(/resourceFilename =~ \/(.+?)\/i/g)].map((m) => new RegExp(m[1], 'i'));
    const shown = (file: string) => ext.test(path.extname(file)) || file === 'model.json' || names.some((r) => r.test(file));
    for (const f of ['model.safetensors', 'X.GGUF', 'm.onnx', 'w.npz', 'w.npy', 'k.h5', 'a.pt', 'a.pth', 'a.ckpt', 'pytorch_model.bin', 'model.json', 'model.safetensors.index.json', 'face-weights_manifest.json']) {
      assert.equal(shown(f), true, f);
    }
    for (const f of ['README.md', 'config.json', 'tokenizer.json', 'model.safetensors.txt']) assert.equal(shown(f), false, f);
  });

  it('the checkpoint editor is the default for unambiguous formats and an option for shared extensions', () => {
    const editors = PKG.contributes.customEditors as { viewType: string; priority: string; selector: { filenamePattern: string }[] }[];
    const patterns = (priority: string) => editors.filter((e) => e.priority === priority).flatMap((e) => e.selector.map((s) => s.filenamePattern)).sort();
    assert.deepEqual(patterns('default'), ['*.gguf', '*.npy', '*.npz', '*.onnx', '*.safetensors']);
    assert.deepEqual(patterns('option'), ['*.bin', '*.ckpt', '*.h5', '*.pt', '*.pth']);
    assert.deepEqual(PKG.extensionKind, ['workspace']);
    const built = fs.readFileSync(path.join(ROOT, 'dist', 'extension.js'), 'utf8');
    for (const e of editors) assert.ok(built.includes(e.viewType), `${e.viewType} is registered`);
    assert.ok(built.includes('require("vscode")'), 'vscode stays external');
  });
});
