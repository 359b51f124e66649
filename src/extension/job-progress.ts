/**
 * Runs one transform job in the worker under a progress notification whose Cancel stops it (cooperatively: the
 * notification stays until the worker has unwound and removed its temporary files), and presents the outcome:
 * a summary with "Open Folder" / "Show Report", or a readable error with "Show Log".
 */
import * as vscode from 'vscode';
import { type JobCallbacks, JobFailedError, type JobHandle } from '../worker/client';
import { progressUpdate } from './progress-text';
import type { Services } from './services';

export type JobOutcome<T> = { status: 'done'; value: T } | { status: 'cancelled' } | { status: 'failed'; kind: string; message: string };

/** Progress lines at most this often (a merge of thousands of tensors posts one per tensor). */
const PROGRESS_MS = 100;

export async function runWithProgress<T>(services: Services, title: string, start: (cb: JobCallbacks) => JobHandle<T>): Promise<JobOutcome<T>> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    let reported = 0;
    let last = 0;
    let job: JobHandle<T>;
    try {
      job = start({
        onProgress: (p) => {
          const u = progressUpdate(p);
          const now = Date.now();
          if (now - last < PROGRESS_MS && !(p.total > 0 && p.done === p.total)) return;
          last = now;
          const increment = u.percent !== undefined && u.percent > reported ? u.percent - reported : undefined;
          if (u.percent !== undefined) reported = Math.max(reported, u.percent);
          progress.report({ message: u.message, increment });
        },
      });
    } catch (e) {
      return { status: 'failed', kind: 'internal', message: `the worker could not start: ${(e as Error).message}` };
    }
    const cancelSub = token.onCancellationRequested(() => {
      services.log.info(`  cancel requested: ${title}`);
      progress.report({ message: 'cancelling…' });
      job.cancel();
    });
    try {
      return { status: 'done', value: await job.result };
    } catch (e) {
      const kind = e instanceof JobFailedError ? e.kind : 'internal';
      if (kind === 'cancelled') {
        await job.exited;
        return { status: 'cancelled' };
      }
      return { status: 'failed', kind, message: e instanceof Error ? e.message : String(e) };
    } finally {
      cancelSub.dispose();
    }
  });
}

/** Logs the outcome of a job that did not finish and tells the user (errors with "Show Log"). */
export function reportUnfinished(services: Services, what: string, outcome: Exclude<JobOutcome<unknown>, { status: 'done' }>): void {
  if (outcome.status === 'cancelled') {
    services.log.info(`  ${what}: cancelled; nothing was written`);
    void vscode.window.showInformationMessage(`Weight Spectra: ${what} cancelled; nothing was written.`);
    return;
  }
  services.log.error(`  ${what} failed (${outcome.kind}): ${outcome.message}`);
  void vscode.window.showErrorMessage(`Weight Spectra could not ${what}: ${outcome.message}`, 'Show Log').then((choice) => {
    if (choice) services.log.show(true);
  });
}

/** Shows the written file in the explorer when it is in the workspace, else in the operating system's file manager. */
export async function revealOutput(file: string): Promise<void> {
  const uri = vscode.Uri.file(file);
  if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('revealFileInOS', uri);
}

/** The job's JSON document (what `weight-spectra <job> --json` prints) in an editor tab. */
export async function showJsonReport(report: unknown): Promise<void> {
  const doc = await vscode.workspace.openTextDocument({ language: 'json', content: `${JSON.stringify(report, null, 2)}\n` });
  await vscode.window.showTextDocument(doc, { preview: false });
}

/** The summary notification of a finished job that wrote `files`. */
export function offerResult(summary: string, files: readonly string[], report: unknown): void {
  const target = files[0];
  void vscode.window.showInformationMessage(`Weight Spectra: ${summary}`, 'Open Folder', 'Show Report').then(async (choice) => {
    if (choice === 'Open Folder' && target) await revealOutput(target);
    if (choice === 'Show Report') await showJsonReport(report);
  });
}
