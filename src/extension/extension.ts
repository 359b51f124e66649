/** VS Code glue: commands, explorer menus, the checkpoint editor, report and compare tabs, settings, log. The work runs in the worker. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCheckpointEditors } from './checkpoint-editor';
import { compareCommand } from './compare-command';
import { compressCommand } from './compress-command';
import { mergeCommand } from './merge-command';
import { pickCheckpoint } from './pick-files';
import { checkpointPath, ReportController, reportWebviewOptions } from './report-panel';
import type { Services } from './services';
import { analyzeOptionsFromSettings } from './settings';

/** The report tabs the Analyze command opens (the checkpoint editor's tabs are restored by VS Code itself). */
export const REPORT_PANEL = 'weightSpectra.report';

function createServices(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Services {
  const warned = new Set<string>();
  return {
    extensionUri: context.extensionUri,
    workerFile: path.join(context.extensionPath, 'dist', 'worker.js'),
    log,
    controllers: new Set(),
    analyzeOptions: () => {
      const config = vscode.workspace.getConfiguration('weightSpectra');
      const { options, problems } = analyzeOptionsFromSettings((key) => config.get(key));
      for (const p of problems) {
        log.warn(`Setting ${p.key} ${p.message}`);
        if (!warned.has(p.key)) {
          warned.add(p.key);
          void vscode.window.showWarningMessage(`Weight Spectra: the setting ${p.key} ${p.message}.`);
        }
      }
      return options;
    },
  };
}

function openReport(services: Services, file: string): void {
  const existing = [...services.controllers].find((c) => c.file === file && c.panel.viewType === REPORT_PANEL);
  if (existing) {
    existing.panel.reveal();
    return;
  }
  const panel = vscode.window.createWebviewPanel(REPORT_PANEL, `Spectra · ${path.basename(file)}`, vscode.ViewColumn.Active, reportWebviewOptions(services.extensionUri));
  panel.iconPath = vscode.Uri.joinPath(services.extensionUri, 'media', 'spectra.svg');
  void new ReportController(services, panel, file).analyze();
}

async function analyzeCommand(services: Services, uri: unknown): Promise<void> {
  const target = await pickCheckpoint(uri, 'Choose a checkpoint to analyse', 'Analyze');
  if (!target) return;
  const file = checkpointPath(target);
  if (!file) {
    void vscode.window.showErrorMessage(`Weight Spectra reads checkpoints from a file system only, not ${target.scheme}: resources.`);
    return;
  }
  services.log.info(`Analyze command: ${file}`);
  openReport(services, file);
}

/** Reopens Analyze report tabs after a restart, from the checkpoint path the page kept in its state. */
class ReportPanelSerializer implements vscode.WebviewPanelSerializer {
  constructor(private readonly services: Services) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const file = (state as { file?: unknown } | undefined)?.file;
    if (typeof file !== 'string') {
      panel.dispose();
      return;
    }
    panel.iconPath = vscode.Uri.joinPath(this.services.extensionUri, 'media', 'spectra.svg');
    void new ReportController(this.services, panel, file).analyze();
  }
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Weight Spectra', { log: true });
  const services = createServices(context, log);
  log.info(`Weight Spectra ${context.extension.packageJSON.version ?? ''} activated (extension host ${process.platform}-${process.arch}, Node ${process.versions.node})`);
  context.subscriptions.push(
    log,
    vscode.commands.registerCommand('weightSpectra.analyze', (uri?: unknown) => analyzeCommand(services, uri)),
    // Explorer commands get (clicked resource, every selected resource); from the palette, nothing.
    vscode.commands.registerCommand('weightSpectra.compare', (uri?: unknown, uris?: unknown) => compareCommand(services, uri, uris)),
    vscode.commands.registerCommand('weightSpectra.compress', (uri?: unknown) => compressCommand(services, uri)),
    vscode.commands.registerCommand('weightSpectra.merge', (uri?: unknown, uris?: unknown) => mergeCommand(services, uri, uris)),
    vscode.commands.registerCommand('weightSpectra.showLog', () => log.show()),
    ...registerCheckpointEditors(services),
    vscode.window.registerWebviewPanelSerializer(REPORT_PANEL, new ReportPanelSerializer(services)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('weightSpectra')) for (const c of services.controllers) c.settingsChanged();
    }),
    { dispose: () => [...services.controllers].forEach((c) => c.dispose()) },
  );
}

export function deactivate(): void {}
