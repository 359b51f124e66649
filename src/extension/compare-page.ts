/**
 * The Compare tab's page, rendered whole by the extension host from the `match` figures (and the `lmc` curve once run):
 * distance before/after, permutations, per-tensor distances and singular-vector alignment as a table and plotly bar
 * charts, the loss along the linear path with its barrier. Same CSP as the report tab (webview-html.ts): scripts only
 * with this page's nonce, nothing remote. Chart colours are the VS Code theme's chart variables with the light
 * fallbacks of webview/report/theme.ts. No vscode import.
 */
import { formatFigure } from '../core/report/format-figure';
import * as path from 'node:path';
import type { LmcReport, MatchReport } from '../protocol';
import { FromComparePage } from '../protocol';
import { contentSecurityPolicy, newNonce } from './webview-html';

export interface ComparePageState {
  match: MatchReport;
  lmc?: LmcReport;
  /** Both models are ONNX graphs: the LMC curve can be computed in onnxruntime. */
  canRunLmc: boolean;
  /** A job started from this page is running (its buttons are disabled meanwhile). */
  busy?: string;
  /** Files of the last aligned copy saved from this page. */
  saved?: string[];
}

export interface ComparePageAssets {
  cspSource: string;
  /** URI (webview.asWebviewUri) of the plotly.js bundle. */
  plotly: string;
  nonce?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : formatFigure(x));

/** The page title: both file names. */
export function compareTitle(a: string, b: string): string {
  return `Compare · ${path.basename(a)} ↔ ${path.basename(b)}`;
}

/** What the page's script plots (JSON in a data block; `<` escaped so no text can close the block). */
function chartData(s: ComparePageState): string {
  const m = s.match;
  const data = {
    distances: { names: m.layers.map((l) => l.name), before: m.layers.map((l) => l.distance_before), after: m.layers.map((l) => l.distance_after) },
    alignment: (() => {
      const rows = m.layers.filter((l) => l.sv_alignment);
      return {
        names: rows.map((l) => l.name),
        uBefore: rows.map((l) => l.sv_alignment!.before.u),
        uAfter: rows.map((l) => l.sv_alignment!.after.u),
        vBefore: rows.map((l) => l.sv_alignment!.before.v),
        vAfter: rows.map((l) => l.sv_alignment!.after.v),
      };
    })(),
    lmc: s.lmc?.loss ? { lambdas: s.lmc.lambdas, loss: s.lmc.loss, barrier: s.lmc.barrier, at: s.lmc.barrier_lambda, kind: s.lmc.loss_kind } : null,
  };
  return JSON.stringify(data).replace(/</g, '\\u003c');
}

const STYLE = `
body { font-family: var(--vscode-font-family, system-ui, sans-serif); font-size: var(--vscode-font-size, 13px); color: var(--vscode-foreground, #1f2328); background: var(--vscode-editor-background, #fff); padding: 0 16px 24px; }
h1 { font-size: 1.3em; font-weight: 600; margin: 16px 0 4px; word-break: break-all; }
h2 { font-size: 1.1em; font-weight: 600; margin: 24px 0 8px; }
.meta, .note { color: var(--vscode-descriptionForeground, #656d76); margin: 2px 0; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.card { border: 1px solid var(--vscode-widget-border, #d0d7de); border-radius: 4px; padding: 8px 12px; min-width: 180px; }
.card .label { color: var(--vscode-descriptionForeground, #656d76); font-size: 0.9em; }
.card .value { font-size: 1.3em; font-variant-numeric: tabular-nums; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; margin: 12px 0; align-items: center; }
button { font: inherit; color: var(--vscode-button-foreground, #fff); background: var(--vscode-button-background, #0969da); border: 1px solid var(--vscode-button-border, transparent); border-radius: 2px; padding: 4px 12px; cursor: pointer; }
button.secondary { color: var(--vscode-button-secondaryForeground, #1f2328); background: var(--vscode-button-secondaryBackground, #e5e5e5); }
button:disabled { opacity: 0.5; cursor: default; }
.chart { width: 100%; height: 340px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--vscode-widget-border, #d0d7de); white-space: nowrap; }
th { font-weight: 600; }
td.n, th.n { text-align: right; }
td.name { white-space: normal; word-break: break-all; }
`;

/** The page's script: button clicks → messages to the host; the charts. Plain ES2020, run under the page's nonce. */
function pageScript(): string {
  return `(() => {
  const vscode = acquireVsCodeApi();
  for (const b of document.querySelectorAll('button[data-action]')) b.addEventListener('click', () => vscode.postMessage({ type: b.dataset.action }));
  const data = JSON.parse(document.getElementById('compare-data').textContent);
  if (typeof Plotly === 'undefined') return;
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const fg = v('--vscode-charts-foreground', v('--vscode-editor-foreground', v('--vscode-foreground', '#1f2328')));
  const blue = v('--vscode-charts-blue', '#4e79a7');
  const orange = v('--vscode-charts-orange', '#f28e2b');
  const purple = v('--vscode-charts-purple', '#b07aa1');
  const green = v('--vscode-charts-green', '#59a14f');
  const red = v('--vscode-charts-red', '#cf222e');
  const grid = 'rgba(128, 128, 128, 0.2)';
  const font = { family: v('--vscode-font-family', 'system-ui, sans-serif'), size: 12, color: fg };
  const layout = (extra) => Object.assign({ paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)', font, margin: { l: 60, r: 20, t: 30, b: 40 }, barmode: 'group',
    legend: { orientation: 'h', y: 1.12 }, xaxis: { showticklabels: false, gridcolor: grid }, yaxis: { gridcolor: grid, zerolinecolor: grid } }, extra);
  const config = { displaylogo: false, responsive: true };
  const d = data.distances;
  Plotly.newPlot('chart-distances', [
    { type: 'bar', name: 'before matching', x: d.names, y: d.before, marker: { color: orange } },
    { type: 'bar', name: 'after matching', x: d.names, y: d.after, marker: { color: blue } },
  ], layout({ yaxis: { title: { text: '‖θa − θb‖ per tensor' }, gridcolor: grid } }), config);
  const a = data.alignment;
  if (a.names.length) Plotly.newPlot('chart-alignment', [
    { type: 'bar', name: 'u before', x: a.names, y: a.uBefore, marker: { color: orange, opacity: 0.55 } },
    { type: 'bar', name: 'u after', x: a.names, y: a.uAfter, marker: { color: orange } },
    { type: 'bar', name: 'v before', x: a.names, y: a.vBefore, marker: { color: purple, opacity: 0.55 } },
    { type: 'bar', name: 'v after', x: a.names, y: a.vAfter, marker: { color: purple } },
  ], layout({ yaxis: { title: { text: 'σ-weighted |⟨uᵃ, P uᵇ⟩|, |⟨vᵃ, Q vᵇ⟩|' }, range: [0, 1.05], gridcolor: grid } }), config);
  const l = data.lmc;
  if (l) {
    const n = l.lambdas.length - 1;
    Plotly.newPlot('chart-lmc', [
      { type: 'scatter', mode: 'lines+markers', name: l.kind, x: l.lambdas, y: l.loss, line: { color: blue } },
      { type: 'scatter', mode: 'lines', name: 'linear interpolation of the ends', x: [l.lambdas[0], l.lambdas[n]], y: [l.loss[0], l.loss[n]], line: { color: green, dash: 'dash' } },
      { type: 'scatter', mode: 'markers', name: 'barrier', x: [l.at], y: [l.loss[l.lambdas.indexOf(l.at)]], marker: { color: red, size: 10, symbol: 'diamond' } },
    ], layout({ xaxis: { title: { text: 'λ  (θ = (1 − λ)·θa + λ·θb)' }, showticklabels: true, gridcolor: grid }, yaxis: { title: { text: l.kind }, gridcolor: grid } }), config);
  }
})();`;
}

function lmcSection(s: ComparePageState): string {
  const r = s.lmc;
  if (!r) {
    return s.canRunLmc
      ? '<p class="note">Linear mode connectivity: run both ONNX models in onnxruntime along θ(λ) = (1 − λ)·θa + λ·θb and measure the loss barrier.</p>'
      : '<p class="note">Linear mode connectivity needs two ONNX models (it runs them in onnxruntime); for other formats the weight-space figures above are the comparison.</p>';
  }
  const head = `<h2>Linear mode connectivity${r.rebasin ? ' (after weight matching)' : ''}</h2>`;
  const notes = r.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('');
  if (!r.loss) return `${head}${notes}`;
  const rows = r.lambdas
    .map((lam, i) => `<tr><td class="n">${lam.toFixed(3)}</td><td class="n">${num(r.loss![i])}</td><td class="n">${num(r.output_distance_to_a?.[i])}</td><td class="n">${num(r.output_distance_to_b?.[i])}</td></tr>`)
    .join('');
  return (
    `${head}<div class="cards" data-testid="lmc-figures"><div class="card"><div class="label">barrier (${esc(r.loss_kind ?? '')})</div><div class="value">${num(r.barrier)}</div></div>` +
    `<div class="card"><div class="label">at λ</div><div class="value">${num(r.barrier_lambda)}</div></div>` +
    `<div class="card"><div class="label">inputs</div><div class="value">${esc(r.inputs === 'random' ? 'random' : path.basename(r.inputs))}</div></div></div>${notes}` +
    `<div id="chart-lmc" class="chart" data-testid="chart-lmc"></div>` +
    `<table data-testid="lmc-table"><thead><tr><th class="n">λ</th><th class="n">loss</th><th class="n">output distance to A</th><th class="n">to B</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

export function comparePageHtml(s: ComparePageState, assets: ComparePageAssets): string {
  const nonce = assets.nonce ?? newNonce();
  const m = s.match;
  const closer = m.distance_before > 0 ? (100 * (1 - m.distance_after / m.distance_before)).toFixed(1) : '0.0';
  const perms = Object.entries(m.permutations);
  const moved = perms.map(([name, p]) => `${esc(name)} (${p.moved}/${p.size} moved)`).join(', ') || 'none';
  const disabled = s.busy ? ' disabled' : '';
  const rows = m.layers
    .map((l) => {
      const sv = l.sv_alignment;
      return (
        `<tr><td class="name">${esc(l.name)}</td><td>[${l.shape.join(', ')}]</td><td>${l.permuted ? 'yes' : ''}</td>` +
        `<td class="n">${num(l.distance_before)}</td><td class="n">${num(l.distance_after)}</td>` +
        `<td class="n">${sv ? `${sv.before.u.toFixed(3)} / ${sv.before.v.toFixed(3)}` : ''}</td><td class="n">${sv ? `${sv.after.u.toFixed(3)} / ${sv.after.v.toFixed(3)}` : ''}</td></tr>`
      );
    })
    .join('');
  const title = compareTitle(m.a, m.b);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="UTF-8">',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(assets.cspSource, nonce)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1 data-testid="compare-title">${esc(path.basename(m.a))} ↔ ${esc(path.basename(m.b))}</h1>`,
    `<p class="meta">A: ${esc(m.a)}</p><p class="meta">B: ${esc(m.b)}</p>`,
    `<p class="meta">${esc(m.format)} · permutation spec ${esc(m.spec)} · ${m.sweeps} sweeps · seed ${m.seed} · ${m.seconds.toFixed(1)} s</p>`,
    ...m.notes.map((n) => `<p class="note">note: ${esc(n)}</p>`),
    '<div class="cards" data-testid="match-figures">',
    `<div class="card"><div class="label">‖θa − θb‖ before matching</div><div class="value" data-testid="distance-before">${num(m.distance_before)}</div></div>`,
    `<div class="card"><div class="label">after matching B to A</div><div class="value" data-testid="distance-after">${num(m.distance_after)}</div></div>`,
    `<div class="card"><div class="label">closer by</div><div class="value">${closer} %</div></div>`,
    '</div>',
    `<p class="meta">permutations: ${moved}</p>`,
    '<div class="actions">',
    `<button data-action="${FromComparePage.SaveAligned}" data-testid="save-aligned"${disabled}>Save aligned copy…</button>`,
    s.canRunLmc ? `<button data-action="${FromComparePage.RunLmc}" data-testid="run-lmc"${disabled}>Linear mode connectivity…</button>` : '',
    `<button class="secondary" data-action="${FromComparePage.ShowReport}" data-testid="show-report">Show JSON</button>`,
    s.busy ? `<span class="note" data-testid="busy">${esc(s.busy)}…</span>` : '',
    s.saved?.length ? `<span class="note" data-testid="saved">saved ${esc(s.saved.map((f) => path.basename(f)).join(', '))}</span>` : '',
    '</div>',
    '<h2>Distance per tensor</h2>',
    '<div id="chart-distances" class="chart" data-testid="chart-distances"></div>',
    m.layers.some((l) => l.sv_alignment) ? '<h2>Alignment of the top singular vectors (permuted tensors)</h2><div id="chart-alignment" class="chart" data-testid="chart-alignment"></div>' : '',
    lmcSection(s),
    '<h2>Tensors</h2>',
    '<table data-testid="compare-table"><thead><tr><th>tensor</th><th>shape</th><th>permuted</th><th class="n">distance before</th><th class="n">after</th>' +
      `<th class="n">sv alignment u / v before</th><th class="n">after</th></tr></thead><tbody>${rows}</tbody></table>`,
    `<script type="application/json" id="compare-data">${chartData(s)}</script>`,
    `<script nonce="${nonce}" src="${esc(assets.plotly)}"></script>`,
    `<script nonce="${nonce}">${pageScript()}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
