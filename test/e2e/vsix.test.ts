/**
 * The packaged VSIX on its own (no VS Code): lean, and complete enough that the code inside it runs with only the
 * node_modules files it ships (onnxruntime-node for linux-x64, h5wasm, plotly.js). Needs `npm run package`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as yauzl from 'yauzl';
import { cliLayerCount, FIXTURES, VSIX } from './harness';

function unzip(file: string, dest: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const names: string[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(names));
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        const out = path.join(dest, entry.fileName);
        if (!out.startsWith(dest + path.sep)) return reject(new Error(`entry escapes: ${entry.fileName}`));
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        fs.mkdirSync(path.dirname(out), { recursive: true });
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          stream.pipe(fs.createWriteStream(out)).on('finish', () => zip.readEntry()).on('error', reject);
        });
      });
      zip.readEntry();
    });
  });
}

describe('the VSIX', { skip: !fs.existsSync(VSIX) && `${VSIX} is missing (npm run package)` }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-vsix-'));
  let names: string[] = [];
  const cli = path.join(dir, 'extension', 'dist', 'cli.js');

  before(async () => {
    names = await unzip(VSIX, dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is lean: the bundles, plotly.js and linux-x64 native code only', () => {
    const size = fs.statSync(VSIX).size;
    process.stderr.write(`  VSIX ${(size / 2 ** 20).toFixed(2)} MiB, ${names.length} files\n`);
    assert.ok(size < 30 * 2 ** 20, `VSIX is ${size} bytes`);
    for (const must of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/worker.js', 'extension/dist/webview.js', 'extension/node_modules/plotly.js-cartesian-dist-min/plotly-cartesian.min.js', 'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node']) {
      assert.ok(names.includes(must), `${must} is in the VSIX`);
    }
    const unwanted = names.filter((n) => /\.map$|\.ts$|^extension\/(src|test|bench|scripts|webview|\.tools|\.cache)\/|napi-v6\/(win32|darwin)|linux\/arm64/.test(n));
    assert.deepEqual(unwanted, []);
  });

  it('package.json names the entry point it ships', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'extension', 'package.json'), 'utf8')) as { main: string };
    assert.ok(fs.existsSync(path.join(dir, 'extension', manifest.main)), manifest.main);
  });

  // The worker in the VSIX loads onnxruntime-node and h5wasm from the VSIX's own node_modules (nothing above /tmp).
  for (const [label, file] of [
    ['safetensors through onnxruntime-node', path.join(FIXTURES, 'oracle', 'public.safetensors')],
    ['Keras HDF5 through h5wasm', path.join(FIXTURES, 'shipped', 'psnr-small-quant-uint8', 'image-super-resolution-psnr-small.h5')],
  ]) {
    it(`its analysis code runs from the VSIX alone: ${label}`, { timeout: 120_000 }, () => {
      const json = execFileSync(process.execPath, [cli, 'analyze', file, '--json', '-'], { encoding: 'utf8', cwd: dir, maxBuffer: 1 << 28 });
      const fromVsix = JSON.parse(json) as { model: { provider: string }; layers: { error?: string }[] };
      assert.equal(fromVsix.layers.length, cliLayerCount(file).layers);
      assert.deepEqual(fromVsix.layers.filter((l) => l.error), []);
      assert.equal(fromVsix.model.provider, 'cpu');
    });
  }
});
