/**
 * The VS Code report tab's page (dist/webview.js + dist/webview.css + plotly.js, in the HTML and CSP the extension
 * serves) in real headless Chromium, driven by protocol messages recorded from real analyses
 * (test/fixtures/reports/webview-session-*.json, made by record-webview-session.ts). The page's environment is what a
 * VS Code webview provides: acquireVsCodeApi() (postMessage, getState, setState) and window message events; the
 * "host" here answers GetSpectrum from the recording. Needs `npm run build` and /usr/bin/chromium.
 */
import { PLOTLY_FILE, PLOTLY_PACKAGE } from '../../src/core/report/plotly-bundle';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { reportPageHtml } from '../../src/extension/webview-html';
import type { LayerRow, LayersMessage, ToWebviewMessage } from '../../src/protocol';

const ROOT = path.join(__dirname, '..', '..');
const REPORTS = path.join(ROOT, 'test', 'fixtures', 'reports');
const RESULTS = path.join(ROOT, 'test-results');
const CHROMIUM = '/usr/bin/chromium';
const CHART_IDS = ['alpha', 'condition', 'farms', 'welore', 'esd', 'sv'];

interface Recording {
  recordedFrom: string;
  messages: { at: number; message: ToWebviewMessage }[];
  spectra: Record<string, number[]>;
}

const load = (name: string) => JSON.parse(readFileSync(path.join(REPORTS, `webview-session-${name}.json`), 'utf8')) as Recording;
const messagesOf = (r: Recording) => r.messages.map((m) => m.message);

/** The variables VS Code puts on the webview's <html> for its built-in themes (the ones the page reads), and the body class. */
const THEMES: Record<string, { bodyClass: string; vars: Record<string, string> }> = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      foreground: '#cccccc', 'editor-background': '#1f1f1f', 'editor-foreground': '#cccccc', descriptionForeground: '#9d9d9d',
      'panel-border': '#2b2b2b', 'widget-border': '#313131', 'editorWidget-background': '#202020', focusBorder: '#0078d4',
      'textLink-foreground': '#4daafc', 'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e',
      'list-activeSelectionForeground': '#ffffff', 'input-background': '#313131', 'input-foreground': '#cccccc', 'input-border': '#3c3c3c',
      'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1', 'button-border': '#ffffff12',
      'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc', 'button-secondaryHoverBackground': '#3c3c3c',
      'progressBar-background': '#0078d4', errorForeground: '#f85149', 'inputValidation-errorBorder': '#be1100',
      'inputValidation-errorBackground': '#5a1d1d', 'editorHoverWidget-background': '#202020', 'widget-shadow': 'rgba(0, 0, 0, 0.36)',
      'charts-foreground': '#cccccc', 'charts-lines': 'rgba(204, 204, 204, 0.5)', 'charts-red': '#f14c4c', 'charts-blue': '#3794ff',
      'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-green': '#89d185', 'charts-purple': '#b180d7',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      foreground: '#3b3b3b', 'editor-background': '#ffffff', 'editor-foreground': '#3b3b3b', descriptionForeground: '#3b3b3b',
      'panel-border': '#e5e5e5', 'widget-border': '#e5e5e5', 'editorWidget-background': '#f8f8f8', focusBorder: '#005fb8',
      'textLink-foreground': '#005fb8', 'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8',
      'list-activeSelectionForeground': '#000000', 'input-background': '#ffffff', 'input-foreground': '#3b3b3b', 'input-border': '#cecece',
      'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8', 'button-border': '#0000001a',
      'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'button-secondaryHoverBackground': '#cccccc',
      'progressBar-background': '#005fb8', errorForeground: '#f85149', 'inputValidation-errorBorder': '#be1100',
      'inputValidation-errorBackground': '#f2dede', 'editorHoverWidget-background': '#f8f8f8', 'widget-shadow': 'rgba(0, 0, 0, 0.16)',
      'charts-foreground': '#616161', 'charts-lines': 'rgba(97, 97, 97, 0.5)', 'charts-red': '#e51400', 'charts-blue': '#1a85ff',
      'charts-yellow': '#bf8803', 'charts-orange': '#d18616', 'charts-green': '#388a34', 'charts-purple': '#652d90',
    },
  },
  'high-contrast': {
    bodyClass: 'vscode-high-contrast',
    vars: {
      foreground: '#ffffff', 'editor-background': '#000000', 'editor-foreground': '#ffffff', descriptionForeground: '#ffffffb3',
      'panel-border': '#6fc3df', 'widget-border': '#6fc3df', 'editorWidget-background': '#0c141f', focusBorder: '#f38518',
      contrastBorder: '#6fc3df', contrastActiveBorder: '#f38518', 'textLink-foreground': '#21a6ff', 'input-background': '#000000',
      'input-foreground': '#ffffff', 'input-border': '#6fc3df', 'button-background': '#000000', 'button-foreground': '#ffffff',
      'button-border': '#6fc3df', 'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
      'progressBar-background': '#6fc3df', errorForeground: '#f48771', 'inputValidation-errorBorder': '#6fc3df',
      'inputValidation-errorBackground': '#5a1d1d', 'editorHoverWidget-background': '#0c141f',
      'charts-foreground': '#ffffff', 'charts-lines': '#ffffff', 'charts-red': '#f48771', 'charts-blue': '#3794ff',
      'charts-yellow': '#ffd700', 'charts-orange': '#d18616', 'charts-green': '#89d185', 'charts-purple': '#b180d7',
    },
  },
};
const FONT_VARS = {
  'font-family': '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  'font-size': '13px',
  'editor-font-family': '"Droid Sans Mono", "monospace", monospace',
};

/**
 * Runs in the page before its scripts: what a VS Code webview provides (acquireVsCodeApi, theme variables on <html>,
 * the theme class on <body>). The fake host answers GetSpectrum from the recording. Plain JavaScript text: tsx would
 * wrap a TypeScript function in helpers that do not exist in the page.
 */
const FAKE_WEBVIEW_ENVIRONMENT = `(init) => {
  const posted = [];
  let state = init.state;
  window.__posted = posted;
  window.__state = () => state;
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => {
      posted.push(m);
      if (m.type === 'getSpectrum' && init.answerSpectra) {
        setTimeout(() => window.postMessage({ type: 'spectrum', name: m.name, eigenvalues: init.spectra[m.name] }, '*'), 5);
      }
    },
    getState: () => state,
    setState: (s) => { state = s; },
  });
  const apply = () => {
    for (const [k, v] of Object.entries(init.theme.vars)) document.documentElement.style.setProperty('--vscode-' + k, v);
    document.body.classList.add(init.theme.bodyClass);
  };
  if (document.body) apply();
  else document.addEventListener('DOMContentLoaded', apply);
}`;

describe('report webview (headless Chromium, recorded protocol messages)', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is missing` }, () => {
  let browser: Browser;
  let context: BrowserContext;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-webview-'));
  const pageFile = path.join(dir, 'report.html');
  const problems: string[] = [];
  const requests: string[] = [];
  const psnr = load('psnr');
  const pub = load('public');
  const truncated = load('truncated');

  before(async () => {
    mkdirSync(RESULTS, { recursive: true });
    const url = (...p: string[]) => pathToFileURL(path.join(ROOT, ...p)).href;
    writeFileSync(
      pageFile,
      reportPageHtml({
        cspSource: 'file:',
        script: url('dist', 'webview.js'),
        style: url('dist', 'webview.css'),
        plotly: url('node_modules', PLOTLY_PACKAGE, PLOTLY_FILE),
        title: 'Spectra · test',
      }),
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith('file:') || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
      requests.push(u);
      return route.abort();
    });
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openPage(opts: { recording: Recording; theme?: string; state?: unknown; answerSpectra?: boolean }): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const theme = THEMES[opts.theme ?? 'dark'];
    const init = { state: opts.state, spectra: opts.recording.spectra, answerSpectra: opts.answerSpectra !== false, theme: { ...theme, vars: { ...theme.vars, ...FONT_VARS } } };
    await page.addInitScript({ content: `(${FAKE_WEBVIEW_ENVIRONMENT})(${JSON.stringify(init)});` });
    await page.goto(pathToFileURL(pageFile).href);
    await page.waitForFunction(() => ((window as unknown as { __posted: { type: string }[] }).__posted ?? []).some((m) => m.type === 'ready'));
    return page;
  }

  const send = (page: Page, message: ToWebviewMessage) => page.evaluate((m) => window.postMessage(m, '*'), message);
  const posted = (page: Page) => page.evaluate(() => (window as unknown as { __posted: { type: string; [k: string]: unknown }[] }).__posted);
  const rowNames = (page: Page) => page.$$eval('[data-testid="layer-table"] tbody tr[data-layer-name]', (rows) => rows.map((r) => (r as HTMLElement).dataset.layerName!));
  const waitChartsDrawn = (page: Page) => page.waitForFunction((n) => document.querySelectorAll('.ws-chart .main-svg').length >= n, CHART_IDS.length, { timeout: 10_000 });
  const replayAll = async (page: Page, r: Recording) => {
    for (const m of messagesOf(r)) await send(page, m);
  };

  // Pages are shared between steps (each page load parses plotly.js): streaming → 1,000 layers; selection → exports →
  // state restore (light) ; error → cancel; high contrast.
  let streamPage: Page;
  let publicPage: Page;
  let errorPage: Page;

  it('fills the table as layers stream in, then shows the finished report with its charts', async () => {
    const page = (streamPage = await openPage({ recording: psnr }));
    const msgs = messagesOf(psnr);
    assert.equal(msgs[0].type, 'begin');
    await send(page, msgs[0]);
    await page.waitForSelector('[data-testid="table-empty"]');
    assert.match((await page.textContent('[data-testid="status-line"]')) ?? '', /Opening image-super-resolution-psnr-small\.h5/);
    // The worker's model header comes before the first row: format, size and provider show while layers stream.
    assert.equal(msgs[1].type, 'model');
    await send(page, msgs[1]);
    let expected = 0;
    let headerChecked = false;
    const batches = msgs.filter((m): m is LayersMessage => m.type === 'layers');
    assert.ok(batches.length >= 5, `${batches.length} batches recorded`);
    for (const batch of batches) {
      await send(page, batch);
      expected += batch.layers.length;
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="layer-table"] tbody tr[data-layer-name]').length === n, expected);
      const status = (await page.textContent('[data-testid="status-line"]')) ?? '';
      assert.match(status, new RegExp(`${batch.done} of ${batch.total} layers`));
      assert.equal(await page.isDisabled('[data-testid="export-json"]'), true, 'exports wait for the end');
      if (!headerChecked) {
        const meta = (await page.textContent('.ws-meta')) ?? '';
        for (const s of ['keras-h5', '2.6 M', 'cpu']) assert.ok(meta.includes(s), `${s} in the header while streaming: ${meta}`);
        assert.ok(!meta.includes('…'), meta);
        headerChecked = true;
      }
    }
    // The first analysed layer was selected automatically and its eigenvalues requested from the host.
    const first = batches[0].layers[0].name;
    assert.ok((await posted(page)).some((m) => m.type === 'getSpectrum' && m.name === first));
    await send(page, msgs[msgs.length - 1]);
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line"]')?.getAttribute('data-phase') === 'done');
    assert.match((await page.textContent('[data-testid="status-line"]')) ?? '', /48 of 48 layers analysed in .* · cpu/);
    assert.equal(await page.isDisabled('[data-testid="export-json"]'), false);
    assert.equal(await page.isVisible('[data-testid="cancel"]'), false);
    assert.deepEqual((await rowNames(page)).length, 48);
    const meta = (await page.textContent('.ws-meta')) ?? '';
    for (const s of ['keras-h5', '48 analysed', 'cpu']) assert.ok(meta.includes(s), `${s} in ${meta}`);
    await waitChartsDrawn(page);
    await page.waitForFunction((name) => document.querySelector('#chart-esd .gtitle')?.textContent === `ESD · ${name}`, first);
    await page.waitForFunction(() => document.querySelectorAll('#chart-esd .bars path').length >= 12);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'webview-dark.png'), fullPage: true });
  });

  it('stays responsive with 1,000 layers streamed in: only the rows in view are in the DOM', async (t) => {
    const page = streamPage;
    await page.evaluate(() => {
      const w = window as unknown as { __longest: number; __tasks: number };
      w.__longest = 0;
      w.__tasks = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          w.__tasks++;
          w.__longest = Math.max(w.__longest, e.duration);
        }
      }).observe({ type: 'longtask', buffered: false });
    });
    const msgs = messagesOf(psnr);
    const template: LayerRow[] = msgs.flatMap((m) => (m.type === 'layers' ? m.layers : []));
    const done = msgs[msgs.length - 1];
    if (done.type !== 'done') throw new Error('the recording ends with done');
    const summary = (msgs.filter((m) => m.type === 'layers').pop() as LayersMessage).summary;
    const N = 1000;
    const rows: LayerRow[] = Array.from({ length: N }, (_, i) => {
      const src = template[i % template.length];
      return { ...src, name: `model.layers.${Math.floor(i / 8)}.${src.name}.${i}`, layer_id: i + 1, alpha: src.alpha === undefined ? undefined : src.alpha + (i % 17) * 0.05 };
    });
    // A new analysis in the same tab replaces the previous one.
    const t0 = Date.now();
    await send(page, { type: 'begin' as never, file: '/models/synthetic-1000.safetensors', startedAt: Date.now(), options: { provider: 'cpu' } });
    for (let i = 0; i < N; i += 50) {
      await send(page, { type: 'layers' as never, layers: rows.slice(i, i + 50), done: i + 50, total: N, summary });
    }
    await send(page, { type: 'done' as never, report: { model: { ...done.report.model, path: '/models/synthetic-1000.safetensors' }, layers: rows } });
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line"]')?.getAttribute('data-phase') === 'done');
    await page.waitForFunction(() => document.querySelector('[data-testid="layer-count"]')?.textContent === '1000 of 1000 layers');
    await waitChartsDrawn(page);
    await page.waitForFunction(() => /^ESD · model\.layers\.0\./.test(document.querySelector('#chart-esd .gtitle')?.textContent ?? ''));
    const streamedMs = Date.now() - t0;
    const inDom = (await rowNames(page)).length;
    assert.ok(inDom > 10 && inDom < 200, `${inDom} rows in the DOM`);
    assert.equal(await page.getAttribute('[data-testid="layer-table"]', 'aria-rowcount'), '1001');
    assert.equal(await page.textContent('.ws-file'), 'synthetic-1000.safetensors');

    // Keyboard End reaches the last row (rendered on demand); sorting and filtering see every layer.
    await page.click('tr[data-layer-name]');
    await page.keyboard.press('End');
    await page.waitForFunction(() => (document.activeElement as HTMLElement)?.dataset.layerName?.endsWith('.999'));
    await page.locator('th[data-column="alpha"] button').click();
    await page.locator('th[data-column="alpha"] button').click();
    // The selected row stays in view after sorting; the largest α is at the top.
    await page.evaluate(() => (document.querySelector('.ws-table-scroll')!.scrollTop = 0));
    await page.waitForFunction(() => document.querySelector('tbody tr[data-layer-name]')?.getAttribute('aria-rowindex') === '2');
    const top = await page.$eval('tbody tr[data-layer-name] td:nth-child(5)', (c) => Number(c.textContent));
    const maxAlpha = Math.max(...rows.map((r) => r.alpha ?? -Infinity));
    assert.equal(top, Number(maxAlpha.toFixed(2)));
    const expected = rows.filter((r) => r.name.includes('.99')).length;
    await page.fill('[data-testid="filter-name"]', '.99');
    await page.waitForFunction((text) => document.querySelector('[data-testid="layer-count"]')?.textContent === text, `${expected} of 1000 layers`);
    await page.fill('[data-testid="filter-name"]', '');

    const perf = await page.evaluate(() => {
      const w = window as unknown as { __longest: number; __tasks: number };
      return { longest: w.__longest, tasks: w.__tasks };
    });
    t.diagnostic(`1,000 layers in 20 batches + done: ${streamedMs} ms to the finished page; ${perf.tasks} long tasks, longest ${perf.longest.toFixed(0)} ms`);
    // Scrolling renders the rows that come into view.
    await page.evaluate(() => {
      const pane = document.querySelector('.ws-table-scroll')!;
      pane.scrollIntoView();
      pane.scrollTop = pane.scrollHeight / 2;
    });
    await page.waitForFunction(() => {
      const pane = document.querySelector('.ws-table-scroll')!.getBoundingClientRect();
      return Array.from(document.querySelectorAll('tr[data-layer-name]')).some((r) => {
        const box = r.getBoundingClientRect();
        return box.top >= pane.top && box.bottom <= pane.bottom;
      });
    });
    await page.screenshot({ path: path.join(RESULTS, 'webview-1000-layers.png') });
    await page.close();
  });

  it('selects a layer from a row, the keyboard and a chart point, asking the host for its eigenvalues', async () => {
    const page = (publicPage = await openPage({ recording: pub }));
    await replayAll(page, pub);
    await waitChartsDrawn(page);
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · layers.0.weight');
    await page.click('[data-testid="layer-table"] tr[data-layer-name="layers.5.weight"]');
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · layers.5.weight');
    assert.ok((await posted(page)).some((m) => m.type === 'getSpectrum' && m.name === 'layers.5.weight'));
    await page.waitForFunction(() => document.querySelectorAll('#chart-esd .bars path').length >= 12);
    assert.equal(await page.getAttribute('tr[data-layer-name="layers.5.weight"]', 'aria-selected'), 'true');
    assert.equal(await page.textContent('[data-testid="selected-layer"]'), 'layers.5.weight');

    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.layerName), 'layers.6.weight');
    await page.waitForFunction(() => document.querySelector('#chart-sv .gtitle')?.textContent === 'Singular values · layers.6.weight');

    // A click on the conv layer's point in the α chart selects it everywhere.
    await page.locator('#chart-alpha').scrollIntoViewIfNeeded();
    const point = await page.evaluate(() => {
      const gd = document.getElementById('chart-alpha') as HTMLElement & { _fullLayout: any; data: { customdata?: string[]; x: number[]; y: number[] }[] };
      const trace = gd.data.find((t) => t.customdata?.includes('conv.0.weight'))!;
      const i = trace.customdata!.indexOf('conv.0.weight');
      const r = gd.querySelector('.nsewdrag')!.getBoundingClientRect();
      return { x: r.left + gd._fullLayout.xaxis.l2p(trace.x[i]), y: r.top + gd._fullLayout.yaxis.l2p(trace.y[i]) };
    });
    await page.mouse.move(point.x - 6, point.y - 6);
    await page.mouse.move(point.x, point.y, { steps: 3 });
    await page.waitForFunction(() => document.querySelector('#chart-alpha .hovertext') !== null);
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · conv.0.weight');
    assert.equal(await page.getAttribute('tr[data-layer-name="conv.0.weight"]', 'aria-selected'), 'true');
    // The FARMS chart has data (this recording ran FARMS) and the skipped layer explains itself.
    assert.ok(await page.evaluate(() => (document.getElementById('chart-farms') as unknown as { data: unknown[] }).data.length > 1));
    await page.click('tr[data-layer-name="edge.small.weight"]');
    await page.waitForFunction(() => /not analysed/.test(document.querySelector('#chart-esd .annotation-text')?.textContent ?? ''));
  });

  it('export buttons post the format and show where the host saved it', async () => {
    const page = publicPage;
    for (const format of ['json', 'csv', 'html'] as const) {
      await page.click(`[data-testid="export-${format}"]`);
      assert.deepEqual((await posted(page)).filter((m) => m.type === 'export').pop(), { type: 'export', format });
      assert.equal(await page.isDisabled(`[data-testid="export-${format}"]`), true, 'busy until the host answers');
      await send(page, { type: 'exported' as never, format, path: `/tmp/out/public-spectra.${format}` });
      await page.waitForFunction((f) => !(document.querySelector(`[data-testid="export-${f}"]`) as HTMLButtonElement).disabled, format);
      assert.equal(await page.textContent('[data-testid="export-result"]'), `Saved public-spectra.${format}`);
    }
    await page.click('[data-testid="export-csv"]');
    await send(page, { type: 'exported' as never, format: 'csv', error: '/x/model.safetensors: looks like a checkpoint file' });
    await page.waitForFunction(() => /Export failed/.test(document.querySelector('[data-testid="export-result"]')?.textContent ?? ''));
    await page.click('[data-testid="show-log"]');
    assert.equal((await posted(page)).pop()?.type, 'showLog');
  });

  it('restores the selected layer, filters and sort order when the tab comes back', async (t) => {
    const page = publicPage;
    await page.click('tr[data-layer-name="layers.2.weight"]');
    await page.selectOption('[data-testid="filter-kind"]', 'linear');
    await page.locator('[data-testid="layer-table"] th[data-column="alpha"] button').click();
    await page.locator('[data-testid="layer-table"] th[data-column="alpha"] button').click();
    await page.waitForTimeout(250); // the scroll position is saved 200 ms after scrolling stops
    const state = await page.evaluate(() => (window as unknown as { __state: () => unknown }).__state());
    assert.deepEqual(
      { ...(state as object), scrollY: undefined },
      {
        version: 1,
        file: 'test/fixtures/oracle/public.safetensors',
        selected: 'layers.2.weight',
        table: { filter: { text: '', kind: 'linear', flag: '' }, sort: { key: 'alpha', dir: -1 } },
        scrollY: undefined,
      },
    );
    await page.close();

    // The tab is shown again (in a light theme now): a fresh page with the saved state; the host replays
    // Begin, all layers in one batch, and Done.
    const again = await openPage({ recording: pub, state, theme: 'light' });
    const msgs = messagesOf(pub);
    const rows: LayerRow[] = msgs.flatMap((m) => (m.type === 'layers' ? m.layers : []));
    const lastBatch = msgs.filter((m): m is LayersMessage => m.type === 'layers').pop()!;
    const t0 = Date.now();
    await send(again, msgs[0]);
    await send(again, { ...lastBatch, layers: rows });
    await send(again, msgs[msgs.length - 1]);
    await again.waitForFunction(() => document.querySelector('#chart-esd .gtitle')?.textContent === 'ESD · layers.2.weight');
    await waitChartsDrawn(again);
    t.diagnostic(`replayed report redrawn in ${Date.now() - t0} ms after the page loaded (why retainContextWhenHidden is not used)`);
    assert.equal(await again.getAttribute('tr[data-layer-name="layers.2.weight"]', 'aria-selected'), 'true');
    assert.equal(await again.inputValue('[data-testid="filter-kind"]'), 'linear');
    assert.equal(await again.getAttribute('th[data-column="alpha"]', 'aria-sort'), 'descending');
    const names = await rowNames(again);
    assert.ok(!names.includes('conv.0.weight'), 'the kind filter applies');
    const alphas = await again.$$eval('tbody tr:not(.ws-not-analysed) td:nth-child(5)', (cells) => cells.map((c) => Number(c.textContent)));
    assert.deepEqual(alphas, [...alphas].sort((a, b) => b - a));
    await again.waitForFunction((y) => Math.abs(window.scrollY - y) < 2, (state as { scrollY: number }).scrollY);

    await waitChartsDrawn(again);
    await again.waitForFunction(() => document.querySelectorAll('#chart-esd .bars path').length >= 12);
    const colors = await again.evaluate(() => ({
      font: (document.getElementById('chart-alpha') as unknown as { _fullLayout: { font: { color: string } } })._fullLayout.font.color,
      body: getComputedStyle(document.body).backgroundColor,
    }));
    assert.deepEqual(colors, { font: THEMES.light.vars['charts-foreground'], body: 'rgb(255, 255, 255)' });
    await again.selectOption('[data-testid="filter-kind"]', '');
    await again.evaluate(() => window.scrollTo(0, 0));
    await again.screenshot({ path: path.join(RESULTS, 'webview-light.png'), fullPage: true });
    await again.close();
  });

  it('shows a corrupt checkpoint as a readable error, with Analyze again', async () => {
    const page = (errorPage = await openPage({ recording: truncated, theme: 'light' }));
    await replayAll(page, truncated);
    await page.waitForSelector('[data-testid="error-box"]');
    const text = (await page.textContent('[data-testid="error-box"]')) ?? '';
    assert.match(text, /Could not analyse st_truncated\.safetensors/);
    assert.match(text, /header describes 18448 bytes of tensor data but the file holds 11068/);
    assert.match(text, /may still be downloading or copying/);
    assert.equal(await page.getAttribute('[data-testid="error-box"]', 'data-error-kind'), 'truncated');
    assert.equal(await page.isVisible('[data-testid="report-root"]'), false, 'no empty report under the error');
    assert.equal(await page.getAttribute('[data-testid="status-line"]', 'data-phase'), 'failed');
    await page.screenshot({ path: path.join(RESULTS, 'webview-error.png') });
    await page.click('[data-testid="error-rerun"]');
    assert.equal((await posted(page)).pop()?.type, 'rerun');
    // The host starts again: the error goes away.
    await send(page, messagesOf(truncated)[0]);
    await page.waitForFunction(() => !document.querySelector('[data-testid="error-box"]'));
  });

  it('Cancel asks the host to stop; the layers analysed so far stay', async () => {
    const page = errorPage;
    const msgs = messagesOf(psnr);
    const batches = msgs.filter((m): m is LayersMessage => m.type === 'layers');
    await send(page, msgs[0]);
    for (const b of batches.slice(0, 3)) await send(page, b);
    const sofar = batches.slice(0, 3).reduce((n, b) => n + b.layers.length, 0);
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-layer-name]').length === n, sofar);
    await page.click('[data-testid="cancel"]');
    assert.equal((await posted(page)).pop()?.type, 'cancel');
    await send(page, { type: 'failed' as never, file: psnr.recordedFrom, kind: 'cancelled', message: `Cancelled after ${batches[2].done} of 48 layers.` });
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line"]')?.getAttribute('data-phase') === 'cancelled');
    assert.match((await page.textContent('[data-testid="status-line"]')) ?? '', /Cancelled after 5 of 48 layers/);
    assert.equal((await rowNames(page)).length, sofar);
    assert.equal(await page.isVisible('[data-testid="rerun"]'), true);
    assert.equal(await page.locator('[data-testid="error-box"]').count(), 0, 'a cancel is not an error');
    await page.close();
  });

  it('follows a high-contrast theme', async () => {
    const page = await openPage({ recording: pub, theme: 'high-contrast' });
    await replayAll(page, pub);
    await waitChartsDrawn(page);
    await page.waitForFunction(() => document.querySelectorAll('#chart-esd .bars path').length >= 12);
    const colors = await page.evaluate(() => ({
      font: (document.getElementById('chart-alpha') as unknown as { _fullLayout: { font: { color: string } } })._fullLayout.font.color,
      body: getComputedStyle(document.body).backgroundColor,
      selectedOutline: getComputedStyle(document.querySelector('tr.ws-selected')!).outlineStyle,
    }));
    assert.deepEqual(colors, { font: '#ffffff', body: 'rgb(0, 0, 0)', selectedOutline: 'solid' });
    await page.screenshot({ path: path.join(RESULTS, 'webview-high-contrast.png'), fullPage: true });
    await page.close();
  });

  it('loads with no console errors, CSP violations or network requests', () => {
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);
    const html = readFileSync(pageFile, 'utf8');
    const nonce = /'nonce-([^']+)'/.exec(html)?.[1];
    assert.ok(nonce && nonce.length >= 16);
    assert.equal(html.match(/<script /g)?.length, 2);
    assert.equal(html.match(new RegExp(`<script nonce="${nonce}" src=`, 'g'))?.length, 2);
    assert.doesNotMatch(html, /https?:\/\//);
  });
});
