/**
 * Draws the report charts with plotly.js. Shared by the standalone HTML report and the VS Code webview; no VS Code API.
 * Plotly is passed in (the page loads the plotly.js bundle once and hands over window.Plotly).
 */
import type { AnalysisReport, LayerResult } from '../../src/core/report/model';
import {
  alphaByDepthFigure,
  conditionFigure,
  esdFigure,
  farmsFigure,
  type FigureContext,
  singularValueFigure,
  weloreFigure,
} from './figures';
import { findLayer } from './layers';
import type { Figure, PlotlyApi, PlotlyClickPoint, PlotlyElement } from './plotly-api';
import { type ChartTheme, readTheme } from './theme';

export type { ChartTheme } from './theme';
export type { PlotlyApi } from './plotly-api';
export { readTheme } from './theme';

export type ChartId = 'alpha' | 'esd' | 'sv' | 'condition' | 'welore' | 'farms';

/** Every chart, in the order the report shows them; `perLayer` charts show the selected layer only. */
export const CHARTS: readonly { id: ChartId; label: string; perLayer: boolean }[] = [
  { id: 'alpha', label: 'Power-law α by layer depth', perLayer: false },
  { id: 'condition', label: 'Condition number by layer', perLayer: false },
  { id: 'farms', label: 'FARMS α vs WeightWatcher α', perLayer: false },
  { id: 'welore', label: 'Low-rank map (WeLore)', perLayer: false },
  { id: 'esd', label: 'Empirical spectral density of the selected layer', perLayer: true },
  { id: 'sv', label: 'Singular values of the selected layer', perLayer: true },
];

const BUILDERS: Record<ChartId, (report: AnalysisReport, theme: ChartTheme, selected?: string, ctx?: FigureContext) => Figure> = {
  alpha: alphaByDepthFigure,
  esd: esdFigure,
  sv: singularValueFigure,
  condition: conditionFigure,
  welore: weloreFigure,
  farms: farmsFigure,
};

export interface ChartOptions {
  /** The layer to highlight (and to show in the ESD and singular-value charts). */
  selected?: string;
  /** Defaults to readTheme(): VS Code's CSS variables when present, a light theme otherwise. */
  theme?: ChartTheme;
  /** Called with the layer name when the user clicks a point or cell. */
  onSelectLayer?: (name: string) => void;
  /** Wording of placeholder notes. */
  context?: FigureContext;
}

const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  displayModeBar: 'hover',
  modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d'],
  toImageButtonOptions: { format: 'png', scale: 2 },
};

/** The current click callback of each chart element (plotly listeners are attached once per element). */
const clickTargets = new WeakMap<HTMLElement, ((name: string) => void) | undefined>();

function layerNameOf(point: PlotlyClickPoint | undefined): string | undefined {
  const cd = point?.customdata;
  if (typeof cd === 'string') return cd;
  if (Array.isArray(cd) && typeof cd[0] === 'string') return cd[0];
  return undefined;
}

/** Builds and draws one chart into `el` (Plotly.react: cheap to call again on selection or theme change). */
export async function drawChart(Plotly: PlotlyApi, el: HTMLElement, id: ChartId, report: AnalysisReport, options: ChartOptions = {}): Promise<void> {
  const figure = BUILDERS[id](report, options.theme ?? readTheme(), options.selected, options.context);
  const attached = clickTargets.has(el);
  clickTargets.set(el, options.onSelectLayer);
  const gd: PlotlyElement = await Plotly.react(el, figure.data, figure.layout, PLOT_CONFIG);
  el.dataset.chart = id;
  if (!attached) {
    gd.on('plotly_click', (e) => {
      const name = layerNameOf(e.points[0]);
      if (name !== undefined) clickTargets.get(el)?.(name);
    });
  }
}

export const drawAlphaByDepth = (Plotly: PlotlyApi, el: HTMLElement, report: AnalysisReport, options?: ChartOptions) => drawChart(Plotly, el, 'alpha', report, options);
export const drawEsd = (Plotly: PlotlyApi, el: HTMLElement, report: AnalysisReport, options?: ChartOptions) => drawChart(Plotly, el, 'esd', report, options);
export const drawSingularValues = (Plotly: PlotlyApi, el: HTMLElement, report: AnalysisReport, options?: ChartOptions) => drawChart(Plotly, el, 'sv', report, options);
export const drawConditionNumbers = (Plotly: PlotlyApi, el: HTMLElement, report: AnalysisReport, options?: ChartOptions) => drawChart(Plotly, el, 'condition', report, options);
export const drawWeloreMap = (Plotly: PlotlyApi, el: HTMLElement, report: AnalysisReport, options?: ChartOptions) => drawChart(Plotly, el, 'welore', report, options);
export const drawFarmsVsWw = (Plotly: PlotlyApi, el: HTMLElement, report: AnalysisReport, options?: ChartOptions) => drawChart(Plotly, el, 'farms', report, options);

const PER_LAYER: readonly ChartId[] = CHARTS.filter((c) => c.perLayer).map((c) => c.id);
const MODEL: readonly ChartId[] = CHARTS.filter((c) => !c.perLayer).map((c) => c.id);
const ALL: readonly ChartId[] = CHARTS.map((c) => c.id);

/**
 * While a report is still growing, the model-wide charts are redrawn at most this often: a plotly draw of a chart with
 * a thousand points takes tens of milliseconds, and layers may arrive ten times a second.
 */
export const GROWING_REDRAW_MS = 1000;

/**
 * All charts of one report, kept in step with one selected layer. Draws are coalesced: while plotly is drawing, further
 * requests only mark charts dirty, and one more pass draws the latest state (a streaming report never queues up).
 */
export class ReportCharts {
  private selected: string | undefined;
  private theme: ChartTheme | undefined;
  private readonly dirty = new Set<ChartId>();
  private drawing: Promise<void> | undefined;
  private disposed = false;
  private lastModelDraw = -Infinity;
  private modelTimer: ReturnType<typeof setTimeout> | undefined;
  /** The layer object the spectrum charts were last drawn for. */
  private drawnLayer: LayerResult | undefined;

  constructor(
    private readonly Plotly: PlotlyApi,
    private readonly containers: Partial<Record<ChartId, HTMLElement>>,
    private report: AnalysisReport,
    private readonly onSelectLayer?: (name: string) => void,
    private readonly context?: FigureContext,
  ) {}

  /** Draws every chart that has a container. */
  render(selected = this.selected): Promise<void> {
    this.selected = selected;
    return this.request(ALL);
  }

  /** Moves the highlight to `name` and shows its spectrum. */
  select(name: string): Promise<void> {
    this.selected = name;
    return this.request(ALL);
  }

  /**
   * Shows a new or grown report. `growing`: more layers will come, so the model charts may wait (GROWING_REDRAW_MS);
   * the selected layer's charts are redrawn only if that layer changed.
   */
  setReport(report: AnalysisReport, growing = false): Promise<void> {
    this.report = report;
    const perLayer = findLayer(report, this.selected) !== this.drawnLayer ? PER_LAYER : [];
    clearTimeout(this.modelTimer);
    this.modelTimer = undefined;
    const wait = this.lastModelDraw + GROWING_REDRAW_MS - performance.now();
    if (!growing || wait <= 0) return this.request([...MODEL, ...perLayer]);
    this.modelTimer = setTimeout(() => {
      this.modelTimer = undefined;
      void this.request(MODEL);
    }, wait);
    return this.request(perLayer);
  }

  /** Redraws the selected layer's charts (e.g. once its eigenvalues arrived). */
  refreshSelected(): Promise<void> {
    return this.request(PER_LAYER);
  }

  /** Redraws in new colours, e.g. after the VS Code theme changed (pass readTheme()). */
  setTheme(theme: ChartTheme | undefined): Promise<void> {
    this.theme = theme;
    return this.request(ALL);
  }

  resize(): void {
    for (const el of Object.values(this.containers)) if (el?.isConnected) this.Plotly.Plots.resize(el);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.modelTimer);
    for (const el of Object.values(this.containers)) if (el) this.Plotly.purge(el);
  }

  /** Resolves when the charts show the state as of this call. */
  private request(ids: readonly ChartId[]): Promise<void> {
    if (ids.length === 0 && !this.drawing) return Promise.resolve();
    for (const id of ids) this.dirty.add(id);
    if (!this.drawing) {
      this.drawing = this.drain().finally(() => (this.drawing = undefined));
      return this.drawing;
    }
    // A pass is running: the loop in drain() picks these up after it.
    return this.drawing;
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0 && !this.disposed) {
      const ids = [...this.dirty];
      this.dirty.clear();
      await this.draw(ids);
    }
  }

  private async draw(ids: ChartId[]): Promise<void> {
    if (ids.some((id) => MODEL.includes(id))) this.lastModelDraw = performance.now();
    if (ids.some((id) => PER_LAYER.includes(id))) this.drawnLayer = findLayer(this.report, this.selected);
    const theme = this.theme ?? readTheme();
    const options: ChartOptions = { selected: this.selected, theme, onSelectLayer: this.onSelectLayer, context: this.context };
    // One chart per task, so the page stays responsive while a large report redraws.
    for (const id of ids) {
      const el = this.containers[id];
      if (!el || this.disposed) continue;
      await drawChart(this.Plotly, el, id, this.report, options);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}
