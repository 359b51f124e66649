/** VS Code glue only: commands, progress, panels. The work runs in the worker (src/worker). */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ToWebview } from '../protocol';
import { openReportPanel } from './report-panel';
import { inspectInWorker } from './worker-client';

async function analyzeCommand(context: vscode.ExtensionContext, uri?: vscode.Uri): Promise<void> {
  const target =
    uri ??
    (await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Choose a checkpoint' }))?.[0];
  if (!target) return;
  const name = path.basename(target.fsPath);
  try {
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Weight Spectra: reading ${name}`, cancellable: true },
      (progress, token) =>
        inspectInWorker(context.extensionPath, target.fsPath, (p) => progress.report({ message: `${p.done} of ${p.total} tensors` }), token),
    );
    openReportPanel(context, `Spectra: ${name}`, { type: ToWebview.ShowInspect, report });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (message !== 'cancelled') openReportPanel(context, `Spectra: ${name}`, { type: ToWebview.ShowError, file: target.fsPath, message });
  }
}

function notYet(feature: string): () => void {
  return () => void vscode.window.showInformationMessage(`Weight Spectra: ${feature} is not available yet.`);
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('weightSpectra.analyze', (uri?: vscode.Uri) => analyzeCommand(context, uri)),
    vscode.commands.registerCommand('weightSpectra.compare', notYet('comparing two checkpoints')),
    vscode.commands.registerCommand('weightSpectra.compress', notYet('compression')),
    vscode.commands.registerCommand('weightSpectra.merge', notYet('merging')),
  );
}

export function deactivate(): void {}
