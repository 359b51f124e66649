/**
 * Every message that crosses a boundary: extension host ⇄ worker, extension host ⇄ webview.
 * Reading this file tells you everything the sides can say to each other. Types only at run time.
 */
import type { InspectReport } from './core/inspect';
import type { AnalyzeOptions } from './core/jobs/analyze/options';
import type { AnalysisReport, LayerResult } from './core/report/model';

export type { AnalysisReport, LayerResult } from './core/report/model';
export type { InspectReport } from './core/inspect';

/** AnalyzeOptions as they cross a thread boundary (the name filter as a regular-expression source). */
export type WireAnalyzeOptions = Omit<AnalyzeOptions, 'filter'> & { filter?: string };

// ---------------------------------------------------------------------------------------------------------------
// Extension host / CLI → worker

export const enum ToWorker {
  Inspect = 'inspect',
  Analyze = 'analyze',
  Cancel = 'cancel',
}

/** List a checkpoint's tensors (with statistics when `stats`). */
export interface InspectRequest {
  type: ToWorker.Inspect;
  jobId: number;
  path: string;
  stats: boolean;
}
/** Analyse every weight matrix of a checkpoint; layers stream back as they finish. */
export interface AnalyzeRequest {
  type: ToWorker.Analyze;
  jobId: number;
  path: string;
  options: WireAnalyzeOptions;
}
/** Stop job `jobId` as soon as possible (the client also terminates the thread). */
export interface CancelRequest {
  type: ToWorker.Cancel;
  jobId: number;
}
export type WorkerRequest = InspectRequest | AnalyzeRequest | CancelRequest;

// ---------------------------------------------------------------------------------------------------------------
// Worker → extension host / CLI

export const enum FromWorker {
  Progress = 'progress',
  Layer = 'layer',
  InspectResult = 'inspectResult',
  AnalyzeResult = 'analyzeResult',
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
/** The job failed or was cancelled; `kind` is a CheckpointError kind, 'cancelled' or 'internal'. */
export interface FailedMessage {
  type: FromWorker.Failed;
  jobId: number;
  kind: string;
  message: string;
}
export type WorkerMessage = ProgressMessage | LayerMessage | InspectResultMessage | AnalyzeResultMessage | FailedMessage;

// ---------------------------------------------------------------------------------------------------------------
// Extension host ⇄ webview

export const enum ToWebview {
  ShowInspect = 'showInspect',
  ShowError = 'showError',
}
export const enum FromWebview {
  Ready = 'ready',
}

/** Render the tensor listing of a checkpoint. */
export interface ShowInspectMessage {
  type: ToWebview.ShowInspect;
  report: InspectReport;
}
/** Render an error the user can act on. */
export interface ShowErrorMessage {
  type: ToWebview.ShowError;
  file: string;
  message: string;
}
/** The webview has loaded its script and can receive messages. */
export interface ReadyMessage {
  type: FromWebview.Ready;
}

export type ToWebviewMessage = ShowInspectMessage | ShowErrorMessage;
export type FromWebviewMessage = ReadyMessage;
