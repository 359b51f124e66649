/**
 * The standalone HTML report in real headless Chromium, with every network request refused:
 * renders the sample report (test/fixtures/reports/sample-analysis.json), checks table, charts, selection and
 * that nothing remote is referenced. Needs `npm run build` (dist/report.js) and /usr/bin/chromium.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { renderHtmlReport, safeJson } from '../../src/cli/html-report';
import type { AnalysisReport, LayerResult } from '../../src/core/report/model';
import { weloreGrid } from '../../webview/report/figures';
import { blockIndexOf, logHistogram, powerLawCurve, singularValueDecay } from '../../webview/report/layers';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'reports', 'sample-analysis.json');
const CHROMIUM = '/usr/bin/chromium';
const CHART_IDS = ['alpha', 'condition', 'farms', 'welore', 'esd', 'sv'];

function loadSample(): AnalysisReport {
  return JSON.parse(readFileSync(SAMPLE, 'utf8')) as AnalysisReport;
}

/** The sample plus one failed layer (the oracle has none) and a name that tries to close the JSON script. */
function sampleWithEdgeCases(): AnalysisReport {
  const report = loadSample();
  report.layers.push({
    name: 'lm_head.</script><!--weight',
    layer_id: 14,
    shape: [1000, 256],
    kind: 'embedding',
    dtype: 'float32',
    layer_type: 'dense',
    N: 1000,
    M: 256,
    rf: 1,
    error: 'out of memory while computing the Gram matrix',
  });
  report.model.summary.layers_failed = 1;
  return report;
}

describe('HTML report (headless Chromium, no network)', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is missing` }, () => {
  let browser: Browser;
  let page: Page;
  let html: string;
  let report: AnalysisReport;
  const problems: string[] = [];
  const requests: string[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-html-'));

  before(async () => {
    mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    report = sampleWithEdgeCases();
    html = renderHtmlReport(report);
    const file = path.join(dir, 'report.html');
    writeFileSync(file, html);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction((n) => document.querySelectorAll('.ws-chart .main-svg').length >= n, CHART_IDS.length, { timeout: 10_000 });
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads without console errors, CSP violations or network requests', () => {
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);
  });

  it('references no remote script, style or image', () => {
    assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i);
    assert.doesNotMatch(html, /<link[^>]*\shref\s*=\s*["']?(https?:)?\/\//i);
    assert.doesNotMatch(html, /<img[^>]*\ssrc\s*=\s*["']?(https?:)?\/\//i);
    assert.doesNotMatch(html, /@import\s+url\(\s*["']?https?:/i);
    // The only <script> elements are the JSON data and the two inlined scripts.
    assert.equal(html.match(/<script[\s>]/gi)?.length, 3);
    assert.doesNotMatch(html.slice(html.indexOf('id="report-data"'), html.indexOf('</script>')), /<\/script|<!--/i);
  });

  it('shows the header and summary cards', async () => {
    assert.equal(await page.textContent('.ws-file'), 'public.safetensors');
    const meta = await page.textContent('.ws-meta');
    for (const s of ['safetensors', '7 analysed', '1 skipped', '1 failed', 'CPUExecutionProvider']) assert.ok(meta?.includes(s), `${s} in ${meta}`);
    const cards = await page.$$eval('.ws-card', (cs) => cs.map((c) => c.textContent ?? ''));
    assert.ok(cards.some((c) => c.startsWith('Mean α7.57')), cards.join(' | '));
    assert.ok(cards.some((c) => c.startsWith('Under-trained3')), cards.join(' | '));
  });

  it('has one table row per layer, with the reason of skipped and failed layers', async () => {
    const names = await page.$$eval('.ws-table tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.name));
    assert.deepEqual([...names].sort(), report.layers.map((l) => l.name).sort());
    const status = await page.$$eval('.ws-table td.ws-status', (cells) => cells.map((c) => c.textContent));
    assert.ok(status.some((s) => s?.includes('skipped') && s.includes('min_evals')), String(status));
    assert.ok(status.some((s) => s?.includes('failed') && s.includes('out of memory')), String(status));
  });

  it('draws a plotly SVG in every chart container', async () => {
    for (const id of CHART_IDS) {
      assert.equal(await page.locator(`#chart-${id} .main-svg`).count() > 0, true, `chart ${id}`);
    }
  });

  it('draws the ESD as a log-binned histogram with the power-law fit and xmin line', async () => {
    const esd = await page.evaluate(() => {
      const gd = document.getElementById('chart-esd') as HTMLElement & { data: Record<string, unknown>[]; layout: Record<string, any> };
      return {
        traces: gd.data.map((t) => ({ type: t.type, mode: t.mode, name: t.name, n: (t.x as unknown[]).length })),
        xType: gd.layout.xaxis.type,
        yType: gd.layout.yaxis.type,
        shapes: (gd.layout.shapes as { x0: number }[]).map((s) => s.x0),
        bars: document.querySelectorAll('#chart-esd .bars path').length,
      };
    });
    assert.equal(esd.xType, 'log');
    assert.equal(esd.yType, 'log');
    assert.ok(esd.traces.some((t) => t.type === 'bar' && t.name === 'ESD' && t.n >= 12), JSON.stringify(esd.traces));
    assert.ok(esd.traces.some((t) => t.type === 'scatter' && t.mode === 'lines' && String(t.name).startsWith('power law α =')), JSON.stringify(esd.traces));
    assert.ok(esd.bars >= 12, `${esd.bars} bars drawn`);
    const first = report.layers.find((l) => l.name === 'layers.0.weight')!;
    assert.deepEqual(esd.shapes, [first.xmin]);
  });

  it('selects a layer from a table row, from the keyboard, and from a chart click', async () => {
    const title = () => page.textContent('#chart-esd .gtitle');
    assert.equal(await title(), 'ESD · layers.0.weight');
    await page.click('.ws-table tbody tr[data-name="layers.5.weight"]');
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · layers.5.weight');
    assert.equal(await page.textContent('#chart-sv .gtitle'), 'Singular values · layers.5.weight');
    assert.equal(await page.getAttribute('.ws-table tbody tr[data-name="layers.5.weight"]', 'aria-selected'), 'true');

    await page.keyboard.press('ArrowDown');
    const next = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.name);
    assert.equal(next, 'layers.6.weight');
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · layers.6.weight');

    // A skipped layer shows a note instead of a spectrum.
    await page.click('.ws-table tbody tr[data-name="edge.small.weight"]');
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · edge.small.weight');
    assert.match((await page.textContent('#chart-esd .annotation-text')) ?? '', /not analysed/);

    // Clicking the conv layer's point in the alpha chart selects it everywhere (plotly clicks the hovered point).
    await page.locator('#chart-alpha').scrollIntoViewIfNeeded();
    const box = await page.evaluate(() => {
      const gd = document.getElementById('chart-alpha') as HTMLElement & { _fullLayout: any; data: { customdata?: string[] }[] };
      const xa = gd._fullLayout.xaxis;
      const ya = gd._fullLayout.yaxis;
      const trace = gd.data.find((t) => t.customdata?.includes('conv.0.weight')) as unknown as { x: number[]; y: number[]; customdata: string[] };
      const i = trace.customdata.indexOf('conv.0.weight');
      const r = gd.querySelector('.nsewdrag')!.getBoundingClientRect();
      return { x: r.left + xa.l2p(trace.x[i]), y: r.top + ya.l2p(trace.y[i]) };
    });
    await page.mouse.move(box.x - 6, box.y - 6);
    await page.mouse.move(box.x, box.y, { steps: 3 });
    await page.waitForFunction(() => document.querySelector('#chart-alpha .hovertext') !== null);
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · conv.0.weight');
    assert.equal(await page.getAttribute('.ws-table tbody tr[data-name="conv.0.weight"]', 'aria-selected'), 'true');
    assert.equal(await page.textContent('.ws-detail-title'), 'conv.0.weight');
  });

  it('sorts by a column header button and filters by flag', async () => {
    const header = page.locator('.ws-table th', { hasText: 'α' }).first();
    await header.locator('button').click();
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    const alphas = await page.$$eval('.ws-table tbody tr:not(.ws-not-analysed) td:nth-child(5)', (cells) => cells.map((c) => Number(c.textContent)));
    assert.deepEqual(alphas, [...alphas].sort((a, b) => a - b));
    await page.selectOption('.ws-filters select[aria-label="Filter by flag"]', 'under-trained');
    assert.equal(await page.locator('.ws-table tbody tr').count(), 3);
    await page.selectOption('.ws-filters select[aria-label="Filter by flag"]', '');
    await header.locator('button').click();
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
  });

  it('follows VS Code theme variables, also when they change after loading', async () => {
    const dark = await page.context().newPage();
    dark.on('pageerror', (e) => problems.push(`pageerror (dark): ${e.message}`));
    await dark.setViewportSize({ width: 1440, height: 1000 });
    await dark.goto(page.url().replace(/#.*$/, ''));
    await dark.waitForFunction((n) => document.querySelectorAll('.ws-chart .main-svg').length >= n, CHART_IDS.length);
    // What a VS Code webview puts on <html> when the user switches to Dark Modern.
    await dark.evaluate(() => {
      const vars: Record<string, string> = {
        '--vscode-foreground': '#cccccc',
        '--vscode-editor-foreground': '#cccccc',
        '--vscode-editor-background': '#1f1f1f',
        '--vscode-descriptionForeground': '#9d9d9d',
        '--vscode-charts-foreground': '#cccccc',
        '--vscode-charts-lines': '#cccccc',
        '--vscode-charts-blue': '#3794ff',
        '--vscode-charts-orange': '#d18616',
        '--vscode-charts-green': '#89d185',
        '--vscode-charts-red': '#f14c4c',
        '--vscode-charts-yellow': '#cca700',
        '--vscode-charts-purple': '#b180d7',
        '--vscode-editorWidget-background': '#202020',
        '--vscode-panel-border': '#2b2b2b',
        '--vscode-list-activeSelectionBackground': '#04395e',
        '--vscode-focusBorder': '#0078d4',
        '--vscode-input-background': '#313131',
        '--vscode-input-foreground': '#cccccc',
      };
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body.classList.add('vscode-dark');
    });
    await dark.waitForFunction(() => (document.getElementById('chart-sv') as unknown as { _fullLayout: { font: { color: string } } })._fullLayout.font.color === '#cccccc');
    const colors = await dark.evaluate(() => {
      const gd = document.getElementById('chart-alpha') as HTMLElement & { _fullLayout: { font: { color: string } }; data: { name?: string; marker?: { color?: string } }[] };
      return {
        font: gd._fullLayout.font.color,
        firstKind: gd.data.find((t) => t.name === 'conv')?.marker?.color,
        body: getComputedStyle(document.body).backgroundColor,
      };
    });
    assert.deepEqual(colors, { font: '#cccccc', firstKind: '#3794ff', body: 'rgb(31, 31, 31)' });
    await dark.screenshot({ path: path.join(ROOT, 'test-results', 'html-report-dark.png'), fullPage: true });
    await dark.close();
  });

  it('saves a screenshot', async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    const out = path.join(ROOT, 'test-results');
    await page.locator('.ws-table th', { hasText: '#' }).first().locator('button').click();
    await page.click('.ws-table tbody tr[data-name="layers.5.weight"]');
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · layers.5.weight');
    await page.screenshot({ path: path.join(out, 'html-report.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });
});

describe('HTML report escaping', () => {
  it('safeJson never lets the data close its script element', () => {
    const text = safeJson({ a: '</script><!-- <SCRIPT>', b: '\u2028' });
    assert.doesNotMatch(text, /<\/script|<!--|<script/i);
    assert.deepEqual(JSON.parse(text), { a: '</script><!-- <SCRIPT>', b: '\u2028' });
  });
});

describe('report chart math', () => {
  it('log-binned histogram: densities integrate to 1, zeros are hidden', () => {
    const evals = [0, 1e-9, ...Array.from({ length: 500 }, (_, i) => 0.01 * 1.02 ** i)];
    const hist = logHistogram(evals, 1e-5)!;
    assert.equal(hist.hidden, 2);
    assert.equal(hist.n, 500);
    assert.equal(hist.counts.reduce((a, b) => a + b, 0), 500);
    const mass = hist.density.reduce((s, d, i) => s + d * (hist.edges[i + 1] - hist.edges[i]), 0);
    assert.ok(Math.abs(mass - 1) < 1e-12, String(mass));
    const ratios = hist.edges.slice(1).map((e, i) => e / hist.edges[i]);
    assert.ok(ratios.every((r) => Math.abs(r - ratios[0]) < 1e-9 * ratios[0]), 'log-spaced edges');
    assert.equal(logHistogram([0, 0], 1e-5), undefined);
  });

  it('power-law overlay integrates to the tail share', () => {
    const integral = (c: { x: number[]; y: number[] }) =>
      c.x.slice(1).reduce((s, x, i) => s + ((c.y[i] + c.y[i + 1]) / 2) * (x - c.x[i]), 0);
    // alpha > 1: normalised on [xmin, ∞), so the part up to xmax is 1 − (xmax/xmin)^(1−α) of the share.
    const heavy = powerLawCurve(2.5, 0.5, 50, 0.3, 4000);
    assert.ok(Math.abs(integral(heavy) - 0.3 * (1 - 100 ** -1.5)) < 1e-4, String(integral(heavy)));
    assert.ok(Math.abs(heavy.y[0] - (0.3 * 1.5) / 0.5) < 1e-12);
    // alpha ≤ 1: normalised on [xmin, xmax].
    for (const alpha of [0.6, 1]) assert.ok(Math.abs(integral(powerLawCurve(alpha, 1, 20, 0.4, 4000)) - 0.4) < 1e-4, `alpha ${alpha}`);
  });

  it('singular-value decay: descending σ, cumulative energy and 90/95/99 % ranks', () => {
    const layer = { eigenvalues: [1, 0, 4, 9, 16, 70] } as LayerResult;
    const d = singularValueDecay(layer)!;
    assert.deepEqual(d.sigma, [Math.sqrt(70), 4, 3, 2, 1, 0]);
    assert.deepEqual(d.energy.map((e) => Math.round(e * 100)), [70, 86, 95, 99, 100, 100]);
    assert.deepEqual(d.ranks.map((r) => r.rank), [3, 3, 4]);
    assert.equal(singularValueDecay({ ...layer, energy_rank_90: 2 })?.ranks[0].rank, 2);
  });

  it('block index from common naming schemes', () => {
    const cases: [string, number | undefined][] = [
      ['model.layers.12.mlp.up_proj.weight', 12],
      ['transformer.h.3.attn.c_attn.weight', 3],
      ['blk.5.ffn_down.weight', 5],
      ['bert.encoder.layer.7.attention.self.query.weight', 7],
      ['down_blocks.1.resnets.0.conv1.weight', 1],
      ['block_2/conv/kernel', 2],
      ['conv.0.weight', 0],
      ['lm_head.weight', undefined],
      ['model.embed_tokens.weight', undefined],
    ];
    for (const [name, block] of cases) assert.equal(blockIndexOf(name), block, name);
  });

  it('low-rank map: one cell per layer, duplicates of a kind in a block get their own row', () => {
    const layer = (name: string, kind: LayerResult['kind']) => ({ name, kind }) as LayerResult;
    const grid = weloreGrid([
      layer('h.0.mlp.c_fc.weight', 'mlp_up'),
      layer('h.0.attn.c_attn.weight', 'attention_qkv'),
      layer('h.1.mlp.c_fc.weight', 'mlp_up'),
      layer('h.1.mlp.extra.weight', 'mlp_up'),
      layer('wte.weight', 'embedding'),
    ]);
    assert.deepEqual(grid.columns, ['0', '1', '—']);
    assert.deepEqual(grid.rows, ['embedding', 'attention_qkv', 'mlp_up', 'mlp_up #2']);
    assert.equal(grid.cells.flat().filter(Boolean).length, 5);
    assert.equal(grid.cells[3][1]?.name, 'h.1.mlp.extra.weight');
    assert.equal(grid.cells[0][2]?.name, 'wte.weight');
  });
});
