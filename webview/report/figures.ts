/**
 * Plotly figures (data + layout) for each report chart. Pure functions of the report, the selected layer and the
 * theme: no DOM, no plotly, so the standalone page and the webview draw exactly the same thing.
 * Every clickable point carries its layer name in `customdata` (a string, or element 0 of an array).
 */
import type { AnalysisReport, LayerResult } from '../../src/core/report/model';
import { analysedLayers, blockIndexOf, evalsThreshold, extent, findLayer, isNum, logHistogram, powerLawCurve, singularValueDecay } from './layers';
import type { Figure, PlotObject } from './plotly-api';
import { type ChartTheme, KIND_ORDER, kindColors, mix, withAlpha } from './theme';

/** WeightWatcher's reading of alpha: below 2 over-trained (or over-fit), above 6 under-trained. */
export const ALPHA_OVER_TRAINED = 2;
export const ALPHA_UNDER_TRAINED = 6;
const ALPHA_CLIP = 12;

/** Page-specific wording of the charts' placeholder notes (e.g. while an analysis is still streaming in). */
export interface FigureContext {
  /** Shown by model charts that have no layer to draw yet. */
  emptyNote?: string;
  /** Shown by the per-layer spectrum charts when the selected layer's eigenvalues are not in the report. */
  spectrumNote?: string;
  /** How to turn FARMS on, shown when the report was made without it. */
  farmsHint?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function fmt(x: number | undefined, digits = 3): string {
  if (!isNum(x)) return '—';
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) {
    const [mantissa, exponent] = x.toExponential(digits - 1).split('e');
    return `${Number(mantissa)}e${Number(exponent)}`;
  }
  return Number(x.toPrecision(digits)).toString();
}

function axis(theme: ChartTheme, title: string, extra: PlotObject = {}): PlotObject {
  return {
    title: { text: title, standoff: 8, font: { color: theme.muted } },
    gridcolor: theme.grid,
    zerolinecolor: theme.grid,
    linecolor: theme.grid,
    tickcolor: theme.grid,
    tickfont: { color: theme.muted },
    automargin: true,
    ...extra,
  };
}

function baseLayout(theme: ChartTheme, title: string, extra: PlotObject = {}, subtitle = ''): PlotObject {
  return {
    title: {
      text: title,
      subtitle: { text: subtitle, font: { size: theme.fontSize - 1, color: theme.muted } },
      x: 0,
      xref: 'paper',
      xanchor: 'left',
      y: 0.98,
      yanchor: 'top',
      font: { size: theme.fontSize + 2, color: theme.foreground },
    },
    font: { family: theme.fontFamily, size: theme.fontSize, color: theme.foreground },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    margin: { l: 56, r: 20, t: 84, b: 48 },
    hoverlabel: { bgcolor: theme.surface, bordercolor: theme.grid, font: { color: theme.foreground, family: theme.fontFamily } },
    legend: { orientation: 'h', x: 1, xanchor: 'right', y: 1.0, yanchor: 'bottom', bgcolor: 'rgba(0,0,0,0)', font: { color: theme.muted } },
    hovermode: 'closest',
    ...extra,
  };
}

/** A figure with no data and a centred message, for charts that have nothing to draw. */
export function noteFigure(theme: ChartTheme, title: string, message: string): Figure {
  return {
    data: [],
    layout: baseLayout(theme, title, {
      xaxis: { visible: false },
      yaxis: { visible: false },
      annotations: [{ text: message, xref: 'paper', yref: 'paper', x: 0.5, y: 0.5, showarrow: false, font: { color: theme.muted, size: theme.fontSize + 1 } }],
    }),
  };
}

/** A hollow ring around the selected layer's point. */
function selectionRing(theme: ChartTheme, x: number, y: number): PlotObject {
  return {
    type: 'scatter',
    mode: 'markers',
    x: [x],
    y: [y],
    marker: { size: 20, color: 'rgba(0,0,0,0)', line: { color: theme.foreground, width: 2 } },
    hoverinfo: 'skip',
    showlegend: false,
    name: 'selected',
  };
}

function layerHover(l: LayerResult, lines: string[]): string {
  const flags = l.flags?.length ? `<br><i>${esc(l.flags.join(', '))}</i>` : '';
  return `<b>${esc(l.name)}</b><br>${esc(l.kind)} · [${l.shape.join('×')}]<br>${lines.join('<br>')}${flags}`;
}

/** Markers grouped by layer kind (one legend entry each), x/y picked by the caller. */
function kindTraces(
  layers: LayerResult[],
  theme: ChartTheme,
  point: (l: LayerResult) => [x: number, y: number, symbol?: string],
  hover: (l: LayerResult) => string[],
): PlotObject[] {
  const colors = kindColors(layers.map((l) => l.kind), theme);
  return [...colors].map(([kind, color]) => {
    const ls = layers.filter((l) => l.kind === kind);
    return {
      type: 'scatter',
      mode: 'markers',
      name: kind,
      x: ls.map((l) => point(l)[0]),
      y: ls.map((l) => point(l)[1]),
      customdata: ls.map((l) => l.name),
      text: ls.map((l) => layerHover(l, hover(l))),
      hovertemplate: '%{text}<extra></extra>',
      marker: { color, size: 10, symbol: ls.map((l) => point(l)[2] ?? 'circle'), line: { color: theme.surface, width: 1 } },
    };
  });
}

/** Where to clip the α axis so one wild fit does not flatten the rest: 12, unless over a quarter of the layers lie above. */
function alphaAxisCap(alphas: number[]): number {
  const max = Math.max(...alphas);
  const above = alphas.filter((a) => a > ALPHA_CLIP).length;
  return max > ALPHA_CLIP && above <= alphas.length / 4 ? ALPHA_CLIP : Math.max(8, max * 1.08);
}

export function alphaByDepthFigure(report: AnalysisReport, theme: ChartTheme, selected?: string, ctx: FigureContext = {}): Figure {
  const title = 'Power-law α by layer depth';
  const layers = analysedLayers(report).filter((l) => isNum(l.alpha));
  if (layers.length === 0) return noteFigure(theme, title, ctx.emptyNote ?? 'No layer has a power-law fit.');
  const cap = alphaAxisCap(layers.map((l) => l.alpha!));
  const clipped = layers.filter((l) => l.alpha! > cap).length;
  const top = clipped ? cap * 1.06 : cap;
  const shown = (l: LayerResult) => Math.min(l.alpha!, cap);
  const xs = layers.map((l) => l.layer_id);
  const band = (y0: number, y1: number, color: string): PlotObject => ({
    type: 'rect', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0, y1, fillcolor: withAlpha(color, 0.1), line: { width: 0 }, layer: 'below',
  });
  const limit = (y: number, color: string): PlotObject => ({
    type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: y, y1: y, line: { color: withAlpha(color, 0.7), width: 1, dash: 'dot' }, layer: 'below',
  });
  const label = (y: number, text: string, color: string, yanchor: string): PlotObject => ({
    text, xref: 'paper', x: 0.005, xanchor: 'left', yref: 'y', y, yanchor, showarrow: false, font: { color, size: theme.fontSize - 1 },
  });
  const data: PlotObject[] = [
    { type: 'scatter', mode: 'lines', x: xs, y: layers.map(shown), line: { color: withAlpha(theme.muted, 0.35), width: 1 }, hoverinfo: 'skip', showlegend: false },
    ...kindTraces(
      layers,
      theme,
      (l) => [l.layer_id, shown(l), l.alpha! > cap ? 'triangle-up' : 'circle'],
      (l) => [`layer_id ${l.layer_id}`, `α = ${fmt(l.alpha)}  D = ${fmt(l.D)}`],
    ),
  ];
  const sel = findLayer(report, selected);
  if (sel && isNum(sel.alpha) && !sel.skipped && !sel.error) data.push(selectionRing(theme, sel.layer_id, shown(sel)));
  return {
    data,
    layout: baseLayout(theme, title, {
      xaxis: axis(theme, 'layer (layer_id)', { zeroline: false }),
      yaxis: axis(theme, 'α', { range: [0, top], zeroline: false }),
      shapes: [band(0, ALPHA_OVER_TRAINED, theme.bad), band(ALPHA_UNDER_TRAINED, top, theme.warn), limit(ALPHA_OVER_TRAINED, theme.bad), limit(ALPHA_UNDER_TRAINED, theme.warn)],
      annotations: [
        label(ALPHA_OVER_TRAINED, 'α < 2 over-trained', theme.bad, 'top'),
        label(ALPHA_UNDER_TRAINED, 'α > 6 under-trained', theme.warn, 'bottom'),
        ...(clipped
          ? [{ text: `▲ ${clipped} above ${cap}, drawn at the top`, xref: 'paper', x: 1, xanchor: 'right', yref: 'paper', y: 1, yanchor: 'top', showarrow: false, font: { color: theme.muted, size: theme.fontSize - 1 } }]
          : []),
      ],
    }, `${layers.length} layers · mean α ${fmt(report.model.summary.alpha ?? layers.reduce((s, l) => s + l.alpha!, 0) / layers.length)} · WeightWatcher power-law fit of each layer's ESD tail`),
  };
}

function layerNote(layer: LayerResult | undefined, theme: ChartTheme, title: string, ctx: FigureContext): Figure | undefined {
  if (!layer) return noteFigure(theme, title, 'Select a layer in the table or a chart.');
  if (layer.error) return noteFigure(theme, title, `This layer failed: ${layer.error}`);
  if (layer.skipped) return noteFigure(theme, title, `This layer was not analysed: ${layer.skipped}`);
  if (!layer.eigenvalues || layer.eigenvalues.length === 0) {
    return noteFigure(theme, title, ctx.spectrumNote ?? 'Eigenvalues are not in this report.<br>Run the analysis with --eigenvalues (the HTML report keeps them) to see them.');
  }
  return undefined;
}

export function esdFigure(report: AnalysisReport, theme: ChartTheme, selected?: string, ctx: FigureContext = {}): Figure {
  const layer = findLayer(report, selected);
  const title = layer ? `ESD · ${layer.name}` : 'Empirical spectral density';
  const note = layerNote(layer, theme, title, ctx);
  if (note || !layer) return note!;
  const threshold = evalsThreshold(report);
  const hist = logHistogram(layer.eigenvalues!, threshold);
  if (!hist) return noteFigure(theme, title, 'All eigenvalues are zero.');
  const { edges, density, counts } = hist;
  const data: PlotObject[] = [
    {
      // Bars on a log axis span x ± width/2 in data units, so the arithmetic centre and the linear width give [lo, hi].
      type: 'bar',
      name: 'ESD',
      x: density.map((_, i) => (edges[i] + edges[i + 1]) / 2),
      width: density.map((_, i) => edges[i + 1] - edges[i]),
      y: density.map((d) => (d > 0 ? d : null)),
      customdata: density.map((_, i) => [edges[i], edges[i + 1], counts[i]]),
      hovertemplate: 'λ in [%{customdata[0]:.3g}, %{customdata[1]:.3g})<br>%{customdata[2]} eigenvalues<br>density %{y:.3g}<extra></extra>',
      marker: { color: withAlpha(theme.accent, 0.45), line: { color: withAlpha(theme.accent, 0.9), width: 1 } },
    },
  ];
  const shapes: PlotObject[] = [];
  const annotations: PlotObject[] = [];
  const { alpha, xmin } = layer;
  if (isNum(alpha) && isNum(xmin) && xmin > 0) {
    const lambdaMax = extent(hist.values)[1];
    const xmax = isNum(layer.xmax) && layer.xmax > xmin ? layer.xmax : lambdaMax;
    const tailShare = hist.values.filter((v) => v >= xmin).length / hist.n;
    const curve = powerLawCurve(alpha, xmin, Math.max(xmax, lambdaMax), tailShare);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `power law α = ${fmt(alpha)}`,
      x: curve.x,
      y: curve.y,
      line: { color: theme.bad, width: 2.5 },
      hovertemplate: `p(λ) ∝ λ^−${fmt(alpha)}<br>λ = %{x:.3g}<br>p = %{y:.3g}<extra></extra>`,
    });
    shapes.push({ type: 'line', xref: 'x', x0: xmin, x1: xmin, yref: 'paper', y0: 0, y1: 1, line: { color: theme.foreground, width: 1.5, dash: 'dash' } });
    annotations.push({
      text: `xmin = ${fmt(xmin)}`, xref: 'x', x: Math.log10(xmin), xanchor: 'right', yref: 'paper', y: 1, yanchor: 'top', showarrow: false,
      font: { color: theme.foreground, size: theme.fontSize - 1 }, bgcolor: withAlpha(theme.surface, 0.8),
    });
  }
  const info = [`${hist.n} eigenvalues in ${edges.length - 1} log bins`, isNum(layer.D) ? `KS D = ${fmt(layer.D)}` : '', hist.hidden > 0 ? `${hist.hidden} ≤ ${fmt(threshold, 2)} hidden` : '']
    .filter(Boolean)
    .join(' · ');
  return {
    data,
    layout: baseLayout(theme, title, {
      xaxis: axis(theme, 'eigenvalue λ', { type: 'log', exponentformat: 'power' }),
      yaxis: axis(theme, 'density', { type: 'log', exponentformat: 'power' }),
      bargap: 0,
      shapes,
      annotations,
    }, info),
  };
}

export function singularValueFigure(report: AnalysisReport, theme: ChartTheme, selected?: string, ctx: FigureContext = {}): Figure {
  const layer = findLayer(report, selected);
  const title = layer ? `Singular values · ${layer.name}` : 'Singular values';
  const note = layerNote(layer, theme, title, ctx);
  if (note || !layer) return note!;
  const decay = singularValueDecay(layer);
  if (!decay) return noteFigure(theme, title, 'All singular values are zero.');
  const idx = decay.sigma.map((_, i) => i + 1);
  const energyColor = theme.palette[1];
  const rankColor = theme.palette[2] ?? theme.muted;
  const data: PlotObject[] = [
    {
      type: 'scatter',
      mode: decay.sigma.length <= 300 ? 'lines+markers' : 'lines',
      name: 'σᵢ',
      x: idx,
      y: decay.sigma.map((s) => (s > 0 ? s : null)),
      line: { color: theme.accent, width: 2 },
      marker: { size: 3, color: theme.accent },
      hovertemplate: 'σ<sub>%{x}</sub> = %{y:.4g}<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'lines',
      name: 'cumulative energy Σσ²',
      x: idx,
      y: decay.energy.map((e) => e * 100),
      yaxis: 'y2',
      line: { color: energyColor, width: 2 },
      hovertemplate: 'top %{x}: %{y:.2f} % of Σσ²<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'markers',
      name: 'energy ranks',
      showlegend: false,
      x: decay.ranks.map((r) => r.rank),
      y: decay.ranks.map((r) => r.p * 100),
      yaxis: 'y2',
      text: decay.ranks.map((r) => `${Math.round(r.p * 100)} % of the energy in the top ${r.rank}`),
      marker: { color: rankColor, size: 9, symbol: 'diamond', line: { color: theme.surface, width: 1 } },
      hovertemplate: '%{text}<extra></extra>',
    },
  ];
  const shapes = decay.ranks.map((r) => ({
    type: 'line', xref: 'x', x0: r.rank, x1: r.rank, yref: 'paper', y0: 0, y1: 1, line: { color: withAlpha(rankColor, 0.6), width: 1, dash: 'dot' }, layer: 'below',
  }));
  return {
    data,
    layout: baseLayout(theme, title, {
      margin: { l: 56, r: 56, t: 84, b: 48 },
      xaxis: axis(theme, 'rank i', { zeroline: false, range: [0, decay.sigma.length + 1] }),
      yaxis: axis(theme, 'σᵢ', { type: 'log', exponentformat: 'power' }),
      yaxis2: axis(theme, 'cumulative energy', {
        overlaying: 'y', side: 'right', range: [0, 102], tickmode: 'array', tickvals: [0, 25, 50, 75, 100], ticksuffix: ' %', showgrid: false, zeroline: false,
      }),
      shapes,
    }, `σᵢ = √λᵢ · ◆ 90/95/99 % of the energy at rank ${decay.ranks.map((r) => r.rank).join('/')}`),
  };
}

export function conditionFigure(report: AnalysisReport, theme: ChartTheme, selected?: string, ctx: FigureContext = {}): Figure {
  const title = 'Condition number κ = σmax / σmin';
  const layers = analysedLayers(report).filter((l) => isNum(l.condition_number) && l.condition_number > 0);
  if (layers.length === 0) return noteFigure(theme, title, ctx.emptyNote ?? 'No layer has a condition number.');
  const groups: { name: string; color: string; symbol: string; size: number; pick: (l: LayerResult) => boolean }[] = [
    { name: 'well-conditioned', color: theme.accent, symbol: 'circle', size: 10, pick: (l) => !l.numerically_singular && !l.flags?.includes('ill-conditioned') },
    { name: 'ill-conditioned', color: theme.warn, symbol: 'diamond', size: 11, pick: (l) => !l.numerically_singular && !!l.flags?.includes('ill-conditioned') },
    { name: 'numerically singular', color: theme.bad, symbol: 'x', size: 12, pick: (l) => !!l.numerically_singular },
  ];
  const data: PlotObject[] = [
    { type: 'scatter', mode: 'lines', x: layers.map((l) => l.layer_id), y: layers.map((l) => l.condition_number), line: { color: withAlpha(theme.muted, 0.3), width: 1 }, hoverinfo: 'skip', showlegend: false },
  ];
  for (const g of groups) {
    const ls = layers.filter(g.pick);
    if (ls.length === 0) continue;
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: g.name,
      x: ls.map((l) => l.layer_id),
      y: ls.map((l) => l.condition_number),
      customdata: ls.map((l) => l.name),
      text: ls.map((l) =>
        layerHover(l, [
          `κ = ${fmt(l.condition_number)}`,
          `σmax = ${fmt(l.sigma_max)}  σmin = ${fmt(l.sigma_min)}`,
          ...(l.numerically_singular ? ['σmin is at round-off level: κ is not meaningful'] : []),
        ]),
      ),
      hovertemplate: '%{text}<extra></extra>',
      marker: { color: g.color, symbol: g.symbol, size: g.size, line: { color: g.symbol === 'x' ? g.color : theme.surface, width: 1 } },
    });
  }
  const sel = findLayer(report, selected);
  if (sel && layers.includes(sel)) data.push(selectionRing(theme, sel.layer_id, sel.condition_number!));
  return {
    data,
    layout: baseLayout(theme, title, {
      xaxis: axis(theme, 'layer (layer_id)', { zeroline: false }),
      yaxis: axis(theme, 'κ', { type: 'log', exponentformat: 'power' }),
    }, 'σmax / σmin of each layer · ✕: σmin at round-off level, κ not meaningful'),
  };
}

export function farmsFigure(report: AnalysisReport, theme: ChartTheme, selected?: string, ctx: FigureContext = {}): Figure {
  const title = 'FARMS α vs WeightWatcher α';
  const layers = analysedLayers(report).filter((l) => isNum(l.alpha) && isNum(l.farms?.alpha));
  if (layers.length === 0) {
    if (report.model.options?.farms === false) return noteFigure(theme, title, `FARMS was not run for this report.<br>${ctx.farmsHint ?? 'Run the analysis with --farms to add it.'}`);
    return noteFigure(theme, title, ctx.emptyNote ?? 'No layer has a FARMS fit in this report.');
  }
  const all = layers.flatMap((l) => [l.alpha!, l.farms!.alpha]);
  const pad = 0.06 * (Math.max(...all) - Math.min(...all) || 1);
  const lo = Math.max(0, Math.min(...all) - pad);
  const hi = Math.max(...all) + pad;
  const data: PlotObject[] = [
    { type: 'scatter', mode: 'lines', name: 'y = x', x: [lo, hi], y: [lo, hi], line: { color: withAlpha(theme.muted, 0.7), width: 1, dash: 'dash' }, hoverinfo: 'skip' },
    ...kindTraces(layers, theme, (l) => [l.alpha!, l.farms!.alpha], (l) => [
      `WeightWatcher α = ${fmt(l.alpha)}`,
      `FARMS α = ${fmt(l.farms!.alpha)} (${l.farms!.num_windows} windows, ${esc(l.farms!.fit)})`,
    ]),
  ];
  const sel = findLayer(report, selected);
  if (sel && layers.includes(sel)) data.push(selectionRing(theme, sel.alpha!, sel.farms!.alpha));
  // Many kinds do not fit in one row above a half-width chart: list them at the right instead.
  const sideLegend = data.length > 4 ? { legend: { orientation: 'v', x: 1.02, xanchor: 'left', y: 1, yanchor: 'top', font: { color: theme.muted } } } : {};
  return {
    data,
    layout: baseLayout(theme, title, {
      ...sideLegend,
      xaxis: axis(theme, 'WeightWatcher α', { range: [lo, hi], zeroline: false }),
      yaxis: axis(theme, 'FARMS α', { range: [lo, hi], zeroline: false }),
    }, `${layers.length} layers · FARMS fits the ESD pooled over sub-matrix windows · on the dashed line the two agree`),
  };
}

export interface WeloreGrid {
  columns: string[];
  rows: string[];
  /** cells[row][col]: the layer there, if any. */
  cells: (LayerResult | undefined)[][];
  /** Columns are layer_ids, not blocks (no layer name has a block index). */
  byLayer: boolean;
}

/**
 * One cell per layer: columns are block indices (then '—' for layers outside blocks), rows are kinds. A model with no
 * block structure in its names (many CNNs) gets one column per layer instead of one tall column of '—'.
 */
export function weloreGrid(layers: LayerResult[]): WeloreGrid {
  const byLayer = layers.length > 1 && layers.every((l) => blockIndexOf(l.name) === undefined);
  const blockOf = (l: LayerResult) => {
    if (byLayer) return String(l.layer_id);
    const b = blockIndexOf(l.name);
    return b === undefined ? '—' : String(b);
  };
  const blocks = [...new Set(layers.map(blockOf))].sort((a, b) => (a === '—' ? 1 : b === '—' ? -1 : Number(a) - Number(b)));
  const placed = new Map<string, LayerResult>();
  const rowsSeen = new Set<string>();
  for (const l of layers) {
    // Two layers of one kind in one block get rows "kind", "kind #2", …
    let row = l.kind as string;
    for (let i = 2; placed.has(`${row}\u0000${blockOf(l)}`); i++) row = `${l.kind} #${i}`;
    placed.set(`${row}\u0000${blockOf(l)}`, l);
    rowsSeen.add(row);
  }
  const kindRank = (row: string) => {
    const i = KIND_ORDER.indexOf(row.split(' #')[0] as LayerResult['kind']);
    return i < 0 ? KIND_ORDER.length : i;
  };
  const rows = [...rowsSeen].sort((a, b) => kindRank(a) - kindRank(b) || a.localeCompare(b));
  return { columns: blocks, rows, cells: rows.map((r) => blocks.map((b) => placed.get(`${r}\u0000${b}`))), byLayer };
}

export function weloreFigure(report: AnalysisReport, theme: ChartTheme, selected?: string, ctx: FigureContext = {}): Figure {
  const title = 'Low-rank map (WeLore LRC / N-LRC)';
  const layers = analysedLayers(report).filter((l) => l.welore);
  if (layers.length === 0) return noteFigure(theme, title, ctx.emptyNote ?? 'No layer has a WeLore classification in this report.');
  const grid = weloreGrid(layers);
  const lrc = theme.good;
  const nlrc = mix(theme.muted, theme.background, 0.6);
  const z = grid.cells.map((row) => row.map((l) => (l ? (l.welore!.class === 'LRC' ? 1 : 0) : null)));
  const customdata = grid.cells.map((row) =>
    row.map((l) => (l ? [l.name, l.welore!.class, l.welore!.keep_rank, l.welore!.keep_rank + l.welore!.k, l.kind] : null)),
  );
  const text = grid.cells.map((row) => row.map((l) => (l ? `${l.welore!.keep_rank}/${l.welore!.keep_rank + l.welore!.k}` : '')));
  const legendSwatch = (name: string, color: string): PlotObject => ({
    type: 'scatter', mode: 'markers', name, x: [null], y: [null], marker: { symbol: 'square', size: 12, color }, hoverinfo: 'skip',
  });
  const data: PlotObject[] = [
    {
      type: 'heatmap',
      x: grid.columns,
      y: grid.rows,
      z,
      zmin: 0,
      zmax: 1,
      colorscale: [[0, nlrc], [0.5, nlrc], [0.5, lrc], [1, lrc]],
      showscale: false,
      xgap: 3,
      ygap: 3,
      hoverongaps: false,
      customdata,
      text,
      texttemplate: grid.columns.length <= 24 ? '%{text}' : '',
      textfont: { size: theme.fontSize - 2 },
      hovertemplate: `<b>%{customdata[0]}</b><br>%{customdata[4]} · ${grid.byLayer ? 'layer' : 'block'} %{x}<br>%{customdata[1]} · keep rank %{customdata[2]} of %{customdata[3]}<extra></extra>`,
    },
    legendSwatch('LRC (low-rank, compressible)', lrc),
    legendSwatch('N-LRC', nlrc),
  ];
  const shapes: PlotObject[] = [];
  grid.cells.forEach((row, r) =>
    row.forEach((l, c) => {
      if (l?.name === selected) {
        shapes.push({ type: 'rect', xref: 'x', yref: 'y', x0: c - 0.5, x1: c + 0.5, y0: r - 0.5, y1: r + 0.5, line: { color: theme.foreground, width: 2 } });
      }
    }),
  );
  return {
    data,
    layout: baseLayout(theme, title, {
      // Rows keep a readable height; the container grows with the plot.
      height: Math.min(640, Math.max(240, 150 + 30 * grid.rows.length)),
      xaxis: axis(theme, grid.byLayer ? 'layer (layer_id)' : 'block', { type: 'category', showgrid: false, zeroline: false }),
      yaxis: axis(theme, '', { type: 'category', autorange: 'reversed', showgrid: false, zeroline: false }),
      shapes,
    }, `one cell per layer, by ${grid.byLayer ? 'depth' : 'block'} and kind${grid.columns.length <= 24 ? ' · cell text: rank to keep / full rank' : ''}`),
  };
}
