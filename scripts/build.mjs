// Bundles the six entry points with esbuild. Native and wasm packages stay external (loaded from node_modules).
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'node20' };
const nodeExternal = ['vscode', 'onnxruntime-node', 'h5wasm'];

const builds = [
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', external: nodeExternal },
  { ...common, entryPoints: ['src/worker/worker.ts'], outfile: 'dist/worker.js', platform: 'node', format: 'cjs', external: nodeExternal },
  { ...common, entryPoints: ['src/worker/eigen-thread.ts'], outfile: 'dist/eigen-thread.js', platform: 'node', format: 'cjs', external: nodeExternal },
  {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    format: 'cjs',
    external: nodeExternal,
    banner: { js: '#!/usr/bin/env node' },
  },
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022' },
  // Standalone HTML report page; its CSS import becomes dist/report.css. plotly.js is inlined separately (window.Plotly).
  { ...common, entryPoints: ['webview/report/standalone.ts'], outfile: 'dist/report.js', platform: 'browser', format: 'iife', target: 'es2022' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
