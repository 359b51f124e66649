/**
 * Entry of the standalone HTML report (dist/report.js): reads the report JSON embedded in the page
 * (<script type="application/json" id="report-data">) and mounts the report, using the inlined plotly.js.
 */
import type { AnalysisReport } from '../../src/core/report/model';
import { mountReport, type ReportView } from './page';
import type { PlotlyApi } from './plotly-api';

declare global {
  interface Window {
    Plotly?: PlotlyApi;
    /** The mounted report, for scripting and tests. */
    weightSpectraReport?: ReportView;
  }
}

function showError(root: HTMLElement, message: string): void {
  const box = document.createElement('div');
  box.className = 'ws-fatal';
  box.textContent = message;
  root.replaceChildren(box);
}

function start(): void {
  const root = document.getElementById('app') ?? document.body;
  const data = document.getElementById('report-data')?.textContent;
  if (!data) return showError(root, 'This page has no report data.');
  if (!window.Plotly) return showError(root, 'plotly.js did not load, so the charts cannot be drawn.');
  let report: AnalysisReport;
  try {
    report = JSON.parse(data) as AnalysisReport;
  } catch (e) {
    return showError(root, `The embedded report is not valid JSON: ${(e as Error).message}`);
  }
  const fromHash = decodeURIComponent(location.hash.slice(1));
  window.weightSpectraReport = mountReport(root, report, window.Plotly, {
    selected: report.layers.some((l) => l.name === fromHash) ? fromHash : undefined,
    onSelectLayer: (name) => {
      try {
        history.replaceState(null, '', `#${encodeURIComponent(name)}`);
      } catch {
        // Opaque origins may refuse; the hash is only a convenience for reloads.
      }
    },
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
