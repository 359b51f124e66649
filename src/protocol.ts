/**
 * Every message that crosses a boundary: extension host ⇄ worker, extension host ⇄ webview.
 * Reading this file tells you everything the sides can say to each other. Types only at run time.
 */
import type { InspectReport } from './core/inspect';
import type { AnalyzeOptions } from './core/jobs/analyze/options';
import type { AnalyzeStart } from './core/jobs/analyze/run';
import type { AnalysisReport, LayerResult } from './core/report/model';
import type { CompressOptions, CompressReport } from './core/transforms/compress/run';
import type { LmcJobOptions, LmcReport } from './core/transforms/lmc/run-lmc';
import type { MatchJobOptions, MatchReport } from './core/transforms/match/run-match';
import type { MergeJobOptions, MergeReport } from './core/transforms/merge/run-merge';

export type { AnalysisReport, LayerResult } from './core/report/model';
export type { InspectReport } from './core/inspect';
export type { CompressReport } from './core/transforms/compress/run';
export type { LmcReport } from './core/transforms/lmc/run-lmc';
export type { MatchReport } from './core/transforms/match/run-match';
export type { MergeReport } from './core/transforms/merge/run-merge';

/** AnalyzeOptions as they cross a thread boundary (the name filter as a regular-expression source). */
export type WireAnalyzeOptions = Omit<AnalyzeOptions, 'filter'> & { filter?: string };
/** The transform jobs' options as they cross a thread boundary: no callbacks or signal (the worker supplies them). */
export type WireCompressOptions = Omit<CompressOptions, 'filter' | 'signal' | 'onProgress'> & { filter?: string };
export type WireMatchOptions = Omit<MatchJobOptions, 'signal' | 'onProgress'>;
export type WireMergeOptions = Omit<MergeJobOptions, 'signal' | 'onProgress'>;
export type WireLmcOptions = Omit<LmcJobOptions, 'signal' | 'onProgress'>;

// ---------------------------------------------------------------------------------------------------------------
// Extension host / CLI → worker

export const enum ToWorker {
  Inspect = 'inspect',
  Analyze = 'analyze',
  Compress = 'compress',
  Match = 'match',
  Merge = 'merge',
  Lmc = 'lmc',
  Cancel = 'cancel',
}

/** List a checkpoint's tensors (with statistics when `stats`). */
export interface InspectRequest {
  type: ToWorker.Inspect;
  jobId: number;
  path: string;
  stats: boolean;
  /** Int32Array(1) over shared memory: the caller stores 1 to cancel; read by the worker even while it computes. */
  cancelFlag?: SharedArrayBuffer;
}
/** Analyse every weight matrix of a checkpoint; layers stream back as they finish. */
export interface AnalyzeRequest {
  type: ToWorker.Analyze;
  jobId: number;
  path: string;
  options: WireAnalyzeOptions;
  /** Int32Array(1) over shared memory: the caller stores 1 to cancel; read by the worker even while it computes. */
  cancelFlag?: SharedArrayBuffer;
}
/** Write a low-rank compressed copy of `input` to `out` (`weight-spectra compress`). */
export interface CompressRequest {
  type: ToWorker.Compress;
  jobId: number;
  input: string;
  out: string;
  options: WireCompressOptions;
  cancelFlag?: SharedArrayBuffer;
}
/** Weight-match `b` to `a` (`weight-spectra match`); `options.out` also writes B permuted into A's basis. */
export interface MatchRequest {
  type: ToWorker.Match;
  jobId: number;
  a: string;
  b: string;
  options: WireMatchOptions;
  cancelFlag?: SharedArrayBuffer;
}
/** Merge `inputs` into `options.out` (`weight-spectra merge`). */
export interface MergeRequest {
  type: ToWorker.Merge;
  jobId: number;
  inputs: string[];
  options: WireMergeOptions;
  cancelFlag?: SharedArrayBuffer;
}
/** Linear mode connectivity of `a` and `b` (`weight-spectra lmc`). */
export interface LmcRequest {
  type: ToWorker.Lmc;
  jobId: number;
  a: string;
  b: string;
  options: WireLmcOptions;
  cancelFlag?: SharedArrayBuffer;
}
/** Stop job `jobId` as soon as possible (the client also terminates the thread). */
export interface CancelRequest {
  type: ToWorker.Cancel;
  jobId: number;
}
export type TransformRequest = CompressRequest | MatchRequest | MergeRequest | LmcRequest;
export type WorkerRequest = InspectRequest | AnalyzeRequest | TransformRequest | CancelRequest;

// ---------------------------------------------------------------------------------------------------------------
// Worker → extension host / CLI

export const enum FromWorker {
  Progress = 'progress',
  Model = 'model',
  Layer = 'layer',
  InspectResult = 'inspectResult',
  AnalyzeResult = 'analyzeResult',
  CompressResult = 'compressResult',
  MatchResult = 'matchResult',
  MergeResult = 'mergeResult',
  LmcResult = 'lmcResult',
  Failed = 'failed',
}

/** Progress of a job: `done` of `total` units (tensors or layers), bytes of tensor data read so far. */
export interface ProgressMessage {
  type: FromWorker.Progress;
  jobId: number;
  done: number;
  total: number;
  bytesRead?: number;
  label?: string;
  /** Transform jobs: which pass the counts belong to (compress: 'spectra' then 'write'; merge: 'merge'). */
  phase?: string;
}
/** An analysis has planned its layers: the model's format, size and provider, before the first row. */
export interface ModelMessage {
  type: FromWorker.Model;
  jobId: number;
  info: AnalyzeStart;
}
/** One finished layer of an analysis (analysed, skipped by the layer filter, or failed). */
export interface LayerMessage {
  type: FromWorker.Layer;
  jobId: number;
  layer: LayerResult;
  done: number;
  total: number;
  /** Bytes of tensor data read so far. */
  bytesRead: number;
}
/** The finished inspect job. */
export interface InspectResultMessage {
  type: FromWorker.InspectResult;
  jobId: number;
  report: InspectReport;
}
/** The finished analysis: every layer again, the model summary and timing. */
export interface AnalyzeResultMessage {
  type: FromWorker.AnalyzeResult;
  jobId: number;
  report: AnalysisReport;
}
/** The transform jobs' results: the document `weight-spectra <job> --json` prints for the same inputs. */
export interface CompressResultMessage {
  type: FromWorker.CompressResult;
  jobId: number;
  report: CompressReport;
}
export interface MatchResultMessage {
  type: FromWorker.MatchResult;
  jobId: number;
  report: MatchReport;
}
export interface MergeResultMessage {
  type: FromWorker.MergeResult;
  jobId: number;
  report: MergeReport;
}
export interface LmcResultMessage {
  type: FromWorker.LmcResult;
  jobId: number;
  report: LmcReport;
}
/**
 * The job failed or was cancelled; `kind` is a CheckpointError kind, 'cancelled', 'internal', or for the transform
 * jobs 'output' (target not writable), 'architecture', 'spec', 'assignment', 'input', 'numeric', 'onnxruntime'.
 */
export interface FailedMessage {
  type: FromWorker.Failed;
  jobId: number;
  kind: string;
  message: string;
}
export type WorkerMessage =
  | ProgressMessage
  | ModelMessage
  | LayerMessage
  | InspectResultMessage
  | AnalyzeResultMessage
  | CompressResultMessage
  | MatchResultMessage
  | MergeResultMessage
  | LmcResultMessage
  | FailedMessage;

// ---------------------------------------------------------------------------------------------------------------
// Extension host ⇄ webview
//
// One report tab shows one analysis. The host streams it: Begin, then Layers batches as the worker finishes them
// (metrics only), then Done or Failed. Eigenvalues stay on the host; the webview asks for the selected layer's
// (GetSpectrum → Spectrum), so a model with thousands of layers never floods the webview. A reloaded webview sends
// Ready and the host replays the whole analysis so far.

export const enum ToWebview {
  Begin = 'begin',
  Model = 'model',
  Layers = 'layers',
  Status = 'status',
  Done = 'done',
  Failed = 'failed',
  Spectrum = 'spectrum',
  Exported = 'exported',
}
export const enum FromWebview {
  Ready = 'ready',
  GetSpectrum = 'getSpectrum',
  Cancel = 'cancel',
  Rerun = 'rerun',
  Export = 'export',
  ShowLog = 'showLog',
}

/** Per-layer metrics as the webview gets them: every LayerResult field except the eigenvalues. */
export type LayerRow = Omit<LayerResult, 'eigenvalues'>;
/** The report as the webview gets it (eigenvalues come one layer at a time, see SpectrumMessage). */
export type ReportSummary = Omit<AnalysisReport, 'layers'> & { layers: LayerRow[] };
export type ExportFormat = 'json' | 'csv' | 'html';

/** A new analysis of `file` starts: forget any earlier one. */
export interface BeginMessage {
  type: ToWebview.Begin;
  file: string;
  /** Date.now() when the job started (the webview shows the elapsed time). */
  startedAt: number;
  /** What the worker was asked for (provider setting, FARMS, filter…), for the header. */
  options: Record<string, unknown>;
}
/** The model's format, parameter count and provider, known once the worker has planned the layers. */
export interface ModelInfoMessage {
  type: ToWebview.Model;
  info: AnalyzeStart;
}
/** Layers that finished since the last batch, with the running totals and the summary of every layer so far. */
export interface LayersMessage {
  type: ToWebview.Layers;
  layers: LayerRow[];
  done: number;
  total: number;
  /** ModelSummary of the layers so far (flags are set on the rows). */
  summary: AnalysisReport['model']['summary'];
}
/** A line for the status bar (e.g. a provider fallback). */
export interface StatusMessage {
  type: ToWebview.Status;
  text: string;
}
/** The analysis finished: the final rows (they may differ from the streamed ones, e.g. WeLore with a global τ). */
export interface DoneMessage {
  type: ToWebview.Done;
  report: ReportSummary;
}
/** The analysis stopped: `kind` is a CheckpointError kind, 'cancelled' or 'internal'. Layers already sent stay. */
export interface AnalysisFailedMessage {
  type: ToWebview.Failed;
  file: string;
  kind: string;
  message: string;
}
/** Eigenvalues (ascending) of one layer, answering GetSpectrum; absent when the layer has none (skipped, failed). */
export interface SpectrumMessage {
  type: ToWebview.Spectrum;
  name: string;
  eigenvalues?: number[];
}
/** An export finished: written to `path`, or not (`error`; nothing when the user closed the save dialog). */
export interface ExportedMessage {
  type: ToWebview.Exported;
  format: ExportFormat;
  path?: string;
  error?: string;
}

/** The webview has loaded its script and can receive messages (also after the tab was hidden and shown again). */
export interface ReadyMessage {
  type: FromWebview.Ready;
}
export interface GetSpectrumMessage {
  type: FromWebview.GetSpectrum;
  name: string;
}
/** Stop the running analysis (the worker thread is terminated). */
export interface CancelMessage {
  type: FromWebview.Cancel;
}
/** Run the analysis of the same file again (after an error, a cancel, or a change of settings). */
export interface RerunMessage {
  type: FromWebview.Rerun;
}
/** Save the report: the host asks where, and never writes over the checkpoint. */
export interface ExportMessage {
  type: FromWebview.Export;
  format: ExportFormat;
}
/** Reveal the "Weight Spectra" output channel. */
export interface ShowLogMessage {
  type: FromWebview.ShowLog;
}

export type ToWebviewMessage = BeginMessage | ModelInfoMessage | LayersMessage | StatusMessage | DoneMessage | AnalysisFailedMessage | SpectrumMessage | ExportedMessage;
export type FromWebviewMessage = ReadyMessage | GetSpectrumMessage | CancelMessage | RerunMessage | ExportMessage | ShowLogMessage;

// ---------------------------------------------------------------------------------------------------------------
// Compare tab (Weight Spectra: Compare Two Checkpoints) → extension host
//
// The host renders the whole page (figures of `match`, and of `lmc` once run) and renders it again when they change;
// the page's buttons post these.

export const enum FromComparePage {
  /** Write B permuted into A's basis (the host asks where). */
  SaveAligned = 'saveAligned',
  /** Run the linear-mode-connectivity curve (ONNX pairs; the host asks for the path and inputs). */
  RunLmc = 'runLmc',
  /** Open the figures as JSON (what `weight-spectra match --json` / `lmc --json` print). */
  ShowReport = 'showReport',
}
export interface ComparePageMessage {
  type: FromComparePage;
}
