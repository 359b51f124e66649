/** The bar above the report: what the analysis is doing (progress, outcome), Cancel / Analyze again, and the exports. */
import type { ExportFormat, ExportedMessage } from '../../src/protocol';
import { h, humanSeconds } from '../report/dom';
import { basename } from './error-box';
import type { LiveReport } from './live-report';

export interface ToolbarActions {
  cancel(): void;
  rerun(): void;
  exportAs(format: ExportFormat): void;
  showLog(): void;
}

const EXPORTS: { format: ExportFormat; label: string; title: string }[] = [
  { format: 'json', label: 'JSON', title: 'Save the report as JSON (every metric, no eigenvalues)' },
  { format: 'csv', label: 'CSV', title: 'Save one row per layer as CSV' },
  { format: 'html', label: 'HTML', title: 'Save a standalone HTML report (opens in any browser, no network)' },
];

export class Toolbar {
  readonly element: HTMLElement;
  private readonly text: HTMLElement;
  private readonly detail: HTMLElement;
  private readonly bar: HTMLElement;
  private readonly fill: HTMLElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly rerunButton: HTMLButtonElement;
  private readonly exportButtons = new Map<ExportFormat, HTMLButtonElement>();
  private readonly exportResult: HTMLElement;
  private readonly exportGroup: HTMLElement;

  constructor(actions: ToolbarActions) {
    this.text = h('span', { class: 'wsv-status-text' });
    this.detail = h('span', { class: 'wsv-status-detail' });
    this.fill = h('div', { class: 'wsv-progress-fill' });
    this.bar = h('div', { class: 'wsv-progress', role: 'progressbar', 'aria-label': 'Layers analysed', 'aria-valuemin': 0, 'data-testid': 'progress' }, this.fill);
    this.cancelButton = h('button', { type: 'button', class: 'wsv-button wsv-secondary', 'data-testid': 'cancel', title: 'Stop the analysis' }, 'Cancel');
    this.rerunButton = h('button', { type: 'button', class: 'wsv-button wsv-secondary', 'data-testid': 'rerun', title: 'Analyse the file again with the current settings' }, 'Analyze again');
    this.cancelButton.addEventListener('click', actions.cancel);
    this.rerunButton.addEventListener('click', actions.rerun);
    const exportGroup = h('div', { class: 'wsv-exports', role: 'group', 'aria-label': 'Export the report' }, h('span', { class: 'wsv-exports-label' }, 'Export'));
    this.exportGroup = exportGroup;
    for (const e of EXPORTS) {
      const b = h('button', { type: 'button', class: 'wsv-button wsv-secondary', 'data-testid': `export-${e.format}`, title: e.title, disabled: true }, e.label);
      b.addEventListener('click', () => {
        b.disabled = true;
        b.setAttribute('aria-busy', 'true');
        this.exportResult.textContent = '';
        actions.exportAs(e.format);
      });
      this.exportButtons.set(e.format, b);
      exportGroup.append(b);
    }
    const logButton = h('button', { type: 'button', class: 'wsv-button wsv-icon', 'data-testid': 'show-log', title: 'Show the Weight Spectra log', 'aria-label': 'Show log' }, 'Log');
    logButton.addEventListener('click', actions.showLog);
    this.exportResult = h('span', { class: 'wsv-export-result', 'aria-live': 'polite', 'data-testid': 'export-result' });
    this.element = h(
      'div',
      { class: 'wsv-toolbar', role: 'region', 'aria-label': 'Analysis status and actions', 'data-testid': 'toolbar' },
      h('div', { class: 'wsv-status', id: 'status-line', 'data-testid': 'status-line', role: 'status', 'aria-live': 'polite' }, this.text, this.detail),
      this.bar,
      h('div', { class: 'wsv-actions' }, this.cancelButton, this.rerunButton, exportGroup, logButton),
      this.exportResult,
    );
  }

  update(live: LiveReport, now = Date.now()): void {
    const name = basename(live.file);
    const status = this.element.querySelector<HTMLElement>('.wsv-status')!;
    status.dataset.phase = live.phase;
    this.element.dataset.phase = live.phase;
    let text: string;
    switch (live.phase) {
      case 'waiting':
        text = 'Starting the analysis…';
        break;
      case 'running':
        text = live.total > 0 ? `Analysing ${name}: ${live.done} of ${live.total} layers · ${humanSeconds(live.elapsed(now))}` : `Opening ${name}… ${humanSeconds(live.elapsed(now))}`;
        break;
      case 'done': {
        const report = live.toReport(now);
        const s = report.model.summary;
        text = `${s.layers_analysed} of ${report.layers.length} layers analysed in ${humanSeconds(report.model.seconds)} · ${report.model.provider}`;
        break;
      }
      case 'cancelled':
        text = live.failure?.message ?? 'Cancelled.';
        break;
      default:
        text = `Could not analyse ${name} (${live.failure?.kind ?? 'error'})`;
    }
    this.text.textContent = text;
    this.detail.textContent = live.statuses.length > 0 ? live.statuses[live.statuses.length - 1] : '';
    const running = live.phase === 'running' || live.phase === 'waiting';
    this.bar.hidden = !running;
    this.bar.setAttribute('aria-valuemax', String(Math.max(1, live.total)));
    this.bar.setAttribute('aria-valuenow', String(live.done));
    this.fill.style.width = `${live.total > 0 ? (100 * live.done) / live.total : 0}%`;
    this.cancelButton.hidden = !running;
    // A failure shows its own "Analyze again" in the error box; a failure before any layer leaves nothing to export.
    this.rerunButton.hidden = running || live.phase === 'failed';
    this.exportGroup.hidden = live.phase === 'failed' && live.layerCount === 0;
    for (const b of this.exportButtons.values()) {
      if (b.getAttribute('aria-busy') !== 'true') b.disabled = live.phase !== 'done';
    }
  }

  exported(m: ExportedMessage, phase: string): void {
    const b = this.exportButtons.get(m.format);
    if (b) {
      b.removeAttribute('aria-busy');
      b.disabled = phase !== 'done';
    }
    this.exportResult.classList.toggle('wsv-export-error', !!m.error);
    this.exportResult.textContent = m.error ? `Export failed: ${m.error}` : m.path ? `Saved ${basename(m.path)}` : '';
    this.exportResult.title = m.path ?? m.error ?? '';
  }
}
