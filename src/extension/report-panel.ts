/**
 * Binds one webview panel (a report tab from the Analyze command, or the custom editor of a checkpoint) to one
 * AnalysisSession: sets up the page, runs the analysis under a cancellable progress notification, answers the page's
 * messages (spectra, cancel, rerun, exports), and stops the worker when the tab closes.
 */
import { PLOTLY_FILE, PLOTLY_PACKAGE } from '../core/report/plotly-bundle';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { OutputError, writeFileAtomic } from '../core/io/atomic-write';
import { type ExportFormat, FromWebview, type FromWebviewMessage, ToWebview, type ToWebviewMessage } from '../protocol';
import { AnalysisSession } from './analysis-session';
import { defaultExportPath, EXPORT_EXTENSIONS, EXPORT_LABELS, looksLikeCheckpoint, renderExport } from './exports';
import type { Services } from './services';
import { reportPageHtml } from './webview-html';

/** What a report page may load: the bundled page and plotly.js, nothing else. */
export function reportWebviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'node_modules', PLOTLY_PACKAGE)],
  };
}

function pageHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const uri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  return reportPageHtml({
    cspSource: webview.cspSource,
    script: uri('dist', 'webview.js'),
    style: uri('dist', 'webview.css'),
    plotly: uri('node_modules', PLOTLY_PACKAGE, PLOTLY_FILE),
    title,
  });
}

/** The file system path behind a URI the extension can read (local, or on this remote machine). */
export function checkpointPath(uri: vscode.Uri): string | undefined {
  return uri.scheme === 'file' || uri.scheme === 'vscode-remote' ? uri.fsPath : undefined;
}

export class ReportController implements vscode.Disposable {
  private readonly session: AnalysisSession;
  private readonly disposables: vscode.Disposable[] = [];
  /** The page listens: it said Ready since it was last (re)loaded. Messages before that would be lost anyway. */
  private ready = false;
  private disposed = false;
  private readonly name: string;
  /** Feeds the progress notification of the running analysis. */
  private progressReporter: ((done: number, total: number) => void) | undefined;

  constructor(
    private readonly services: Services,
    readonly panel: vscode.WebviewPanel,
    readonly file: string,
  ) {
    this.name = path.basename(file);
    const webview = panel.webview;
    webview.options = reportWebviewOptions(services.extensionUri);
    this.session = new AnalysisSession(file, services.workerFile, {
      post: (m) => this.post(m),
      log: (line, level) => (level === 'error' ? services.log.error(line) : services.log.info(line)),
      onProgress: (done, total) => this.progressReporter?.(done, total),
    });
    services.controllers.add(this);
    this.disposables.push(
      webview.onDidReceiveMessage((m: FromWebviewMessage) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        // A hidden webview is destroyed; when shown again it reloads and says Ready.
        if (!panel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    webview.html = pageHtml(webview, services.extensionUri, `Spectra · ${this.name}`);
  }

  /** Runs the analysis with the current settings, under a progress notification whose Cancel stops the worker. */
  analyze(): Promise<void> {
    const options = this.services.analyzeOptions();
    return Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Weight Spectra: analysing ${this.name}`, cancellable: true },
        async (progress, token) => {
          let reported = 0;
          let last = 0;
          this.progressReporter = (done, total) => {
            const now = Date.now();
            if (now - last < 100 && done < total) return;
            last = now;
            const percent = total > 0 ? (100 * done) / total : 0;
            progress.report({ message: `${done} of ${total} layers`, increment: percent - reported });
            reported = percent;
          };
          const cancelSub = token.onCancellationRequested(() => this.session.cancel());
          try {
            const outcome = await this.session.start(options);
            // The page shows the error itself; a notification only when the tab is not in view.
            if (outcome.status === 'failed' && !this.disposed && !this.panel.visible) {
              void vscode.window
                .showErrorMessage(`Weight Spectra could not analyse ${this.name}: ${outcome.message}`, 'Show Log')
                .then((choice) => choice && this.services.log.show(true));
            }
          } finally {
            this.progressReporter = undefined;
            cancelSub.dispose();
          }
        },
      ),
    );
  }

  /** Tells the page that the weightSpectra.* settings changed (they apply to the next analysis). */
  settingsChanged(): void {
    this.post({ type: ToWebview.Status, text: 'Settings changed: “Analyze again” applies them.' });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.dispose();
    for (const d of this.disposables) d.dispose();
    this.services.controllers.delete(this);
  }

  private post(m: ToWebviewMessage): void {
    if (this.ready && !this.disposed) void this.panel.webview.postMessage(m);
  }

  private onMessage(m: FromWebviewMessage): void {
    switch (m.type) {
      case FromWebview.Ready:
        this.ready = true;
        this.session.replay((msg) => void this.panel.webview.postMessage(msg));
        return;
      case FromWebview.GetSpectrum:
        void this.panel.webview.postMessage({ type: ToWebview.Spectrum, name: m.name, eigenvalues: this.session.spectrum(m.name) });
        return;
      case FromWebview.Cancel:
        this.services.log.info(`Cancel requested for ${this.file}`);
        this.session.cancel();
        return;
      case FromWebview.Rerun:
        if (!this.session.running) void this.analyze();
        return;
      case FromWebview.Export:
        void this.exportReport(m.format);
        return;
      case FromWebview.ShowLog:
        this.services.log.show(true);
        return;
    }
  }

  private async exportReport(format: ExportFormat): Promise<void> {
    const reply = (extra: { path?: string; error?: string }) => void this.panel.webview.postMessage({ type: ToWebview.Exported, format, ...extra });
    const report = this.session.report;
    if (!report) return reply({ error: 'the analysis has not finished' });
    const label = EXPORT_LABELS[format];
    const target = await vscode.window.showSaveDialog({
      title: `Export the ${label} of ${this.name}`,
      saveLabel: 'Export',
      defaultUri: vscode.Uri.file(defaultExportPath(this.file, format)),
      filters: { [label]: [EXPORT_EXTENSIONS[format]] },
    });
    if (!target) return reply({});
    const file = checkpointPath(target);
    try {
      if (!file) throw new OutputError(target.toString(), 'is not on a file system this extension can write to');
      if (looksLikeCheckpoint(file)) throw new OutputError(file, 'looks like a checkpoint file; refusing to write a report over it');
      // The save dialog already asked before replacing an existing file; never the analysed checkpoint itself.
      writeFileAtomic(file, renderExport(format, report), { force: true, inputs: [this.file] });
      this.services.log.info(`Exported ${label} of ${this.file} to ${file}`);
      reply({ path: file });
      void vscode.window.showInformationMessage(`Weight Spectra: saved the ${label} to ${path.basename(file)}.`, 'Open').then((choice) => {
        if (choice === 'Open') void vscode.commands.executeCommand('vscode.open', target);
      });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.services.log.error(`Export of ${label} failed: ${message}`);
      reply({ error: message });
      void vscode.window.showErrorMessage(`Weight Spectra: ${message}`);
    }
  }
}
