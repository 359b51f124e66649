/**
 * The standalone HTML report: one self-contained file (plotly.js, the report page script, its CSS and the report
 * JSON inlined) that opens from file:// with no network. The page code is webview/report/ (built to dist/report.js),
 * the same chart code the VS Code webview uses.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AnalysisReport } from '../core/report/model';
import { PLOTLY_FILE, PLOTLY_PACKAGE } from '../core/report/plotly-bundle';

export interface HtmlReportAssets {
  /** dist/report.js (built by scripts/build.mjs). */
  reportJs: string;
  /** dist/report.css (emitted next to report.js). */
  reportCss: string;
  /** The plotly.js bundle (src/core/report/plotly-bundle.ts). */
  plotlyJs: string;
}

/**
 * Where the page assets are. The bundled CLI runs from dist/cli.js (package root = __dirname/..); under tsx this
 * file runs from src/cli (package root = __dirname/../..).
 */
export function htmlReportAssets(): HtmlReportAssets {
  const roots = [path.join(__dirname, '..'), path.join(__dirname, '..', '..')];
  const root = roots.find((r) => existsSync(path.join(r, 'dist', 'report.js')));
  if (!root) {
    throw new Error(`The HTML report page script (dist/report.js) is missing next to ${__dirname}; run "npm run build".`);
  }
  return {
    reportJs: path.join(root, 'dist', 'report.js'),
    reportCss: path.join(root, 'dist', 'report.css'),
    plotlyJs: require.resolve(`${PLOTLY_PACKAGE}/${PLOTLY_FILE}`, { paths: [root, __dirname] }),
  };
}

/** Script text that cannot end its <script> element early or open an HTML comment state inside it. */
function safeScript(js: string): string {
  // \x3C is '<' in JS strings, template literals and regular expressions alike.
  return js.replace(/<(\/script|!--)/gi, '\\x3C$1');
}

/** JSON for <script type="application/json">: every '<' escaped (covers </script and <!--). */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function stripSourceMap(text: string): string {
  return text.replace(/\n?\/[/*][#@] sourceMappingURL=[^\n]*\s*$/, '\n');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Renders `report` as one self-contained HTML document. */
export function renderHtmlReport(report: AnalysisReport, assets: HtmlReportAssets = htmlReportAssets()): string {
  const plotly = safeScript(stripSourceMap(readFileSync(assets.plotlyJs, 'utf8')));
  const page = safeScript(stripSourceMap(readFileSync(assets.reportJs, 'utf8')));
  const css = stripSourceMap(existsSync(assets.reportCss) ? readFileSync(assets.reportCss, 'utf8') : '').replace(/<\/style/gi, '<\\/style');
  // Scripts run only if their hash matches; plotly sets inline styles on the SVG it draws, hence style-src 'unsafe-inline'.
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(plotly)} ${sha256(page)}`,
    "style-src 'unsafe-inline'",
    'img-src data: blob:',
    'font-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const name = report.model.path.split(/[\\/]/).filter(Boolean).pop() ?? report.model.path;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="weight-spectra">',
    `<title>${escapeHtml(name)} · Weight Spectra report</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    '<div id="app"><noscript>This report needs JavaScript to draw its table and charts.</noscript></div>',
    `<script type="application/json" id="report-data">${safeJson(report)}</script>`,
    `<script>${plotly}</script>`,
    `<script>${page}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
