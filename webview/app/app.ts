/**
 * The report tab of the VS Code extension: turns the host's messages (src/protocol.ts) into the report page of
 * webview/report (the same page and charts as the standalone HTML report), growing it as layers stream in.
 */
import { type BeginMessage, type ExportFormat, FromWebview, ToWebview, type ToWebviewMessage } from '../../src/protocol';
import { h } from '../report/dom';
import type { FigureContext } from '../report/figures';
import { mountReport, type ReportView } from '../report/page';
import type { PlotlyApi } from '../report/plotly-api';
import { errorBox } from './error-box';
import { LiveReport } from './live-report';
import { Toolbar } from './toolbar';
import type { HostApi, PersistedState } from './vscode-api';
import './app.css';

const RUNNING_NOTE = 'Waiting for the first analysed layers…';

export class ReportApp {
  private readonly live = new LiveReport();
  private readonly toolbar: Toolbar;
  private readonly errorSlot: HTMLElement;
  private readonly reportRoot: HTMLElement;
  private view: ReportView | undefined;
  private state: PersistedState;
  /** Scroll position to restore once the replayed report is on the page. */
  private pendingScroll: number | undefined;
  private renderTimer: ReturnType<typeof setTimeout> | undefined;
  private renderFinal = false;
  private tick: ReturnType<typeof setInterval> | undefined;
  private scrollTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly requested = new Set<string>();
  private readonly figureContext: FigureContext = {
    spectrumNote: 'Loading this layer’s eigenvalues…',
    farmsHint: 'Turn on the setting “weightSpectra.farms.enabled”, then Analyze again.',
  };

  constructor(
    root: HTMLElement,
    private readonly host: HostApi,
    private readonly Plotly: PlotlyApi | undefined,
  ) {
    this.state = host.state() ?? { version: 1 };
    this.pendingScroll = this.state.scrollY;
    this.toolbar = new Toolbar({
      cancel: () => host.post({ type: FromWebview.Cancel }),
      rerun: () => this.rerun(),
      exportAs: (format: ExportFormat) => host.post({ type: FromWebview.Export, format }),
      showLog: () => host.post({ type: FromWebview.ShowLog }),
    });
    this.errorSlot = h('div', { class: 'wsv-error-slot' });
    this.reportRoot = h('div', { id: 'report-root', class: 'wsv-report-root', 'data-testid': 'report-root' }, h('p', { class: 'wsv-loading' }, 'Loading the report…'));
    root.replaceChildren(this.toolbar.element, this.errorSlot, this.reportRoot);
    this.toolbar.update(this.live);
    window.addEventListener('scroll', () => this.onScroll(), { passive: true });
    if (!Plotly) {
      this.errorSlot.replaceChildren(
        h('section', { class: 'wsv-error', role: 'alert', 'data-testid': 'error-box' }, h('h2', { class: 'wsv-error-title' }, 'The charts cannot be drawn'), h('p', {}, 'plotly.js did not load in this webview. Reinstalling the extension may help.')),
      );
    }
  }

  /** Tells the host the page is ready; it answers with the analysis so far. */
  start(): void {
    this.host.post({ type: FromWebview.Ready });
  }

  handle(m: ToWebviewMessage): void {
    switch (m.type) {
      case ToWebview.Begin:
        return this.begin(m);
      case ToWebview.Model:
        if (this.live.phase === 'waiting') return;
        this.live.setModel(m);
        return this.scheduleRender(false);
      case ToWebview.Layers:
        if (this.live.phase === 'waiting') return; // a batch from before a reload; the replay's Begin comes next
        this.live.addLayers(m);
        return this.scheduleRender(false);
      case ToWebview.Status:
        this.live.statuses.push(m.text);
        return this.toolbar.update(this.live);
      case ToWebview.Done:
        this.live.finish(m);
        this.stopTick();
        if (this.view?.selected !== undefined) this.live.attachSpectrum(this.view.selected);
        return this.scheduleRender(true);
      case ToWebview.Failed:
        this.live.fail(m);
        this.stopTick();
        this.showFailure();
        return this.scheduleRender(true);
      case ToWebview.Spectrum:
        this.requested.delete(m.name);
        this.live.addSpectrum(m.name, m.eigenvalues);
        if (this.view?.selected === m.name) {
          this.updateSpectrumNote(m.name);
          this.view.refreshSelected();
        }
        return;
      case ToWebview.Exported:
        return this.toolbar.exported(m, this.live.phase);
    }
  }

  private begin(m: BeginMessage): void {
    const file = m.file;
    if (this.state.file !== undefined && this.state.file !== file) {
      this.state = { version: 1 };
      this.pendingScroll = undefined;
    }
    this.state.file = file;
    this.saveState();
    this.live.begin(m);
    this.requested.clear();
    this.errorSlot.replaceChildren();
    this.reportRoot.hidden = false;
    this.figureContext.emptyNote = RUNNING_NOTE;
    this.view?.dispose();
    this.view = undefined;
    clearTimeout(this.renderTimer);
    this.renderTimer = undefined;
    if (this.Plotly) {
      this.view = mountReport(this.reportRoot, this.live.toReport(), this.Plotly, {
        selected: this.state.selected,
        table: this.state.table,
        emptyText: RUNNING_NOTE,
        figureContext: this.figureContext,
        onSelectLayer: (name) => this.onSelect(name),
        onTableStateChange: (table) => {
          this.state.table = table;
          this.saveState();
        },
      });
    }
    this.toolbar.update(this.live);
    this.stopTick();
    this.tick = setInterval(() => this.toolbar.update(this.live), 1000);
  }

  private rerun(): void {
    this.host.post({ type: FromWebview.Rerun });
  }

  private onSelect(name: string): void {
    this.state.selected = name;
    this.saveState();
    const had = !!this.live.layer(name)?.eigenvalues;
    if (this.live.attachSpectrum(name)) {
      if (!had) this.view?.refreshSelected();
    } else if (this.live.needsSpectrum(name) && !this.requested.has(name)) {
      this.requested.add(name);
      this.host.post({ type: FromWebview.GetSpectrum, name });
    }
    this.updateSpectrumNote(name);
  }

  /** What the spectrum charts say while the selected layer has no eigenvalues on the page. */
  private updateSpectrumNote(name: string): void {
    this.figureContext.spectrumNote = this.requested.has(name)
      ? 'Loading this layer’s eigenvalues…'
      : 'The extension kept no eigenvalues for this layer.<br>Analyze again to compute them.';
  }

  /** Coalesces the updates of one burst of messages into one page update. */
  private scheduleRender(final: boolean): void {
    this.renderFinal ||= final;
    if (this.renderTimer !== undefined) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      const final = this.renderFinal;
      this.renderFinal = false;
      this.render(final);
    }, 0);
  }

  private render(final: boolean): void {
    if (final) this.figureContext.emptyNote = undefined;
    this.view?.update(this.live.toReport(), final);
    this.toolbar.update(this.live);
    // After a reload the host replays every layer so far in one batch: the page is as long as before.
    if (this.pendingScroll !== undefined && this.live.layerCount > 0) {
      const y = this.pendingScroll;
      this.pendingScroll = undefined;
      setTimeout(() => window.scrollTo(0, y), 0);
    }
  }

  private showFailure(): void {
    const f = this.live.failure;
    if (!f || this.live.phase === 'cancelled') return;
    const partial = this.live.layerCount > 0;
    this.errorSlot.replaceChildren(
      errorBox(this.live.file, f.kind, f.message, partial, { rerun: () => this.rerun(), showLog: () => this.host.post({ type: FromWebview.ShowLog }) }),
    );
    // Nothing was analysed: an empty report under the error would only distract.
    this.reportRoot.hidden = !partial;
  }

  private onScroll(): void {
    clearTimeout(this.scrollTimer);
    this.scrollTimer = setTimeout(() => {
      this.state.scrollY = Math.round(window.scrollY);
      this.saveState();
    }, 200);
  }

  private stopTick(): void {
    if (this.tick !== undefined) clearInterval(this.tick);
    this.tick = undefined;
  }

  private saveState(): void {
    this.host.saveState(this.state);
  }
}
