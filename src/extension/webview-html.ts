/**
 * The report tab's HTML: a strict Content-Security-Policy (scripts only with this page's nonce, styles and images
 * only from the extension, nothing remote), plotly.js and the report app from the extension's files.
 * No vscode import: the webview unit test loads the same page in Chromium.
 */
import { randomBytes } from 'node:crypto';

export interface ReportPageAssets {
  /** webview.cspSource: the origin the webview serves extension files from. */
  cspSource: string;
  /** URIs (as strings, from webview.asWebviewUri) of dist/webview.js, dist/webview.css and the plotly.js bundle. */
  script: string;
  style: string;
  plotly: string;
  title: string;
  /** A fresh random nonce per page load; generated when omitted. */
  nonce?: string;
}

export function newNonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, '');
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // plotly.js inserts its own <style> rules (modebar, hover labels) and styles SVG nodes inline; without 'unsafe-inline'
    // it warns "Cannot addRelatedStyleRule, probably due to strict CSP" and its hover and toolbar lose their styles.
    // Scripts stay nonce-only.
    `style-src ${cspSource} 'unsafe-inline'`,
    `img-src ${cspSource} data: blob:`,
    `font-src ${cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function reportPageHtml(a: ReportPageAssets): string {
  const nonce = a.nonce ?? newNonce();
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="UTF-8">',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(a.cspSource, nonce)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
    `<link rel="stylesheet" href="${escapeAttr(a.style)}">`,
    `<title>${escapeAttr(a.title)}</title>`,
    '</head>',
    '<body>',
    '<div id="app" data-testid="report-app"></div>',
    `<script nonce="${nonce}" src="${escapeAttr(a.plotly)}"></script>`,
    `<script nonce="${nonce}" src="${escapeAttr(a.script)}"></script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
