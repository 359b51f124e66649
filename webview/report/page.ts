/**
 * The whole report page: header, summary cards, model charts, and the layer table beside the selected layer's
 * details and spectra. Used by the standalone HTML report and the VS Code webview (which calls update() as layers
 * stream in).
 */
import type { AnalysisReport, LayerResult } from '../../src/core/report/model';
import { CHARTS, type ChartId, ReportCharts } from './charts';
import { h, humanCount, humanSeconds } from './dom';
import { ALPHA_OVER_TRAINED, ALPHA_UNDER_TRAINED, type FigureContext, fmt } from './figures';
import { analysedLayers, isNum } from './layers';
import type { PlotlyApi } from './plotly-api';
import { LayerTable, type LayerTableState } from './table';
import type { ChartTheme } from './theme';
import './report.css';

export interface ReportView {
  /** Selects a layer everywhere (table, charts, details) as if the user had clicked it. */
  select(name: string): void;
  readonly selected: string | undefined;
  /** Redraws the charts in `theme`, or re-reads the CSS variables. Theme changes on <html>/<body> are followed anyway. */
  setTheme(theme?: ChartTheme): void;
  /**
   * Shows a new version of the report (more layers, final summary); selection, filters and sort stay. `final`: no more
   * layers will come, so a wanted selection that never arrived falls back to the first analysed layer.
   */
  update(report: AnalysisReport, final?: boolean): void;
  /** Redraws the selected layer's spectrum charts (e.g. after its eigenvalues were attached to the layer). */
  refreshSelected(): void;
  /** The table's filter and sort order. */
  readonly tableState: LayerTableState;
  dispose(): void;
}

export interface MountOptions {
  /** Called after every selection change (user, select(), or the first layer selected automatically). */
  onSelectLayer?: (name: string) => void;
  /** Layer selected at first (also when it arrives later); defaults to the first analysed layer. */
  selected?: string;
  /** The table's filter and sort order to start with. */
  table?: Partial<LayerTableState>;
  onTableStateChange?: (state: LayerTableState) => void;
  /** Shown in the table while the report has no layer yet. */
  emptyText?: string;
  /** Wording of the charts' placeholder notes. */
  figureContext?: FigureContext;
}

const FLAG_CARDS: { flag: string; label: string; hint: string; tone: string }[] = [
  { flag: 'over-trained', label: 'Over-trained', hint: `α < ${ALPHA_OVER_TRAINED}`, tone: 'bad' },
  { flag: 'under-trained', label: 'Under-trained', hint: `α > ${ALPHA_UNDER_TRAINED}`, tone: 'warn' },
  { flag: 'ill-conditioned', label: 'Ill-conditioned', hint: 'large κ or singular', tone: 'caution' },
  { flag: 'rank-collapsed', label: 'Rank-collapsed', hint: 'low numerical rank', tone: 'bad' },
];

function basename(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

function header(report: AnalysisReport): HTMLElement {
  const m = report.model;
  const s = m.summary;
  const counts = [`${s.layers_analysed} analysed`, s.layers_skipped ? `${s.layers_skipped} skipped` : '', s.layers_failed ? `${s.layers_failed} failed` : '']
    .filter(Boolean)
    .join(' · ');
  const meta: [string, string, string?][] = [
    ['Format', m.format],
    ['Parameters', humanCount(m.parameters), m.parameters.toLocaleString('en-US')],
    ['Layers', counts],
    ['Provider', m.provider],
    ['Time', humanSeconds(m.seconds)],
  ];
  return h(
    'header',
    { class: 'ws-header', 'data-testid': 'report-header' },
    h('div', { class: 'ws-brand' }, 'Weight Spectra · analysis report'),
    h('h1', { class: 'ws-file', title: m.path }, basename(m.path)),
    h('div', { class: 'ws-path' }, m.path),
    h('dl', { class: 'ws-meta' }, meta.map(([k, v, title]) => h('div', {}, h('dt', {}, k), h('dd', { title }, v)))),
  );
}

function card(label: string, value: string | Node, hint: string, tone = 'neutral', title?: string): HTMLElement {
  return h('div', { class: `ws-card ws-card-${tone}`, title }, h('div', { class: 'ws-card-label' }, label), h('div', { class: 'ws-card-value' }, value), h('div', { class: 'ws-card-hint' }, hint));
}

function alphaTone(a: number | undefined): string {
  if (!isNum(a)) return 'neutral';
  return a < ALPHA_OVER_TRAINED ? 'bad' : a > ALPHA_UNDER_TRAINED ? 'warn' : 'good';
}

function summaryCards(report: AnalysisReport, onFlag: (flag: string) => void): HTMLElement {
  const s = report.model.summary;
  const layers = report.layers;
  const cards: HTMLElement[] = [
    card('Mean α', fmt(s.alpha), '2 – 6 is well trained', alphaTone(s.alpha), 'Mean WeightWatcher power-law exponent over analysed layers'),
    card('α weighted', fmt(s.alpha_weighted), 'mean α · log₁₀ λmax', 'neutral', 'WeightWatcher alpha_weighted: lower is better when comparing models of one family'),
  ];
  // An empty product (no analysed layer) bounds nothing: no card rather than a bound of 10⁰.
  if (s.lipschitz && s.lipschitz.factors > 0) {
    cards.push(card('Lipschitz bound', h('span', {}, '10', h('sup', {}, s.lipschitz.log10_bound.toFixed(1))), `product of ${s.lipschitz.factors} spectral norms`, 'neutral', s.lipschitz.assumptions));
  } else if (isNum(s.stable_rank)) {
    cards.push(card('Mean stable rank', fmt(s.stable_rank), '‖W‖²_F / ‖W‖²₂'));
  }
  for (const f of FLAG_CARDS) {
    const n = layers.filter((l) => l.flags?.includes(f.flag)).length;
    const c = card(f.label, String(n), `${f.hint} · ${n === 1 ? 'layer' : 'layers'}`, n > 0 ? f.tone : 'neutral');
    const button = h('button', { type: 'button', class: 'ws-card-button', title: `Show the ${f.flag} layers in the table`, disabled: n === 0 }, c);
    button.addEventListener('click', () => onFlag(f.flag));
    cards.push(button);
  }
  return h('section', { class: 'ws-cards', 'aria-label': 'Summary', 'data-testid': 'summary-cards' }, cards);
}

function chartBox(id: ChartId, wide = false): { box: HTMLElement; plot: HTMLElement } {
  const label = CHARTS.find((c) => c.id === id)!.label;
  const plot = h('div', { class: `ws-chart ws-chart-${id}`, id: `chart-${id}`, role: 'img', 'aria-label': label, 'data-testid': `chart-${id}` });
  return { box: h('figure', { class: `ws-chart-box${wide ? ' ws-wide' : ''}` }, plot), plot };
}

/** Key metrics of one layer, as a definition list. */
function layerDetails(l: LayerResult | undefined): HTMLElement {
  if (!l) return h('p', { class: 'ws-muted' }, 'Select a layer in the table or click a point in a chart.');
  const rows: [string, string | undefined][] = [
    ['kind', l.kind],
    ['shape', `${l.shape.join('×')} · ${l.dtype}`],
    ['N × M · rf', `${l.N} × ${l.M} · ${l.rf}`],
  ];
  if (l.error || l.skipped) {
    rows.push([l.error ? 'failed' : 'skipped', l.error ?? l.skipped]);
  } else {
    rows.push(
      ['α (D)', `${fmt(l.alpha)} (${fmt(l.D)})`],
      ['xmin … xmax', `${fmt(l.xmin)} … ${fmt(l.xmax)}`],
      ['power-law spikes', isNum(l.num_pl_spikes) ? String(l.num_pl_spikes) : undefined],
      ['λmax', fmt(l.lambda_max)],
      ['stable rank', fmt(l.stable_rank)],
      ['effective rank', fmt(l.effective_rank)],
      ['numerical rank', isNum(l.numerical_rank) ? `${l.numerical_rank} of ${Math.min(l.N, l.M) * l.rf}` : undefined],
      ['energy rank 90/95/99 %', [l.energy_rank_90, l.energy_rank_95, l.energy_rank_99].every(isNum) ? `${l.energy_rank_90} / ${l.energy_rank_95} / ${l.energy_rank_99}` : undefined],
      ['κ', l.numerically_singular ? `${fmt(l.condition_number)} (numerically singular)` : fmt(l.condition_number)],
      ['σmax / σmin', `${fmt(l.sigma_max)} / ${fmt(l.sigma_min)}`],
      ['MP spikes · softrank', isNum(l.num_spikes) ? `${l.num_spikes} · ${fmt(l.mp_softrank)}` : undefined],
      ['WeLore', l.welore ? `${l.welore.class}, keep ${l.welore.keep_rank} of ${l.welore.keep_rank + l.welore.k}` : undefined],
      ['FARMS α (D)', l.farms ? `${fmt(l.farms.alpha)} (${fmt(l.farms.D)}) · ${l.farms.num_windows} windows` : undefined],
      ['method', l.method],
      ['flags', l.flags?.length ? l.flags.join(', ') : 'none'],
    );
  }
  return h(
    'dl',
    { class: 'ws-details' },
    rows.filter(([, v]) => v !== undefined && v !== '—').map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v!))),
  );
}

/** Renders `report` into `root` (replacing its content). `Plotly` is the plotly.js object (window.Plotly). */
export function mountReport(root: HTMLElement, report: AnalysisReport, Plotly: PlotlyApi, options: MountOptions = {}): ReportView {
  const firstAnalysed = () => analysedLayers(report)[0]?.name ?? report.layers[0]?.name;
  const has = (name: string | undefined) => name !== undefined && report.layers.some((l) => l.name === name);
  // A wanted layer that is not in the report yet (e.g. restored while the analysis streams in) is selected on arrival.
  let wanted = has(options.selected) ? undefined : options.selected;
  let selected = has(options.selected) ? options.selected : wanted === undefined ? firstAnalysed() : undefined;
  let shownDetail: LayerResult | undefined;

  const showDetail = () => {
    const layer = report.layers.find((l) => l.name === selected);
    detailTitle.textContent = selected ?? 'No layer selected';
    selectedLink.textContent = selected ?? '';
    if (layer !== shownDetail || !layer) detailBody.replaceChildren(layerDetails(layer));
    shownDetail = layer;
  };

  const select = (name: string) => {
    if (!has(name)) return;
    wanted = undefined;
    selected = name;
    table.select(name);
    showDetail();
    void charts.select(name);
    options.onSelectLayer?.(name);
  };

  const table = new LayerTable(report, select, { initial: options.table, onStateChange: options.onTableStateChange, emptyText: options.emptyText });
  const boxes = {
    alpha: chartBox('alpha', true),
    condition: chartBox('condition'),
    farms: chartBox('farms'),
    welore: chartBox('welore', true),
    esd: chartBox('esd'),
    sv: chartBox('sv'),
  };
  const containers = Object.fromEntries(Object.entries(boxes).map(([id, b]) => [id, b.plot])) as Record<ChartId, HTMLElement>;
  const charts = new ReportCharts(Plotly, containers, report, select, options.figureContext);

  const selectedLink = h('a', { href: '#ws-layer-detail', class: 'ws-selected-link' });
  const detailTitle = h('h3', { class: 'ws-detail-title', 'data-testid': 'selected-layer' });
  const detailBody = h('div', { class: 'ws-detail-body' });
  const detail = h('aside', { class: 'ws-detail', id: 'ws-layer-detail', 'aria-label': 'Selected layer', 'aria-live': 'polite' }, detailTitle, boxes.esd.box, boxes.sv.box, detailBody);

  const onFlag = (flag: string) => {
    table.setFilter({ flag });
    options.onTableStateChange?.(table.state);
    table.element.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  let headerEl = header(report);
  let cardsEl = summaryCards(report, onFlag);

  root.replaceChildren(
    h(
      'main',
      { class: 'ws-report' },
      headerEl,
      cardsEl,
      h(
        'section',
        { class: 'ws-section', 'aria-labelledby': 'ws-model-h' },
        h('div', { class: 'ws-section-head' }, h('h2', { id: 'ws-model-h' }, 'Model'), h('span', { class: 'ws-muted' }, 'Click a point to inspect its layer: ', selectedLink)),
        h('div', { class: 'ws-grid' }, boxes.alpha.box, boxes.condition.box, boxes.farms.box, boxes.welore.box),
      ),
      h(
        'section',
        { class: 'ws-section', 'aria-labelledby': 'ws-layers-h' },
        h('div', { class: 'ws-section-head' }, h('h2', { id: 'ws-layers-h' }, 'Layers')),
        h('div', { class: 'ws-master-detail' }, detail, table.element),
      ),
      h('footer', { class: 'ws-footer' }, 'WeightWatcher-compatible metrics (Martin & Mahoney); FARMS (Hu et al. 2025); WeLore (Jaiswal et al. 2024).'),
    ),
  );

  if (selected !== undefined) table.select(selected);
  showDetail();
  void charts.render(selected);

  const update = (next: AnalysisReport, final = false) => {
    report = next;
    const h2 = header(report);
    headerEl.replaceWith(h2);
    headerEl = h2;
    const c2 = summaryCards(report, onFlag);
    cardsEl.replaceWith(c2);
    cardsEl = c2;
    table.setReport(report);
    void charts.setReport(report, !final);
    if (wanted !== undefined && has(wanted)) return select(wanted);
    if (final) wanted = undefined;
    if (wanted === undefined && !has(selected)) {
      const first = firstAnalysed();
      if (first !== undefined) return select(first);
      selected = undefined;
    }
    showDetail();
  };

  // VS Code swaps the --vscode-* variables on <html> and the theme class on <body> when the user changes theme.
  let redraw: ReturnType<typeof setTimeout> | undefined;
  const themeWatch = new MutationObserver(() => {
    clearTimeout(redraw);
    redraw = setTimeout(() => void charts.setTheme(undefined), 50);
  });
  themeWatch.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ['class'] });

  return {
    select,
    get selected() {
      return selected;
    },
    setTheme: (theme) => void charts.setTheme(theme),
    update,
    refreshSelected: () => void charts.refreshSelected(),
    get tableState() {
      return table.state;
    },
    dispose: () => {
      themeWatch.disconnect();
      clearTimeout(redraw);
      charts.dispose();
    },
  };
}
