/**
 * The analysis as the webview knows it at any moment, built from the host's messages: the rows so far, the running
 * summary, the outcome, and a few layers' eigenvalues. toReport() gives the AnalysisReport the report page draws,
 * with a provisional model header until the analysis is done. No DOM here.
 */
import type { AnalysisReport, LayerResult } from '../../src/core/report/model';
import type { AnalysisFailedMessage, BeginMessage, DoneMessage, LayerRow, LayersMessage, ModelInfoMessage, ReportSummary } from '../../src/protocol';

export type Phase = 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';

/** Eigenvalues kept for this many layers (the selected one and recent ones); the host has them all. */
const SPECTRA_KEPT = 24;

export class LiveReport {
  phase: Phase = 'waiting';
  file = '';
  startedAt = 0;
  options: Record<string, unknown> = {};
  done = 0;
  total = 0;
  failure: { kind: string; message: string } | undefined;
  statuses: string[] = [];
  private rows: LayerResult[] = [];
  private index = new Map<string, number>();
  private summary: AnalysisReport['model']['summary'] | undefined;
  private final: ReportSummary | undefined;
  private finishedAt = 0;
  private readonly spectra = new Map<string, number[]>();
  private model: ModelInfoMessage['info'] | undefined;

  begin(m: BeginMessage): void {
    this.phase = 'running';
    this.file = m.file;
    this.startedAt = m.startedAt;
    this.options = m.options;
    this.done = 0;
    this.total = 0;
    this.failure = undefined;
    this.statuses = [];
    this.rows = [];
    this.index.clear();
    this.summary = undefined;
    this.final = undefined;
    this.spectra.clear();
    this.model = undefined;
  }

  /** The worker's model header (format, parameters, provider) and the row count, before the first row. */
  setModel(m: ModelInfoMessage): void {
    this.model = m.info;
    if (this.total === 0) this.total = m.info.total;
  }

  addLayers(m: LayersMessage): void {
    for (const row of m.layers) this.put(row);
    this.done = Math.max(this.done, m.done);
    this.total = m.total;
    this.summary = m.summary;
  }

  finish(m: DoneMessage, now = Date.now()): void {
    this.final = m.report;
    this.rows = [];
    this.index.clear();
    for (const row of m.report.layers) this.put(row);
    this.done = this.total = m.report.layers.length;
    this.phase = 'done';
    this.finishedAt = now;
  }

  fail(m: AnalysisFailedMessage, now = Date.now()): void {
    this.failure = { kind: m.kind, message: m.message };
    this.phase = m.kind === 'cancelled' ? 'cancelled' : 'failed';
    this.finishedAt = now;
  }

  get layerCount(): number {
    return this.rows.length;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  layer(name: string): LayerResult | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.rows[i];
  }

  /** Seconds since the start (until the end once finished). */
  elapsed(now = Date.now()): number {
    if (this.final) return this.final.model.seconds;
    return ((this.phase === 'running' ? now : this.finishedAt || now) - this.startedAt) / 1000;
  }

  /** Keeps a layer's eigenvalues (dropping the oldest beyond SPECTRA_KEPT) and attaches them to its row. */
  addSpectrum(name: string, eigenvalues: number[] | undefined): void {
    this.spectra.delete(name);
    this.spectra.set(name, eigenvalues ?? []);
    while (this.spectra.size > SPECTRA_KEPT) {
      const oldest = this.spectra.keys().next().value as string;
      this.spectra.delete(oldest);
      const row = this.layer(oldest);
      if (row) delete row.eigenvalues;
    }
    this.attachSpectrum(name);
  }

  /** Puts the kept eigenvalues of `name` on its current row; false when they have not arrived. */
  attachSpectrum(name: string): boolean {
    const evals = this.spectra.get(name);
    const row = this.layer(name);
    if (evals === undefined || !row) return false;
    if (evals.length > 0) row.eigenvalues = evals;
    return true;
  }

  /** True when the layer has a spectrum to ask the host for (analysed, not skipped or failed). */
  needsSpectrum(name: string): boolean {
    const row = this.layer(name);
    return !!row && !row.skipped && !row.error && !this.spectra.has(name);
  }

  /** The report to draw: the final one when done, else the rows so far under a provisional model header. */
  toReport(now = Date.now()): AnalysisReport {
    if (this.final) return { model: this.final.model, layers: this.rows };
    const analysed = this.rows.filter((l) => !l.skipped && !l.error).length;
    const summary = this.summary ?? { layers_analysed: analysed, layers_skipped: 0, layers_failed: 0 };
    const provider = this.options.provider;
    return {
      model: {
        path: this.file,
        format: this.model?.format ?? '…',
        parameters: this.model?.parameters ?? Number.NaN,
        provider: this.model?.provider ?? (typeof provider === 'string' ? `${provider} …` : '…'),
        seconds: this.elapsed(now),
        summary,
        options: this.options,
      },
      layers: this.rows,
    };
  }

  private put(row: LayerRow): void {
    const layer = row as LayerResult;
    const i = this.index.get(layer.name);
    if (i === undefined) {
      this.index.set(layer.name, this.rows.length);
      this.rows.push(layer);
    } else {
      this.rows[i] = layer;
    }
  }
}
