/**
 * Every message that crosses a boundary: extension host ⇄ worker, extension host ⇄ webview.
 * Reading this file tells you everything the sides can say to each other.
 */
import type { InspectReport } from './core/inspect';

/** Extension host → worker. */
export const enum ToWorker {
  Inspect = 'inspect',
  Cancel = 'cancel',
}
/** Worker → extension host. */
export const enum FromWorker {
  Progress = 'progress',
  Result = 'result',
  Failed = 'failed',
}

/** Start an inspect job on a checkpoint path. */
export interface InspectRequest {
  type: ToWorker.Inspect;
  jobId: number;
  path: string;
  stats: boolean;
}
/** Stop job `jobId` as soon as possible. */
export interface CancelRequest {
  type: ToWorker.Cancel;
  jobId: number;
}
/** Progress of a job: `done` of `total` units. */
export interface ProgressMessage {
  type: FromWorker.Progress;
  jobId: number;
  done: number;
  total: number;
  label?: string;
}
/** The finished job's result. */
export interface ResultMessage {
  type: FromWorker.Result;
  jobId: number;
  report: InspectReport;
}
/** The job failed or was cancelled; `kind` is a CheckpointError kind, 'cancelled' or 'internal'. */
export interface FailedMessage {
  type: FromWorker.Failed;
  jobId: number;
  kind: string;
  message: string;
}

export type WorkerRequest = InspectRequest | CancelRequest;
export type WorkerMessage = ProgressMessage | ResultMessage | FailedMessage;

/** Extension host → webview. */
export const enum ToWebview {
  ShowInspect = 'showInspect',
  ShowError = 'showError',
}
/** Webview → extension host. */
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
