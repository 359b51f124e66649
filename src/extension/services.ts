import type * as vscode from 'vscode';
import type { WireAnalyzeOptions } from '../protocol';
import type { ReportController } from './report-panel';

/** What every report tab shares: where the extension's files are, the log, the settings, the open tabs. */
export interface Services {
  extensionUri: vscode.Uri;
  /** dist/worker.js: each analysis runs in a fresh worker thread from it. */
  workerFile: string;
  /** The "Weight Spectra" output channel. */
  log: vscode.LogOutputChannel;
  /** weightSpectra.* settings as analysis options (read at the start of each analysis). */
  analyzeOptions(): WireAnalyzeOptions;
  controllers: Set<ReportController>;
}
