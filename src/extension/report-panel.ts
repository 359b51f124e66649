import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import type { ToWebviewMessage } from '../protocol';

/** A webview tab that renders a report sent over the protocol; strict CSP with a nonce, no remote resources. */
export function openReportPanel(context: vscode.ExtensionContext, title: string, message: ToWebviewMessage): vscode.WebviewPanel {
  const panel = vscode.window.createWebviewPanel('weightSpectra.report', title, vscode.ViewColumn.Active, {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')],
  });
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview.js'));
  const style = panel.webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'media', 'report.css'));
  panel.webview.html = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${panel.webview.cspSource}; script-src 'nonce-${nonce}'; img-src ${panel.webview.cspSource} data:;">
<link rel="stylesheet" href="${style}"><title>${title}</title></head>
<body><main id="app">Loading…</main><script nonce="${nonce}" src="${script}"></script></body></html>`;
  panel.webview.onDidReceiveMessage((m: { type: string }) => {
    if (m.type === 'ready') void panel.webview.postMessage(message);
  });
  return panel;
}
