/**
 * The read-only custom editor for checkpoint files: opening model.safetensors (or choosing "Weight Spectra" in
 * "Open With…" for the ambiguous extensions) shows the report tab and starts the analysis, instead of "binary file".
 */
import * as vscode from 'vscode';
import { checkpointPath, ReportController } from './report-panel';
import type { Services } from './services';

/** One provider, two view types: the default editor for safetensors/GGUF/ONNX/NumPy files, and an "Open With…" option
 * for extensions other tools also open (.bin, .ckpt, .pt, .pth, .h5). The file patterns are in package.json. */
export const CHECKPOINT_EDITORS = ['weightSpectra.checkpoint', 'weightSpectra.checkpointOption'] as const;

export class CheckpointEditorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly services: Services) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const file = checkpointPath(document.uri);
    if (!file) {
      panel.webview.html = `<!DOCTYPE html><html><body><p>Weight Spectra reads checkpoints from a file system only (not ${document.uri.scheme}:).</p></body></html>`;
      return;
    }
    // Restored after a restart as well: the analysis simply runs again (the page restores its selection and filters).
    void new ReportController(this.services, panel, file).analyze();
  }
}

export function registerCheckpointEditors(services: Services): vscode.Disposable[] {
  const provider = new CheckpointEditorProvider(services);
  // One tab per checkpoint: a second editor of the same file would run a second, identical analysis.
  return CHECKPOINT_EDITORS.map((viewType) => vscode.window.registerCustomEditorProvider(viewType, provider, { supportsMultipleEditorsPerDocument: false }));
}
