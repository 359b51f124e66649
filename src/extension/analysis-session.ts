/**
 * One analysis of one checkpoint, as the report tab sees it: runs the job in a fresh worker thread, turns what the
 * worker streams into webview messages (batched, flags and a running summary added), keeps eigenvalues on this side
 * and hands them out one layer at a time, and can replay everything to a webview that was reloaded.
 * No vscode import: the report panel and the tests drive it the same way.
 */
import type { AnalyzeStart } from '../core/jobs/analyze/run';
import { summarizeModel } from '../core/jobs/analyze/layer-result';
import type { AnalysisReport, LayerResult } from '../core/report/model';
import { type LayerRow, type ReportSummary, ToWebview, type ToWebviewMessage, type WireAnalyzeOptions } from '../protocol';
import { analyzeInWorker, JobFailedError, type JobHandle } from '../worker/client';

/** Layers that finish within this many milliseconds of the last batch wait and go in the next one. */
export const BATCH_MS = 100;

export type SessionOutcome =
  | { status: 'done'; report: AnalysisReport }
  | { status: 'failed'; kind: string; message: string }
  | { status: 'cancelled'; message: string };

export interface SessionHooks {
  /** A message for the webview (the caller drops it while no webview is listening; replay() catches up). */
  post(message: ToWebviewMessage): void;
  /** A line for the log (output channel). */
  log(line: string, level?: 'info' | 'error'): void;
  /** Layers finished so far, for a progress notification. */
  onProgress?(done: number, total: number, layer: string): void;
}

function withoutEigenvalues(layer: LayerResult): LayerRow {
  const { eigenvalues: _dropped, ...row } = layer;
  return row;
}

function describeOptions(o: WireAnalyzeOptions): string {
  const farms = o.farms === false ? 'off' : `on (${Object.entries(o.farms).map(([k, v]) => `${k}=${v}`).join(', ')})`;
  return `provider=${Array.isArray(o.provider) ? o.provider.join('>') : o.provider}, FARMS ${farms}, MP fit ${o.mpFit ? 'on' : 'off'}, minEvals=${o.minEvals}, maxEvals=${o.maxEvals}, maxN=${o.maxN}${o.filter ? `, filter=/${o.filter}/` : ''}`;
}

export class AnalysisSession {
  private job: JobHandle<AnalysisReport> | undefined;
  private generation = 0;
  private startedAt = 0;
  private options: WireAnalyzeOptions | undefined;
  private rows: LayerRow[] = [];
  private pending: LayerRow[] = [];
  private spectra = new Map<string, number[]>();
  private done = 0;
  private total = 0;
  private statusLines: string[] = [];
  private finalReport: AnalysisReport | undefined;
  private outcome: SessionOutcome | undefined;
  private lastFlush = 0;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private firstLayerMs: number | undefined;
  private modelInfo: AnalyzeStart | undefined;

  constructor(
    readonly file: string,
    private readonly workerFile: string,
    private readonly hooks: SessionHooks,
  ) {}

  get running(): boolean {
    return this.job !== undefined;
  }

  /** The finished report, eigenvalues included (for exports); undefined until the analysis is done. */
  get report(): AnalysisReport | undefined {
    return this.finalReport;
  }

  /** Starts (or restarts) the analysis; resolves when it is done, failed or cancelled. Never rejects. */
  async start(options: WireAnalyzeOptions): Promise<SessionOutcome> {
    this.stopJob();
    const generation = ++this.generation;
    this.options = options;
    this.startedAt = Date.now();
    this.rows = [];
    this.pending = [];
    this.spectra = new Map();
    this.done = 0;
    this.total = 0;
    this.statusLines = [];
    this.finalReport = undefined;
    this.outcome = undefined;
    this.lastFlush = 0;
    this.firstLayerMs = undefined;
    this.modelInfo = undefined;
    this.hooks.log(`Analysing ${this.file}`);
    this.hooks.log(`  options: ${describeOptions(options)}`);
    this.hooks.post(this.beginMessage());

    const t0 = performance.now();
    let job: JobHandle<AnalysisReport>;
    try {
      job = analyzeInWorker(this.workerFile, this.file, options, {
        onLayer: (layer, done, total) => {
          if (generation !== this.generation) return;
          this.onLayer(layer, done, total, t0);
        },
        onModel: (info) => {
          if (generation !== this.generation) return;
          this.modelInfo = info;
          this.total = info.total;
          this.hooks.post({ type: ToWebview.Model, info });
        },
        onProgress: (p) => {
          if (generation !== this.generation || !p.label) return;
          this.status(p.label);
        },
      });
    } catch (e) {
      return this.finish(generation, { status: 'failed', kind: 'internal', message: `The analysis worker could not start: ${(e as Error).message}` });
    }
    this.job = job;
    try {
      const report = await job.result;
      if (generation !== this.generation) return { status: 'cancelled', message: 'superseded by a newer analysis' };
      const seconds = (performance.now() - t0) / 1000;
      const s = report.model.summary;
      this.hooks.log(
        `  done in ${seconds.toFixed(2)} s (first layer after ${((this.firstLayerMs ?? 0) / 1000).toFixed(2)} s): format ${report.model.format}, ` +
          `${s.layers_analysed} analysed, ${s.layers_skipped} skipped, ${s.layers_failed} failed, provider ${report.model.provider}`,
      );
      for (const f of report.model.provider_fallbacks ?? []) this.hooks.log(`  provider fallback: ${f}`);
      for (const l of report.layers) if (l.error) this.hooks.log(`  layer ${l.name} failed: ${l.error}`, 'error');
      return this.finish(generation, { status: 'done', report });
    } catch (e) {
      if (generation !== this.generation) return { status: 'cancelled', message: 'superseded by a newer analysis' };
      const kind = e instanceof JobFailedError ? e.kind : 'internal';
      const message = e instanceof Error ? e.message : String(e);
      if (kind === 'cancelled') {
        const text = `Cancelled after ${this.done} of ${this.total || '?'} layers.`;
        this.hooks.log(`  ${text}`);
        return this.finish(generation, { status: 'cancelled', message: text });
      }
      this.hooks.log(`  failed (${kind}): ${message}`, 'error');
      return this.finish(generation, { status: 'failed', kind, message });
    }
  }

  /** Stops the running analysis: the worker thread is terminated at once. */
  cancel(): void {
    this.job?.cancel();
  }

  /** Eigenvalues (ascending) of one layer, as the worker computed them. */
  spectrum(name: string): number[] | undefined {
    return this.spectra.get(name);
  }

  /** Everything so far, for a webview that just (re)loaded: Begin, all layers in one batch, then the outcome. */
  replay(post: (m: ToWebviewMessage) => void): void {
    if (!this.options) return;
    post(this.beginMessage());
    if (this.modelInfo) post({ type: ToWebview.Model, info: this.modelInfo });
    for (const text of this.statusLines) post({ type: ToWebview.Status, text });
    const rows = this.finalReport ? this.finalReport.layers.map(withoutEigenvalues) : this.rows;
    if (rows.length > 0) post(this.layersMessage(rows));
    if (this.outcome) post(this.outcomeMessage(this.outcome));
  }

  dispose(): void {
    this.stopJob();
    this.generation++;
  }

  private stopJob(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.job) {
      this.job.cancel();
      this.job = undefined;
    }
  }

  private beginMessage(): ToWebviewMessage {
    const { filter, ...rest } = this.options!;
    return { type: ToWebview.Begin, file: this.file, startedAt: this.startedAt, options: { ...rest, filter } };
  }

  private onLayer(layer: LayerResult, done: number, total: number, t0: number): void {
    if (layer.eigenvalues) this.spectra.set(layer.name, layer.eigenvalues);
    const row = withoutEigenvalues(layer);
    this.rows.push(row);
    this.pending.push(row);
    this.done = done;
    this.total = total;
    if (this.firstLayerMs === undefined) this.firstLayerMs = performance.now() - t0;
    this.hooks.onProgress?.(done, total, layer.name);
    const wait = this.lastFlush + BATCH_MS - performance.now();
    if (wait <= 0) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.lastFlush = performance.now();
    this.hooks.post(this.layersMessage(batch));
  }

  /** `rows` with the running summary; summarizeModel sets each row's flags (they depend on that row only). */
  private layersMessage(rows: LayerRow[]): ToWebviewMessage {
    const summary = summarizeModel(this.rows as LayerResult[]);
    return { type: ToWebview.Layers, layers: rows, done: this.done, total: this.total, summary };
  }

  private status(text: string): void {
    this.statusLines.push(text);
    this.hooks.log(`  ${text}`);
    this.hooks.post({ type: ToWebview.Status, text });
  }

  private outcomeMessage(outcome: SessionOutcome): ToWebviewMessage {
    if (outcome.status === 'done') {
      const report: ReportSummary = { ...outcome.report, layers: outcome.report.layers.map(withoutEigenvalues) };
      return { type: ToWebview.Done, report };
    }
    return { type: ToWebview.Failed, file: this.file, kind: outcome.status === 'cancelled' ? 'cancelled' : outcome.kind, message: outcome.message };
  }

  private finish(generation: number, outcome: SessionOutcome): SessionOutcome {
    if (generation !== this.generation) return outcome;
    this.job = undefined;
    this.flush();
    if (outcome.status === 'done') {
      this.finalReport = outcome.report;
      for (const l of outcome.report.layers) if (l.eigenvalues) this.spectra.set(l.name, l.eigenvalues);
      this.rows = outcome.report.layers.map(withoutEigenvalues);
    }
    this.outcome = outcome;
    this.hooks.post(this.outcomeMessage(outcome));
    return outcome;
  }
}
