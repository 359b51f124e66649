/**
 * Chart colours: the VS Code theme's CSS variables when the page runs in a webview, a light theme otherwise.
 * No VS Code API is used; a webview just happens to define --vscode-* variables on <html>.
 */
import type { LayerKind } from '../../src/core/report/model';

export interface ChartTheme {
  foreground: string;
  /** Secondary text, axis lines. */
  muted: string;
  grid: string;
  /** Page background (charts themselves are transparent). */
  background: string;
  /** Background of hover labels. */
  surface: string;
  fontFamily: string;
  fontSize: number;
  accent: string;
  good: string;
  warn: string;
  bad: string;
  /** Categorical colours (layer kinds), most distinct first. */
  palette: string[];
}

const LIGHT: ChartTheme = {
  foreground: '#1f2328',
  muted: '#656d76',
  grid: 'rgba(31, 35, 40, 0.10)',
  background: '#ffffff',
  surface: '#ffffff',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif',
  fontSize: 12,
  accent: '#0969da',
  good: '#1a7f37',
  warn: '#bf8700',
  bad: '#cf222e',
  // Tableau 10, reordered so the first colours are not the warning red/yellow.
  palette: ['#4e79a7', '#f28e2b', '#76b7b2', '#59a14f', '#b07aa1', '#9c755f', '#ff9da7', '#edc948', '#e15759', '#bab0ac'],
};

/** Reads the theme from the CSS variables visible at `el` (VS Code webviews), or the light defaults. */
export function readTheme(el: Element = document.documentElement): ChartTheme {
  const style = getComputedStyle(el);
  const v = (name: string) => style.getPropertyValue(name).trim();
  const fg = v('--vscode-foreground');
  if (!fg) return LIGHT;
  const editorFg = v('--vscode-editor-foreground') || fg;
  const background = v('--vscode-editor-background') || LIGHT.surface;
  const chartColor = (name: string, fallback: string) => v(`--vscode-charts-${name}`) || fallback;
  const blue = chartColor('blue', LIGHT.palette[0]);
  const orange = chartColor('orange', LIGHT.palette[1]);
  const green = chartColor('green', LIGHT.palette[3]);
  const purple = chartColor('purple', LIGHT.palette[4]);
  const yellow = chartColor('yellow', LIGHT.warn);
  const red = chartColor('red', LIGHT.bad);
  const fontSize = Number.parseFloat(v('--vscode-font-size'));
  return {
    foreground: chartColor('foreground', editorFg),
    muted: v('--vscode-descriptionForeground') || withAlpha(editorFg, 0.7),
    grid: withAlpha(chartColor('lines', editorFg), 0.18),
    background,
    surface: v('--vscode-editorHoverWidget-background') || background,
    fontFamily: v('--vscode-font-family') || LIGHT.fontFamily,
    fontSize: Number.isFinite(fontSize) && fontSize > 0 ? fontSize : LIGHT.fontSize,
    // Not focusBorder: high-contrast themes make it orange, next to the orange energy curve and red fit line.
    accent: blue,
    good: green,
    warn: yellow,
    bad: red,
    palette: [blue, orange, purple, green, ...LIGHT.palette.slice(2).filter((c) => c !== LIGHT.palette[3] && c !== LIGHT.palette[4])],
  };
}

/** The red, green, blue of #rgb, #rrggbb, #rrggbbaa, rgb() or rgba() (alpha ignored); undefined for other syntaxes. */
function parseRgb(color: string): number[] | undefined {
  const c = color.trim();
  const hex = /^#([0-9a-f]{3,8})$/i.exec(c)?.[1];
  if (hex && (hex.length === 3 || hex.length === 4)) return [0, 1, 2].map((i) => parseInt(hex[i] + hex[i], 16));
  if (hex && (hex.length === 6 || hex.length === 8)) return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/i.exec(c);
  return m ? [m[1], m[2], m[3]].map(Number) : undefined;
}

/** `color` at opacity `alpha`; other syntaxes are returned unchanged. */
export function withAlpha(color: string, alpha: number): string {
  const rgb = parseRgb(color);
  return rgb ? `rgba(${rgb.join(', ')}, ${alpha})` : color;
}

/** The opaque colour `t` of the way from `a` to `b` (so plotly can pick a readable text colour on it). */
export function mix(a: string, b: string, t: number): string {
  const x = parseRgb(a);
  const y = parseRgb(b);
  if (!x || !y) return a;
  return `rgb(${x.map((v, i) => Math.round(v + (y[i] - v) * t)).join(', ')})`;
}

/** Display order of layer kinds: the order a transformer block runs them in. */
export const KIND_ORDER: readonly LayerKind[] = [
  'embedding',
  'attention_qkv',
  'attention_q',
  'attention_k',
  'attention_v',
  'attention_o',
  'mlp_gate',
  'mlp_up',
  'mlp_down',
  'conv',
  'recurrent',
  'linear',
  'norm',
  'bias',
  'other',
];

/** One colour per kind present, assigned in KIND_ORDER so a report with few kinds gets the most distinct colours. */
export function kindColors(kinds: Iterable<string>, theme: ChartTheme): Map<string, string> {
  const present = new Set(kinds);
  const ordered = [...KIND_ORDER.filter((k) => present.has(k)), ...[...present].filter((k) => !KIND_ORDER.includes(k as LayerKind)).sort()];
  return new Map(ordered.map((k, i) => [k, theme.palette[i % theme.palette.length]]));
}
