/**
 * Hostile and broken files (reference.json → errors): each must be refused with a typed
 * CheckpointError of the expected kind that names the file — no crash, hang or allocation.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CheckpointError } from '../../src/core/errors';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { FIXTURES, loadReference, ourFormat } from '../helpers/fixtures';

const ref = loadReference();
const only = process.env.WS_FORMAT;

/** Opens and reads every tensor: a reader may refuse at open or at read, but must refuse. */
async function openAndReadAll(file: string): Promise<void> {
  const ckpt = await openCheckpoint(file);
  try {
    for (const t of ckpt.tensors) await ckpt.read(t.name);
  } finally {
    await ckpt.close();
  }
}

describe('hostile files are refused with a typed error', () => {
  for (const [rel, spec] of Object.entries(ref.errors)) {
    const format = ourFormat(spec.expected_format);
    if (only && only !== format) continue;
    it(`${rel} → ${spec.error_kind}`, async () => {
      const file = path.join(FIXTURES, rel);
      const rssBefore = process.memoryUsage().rss;
      await assert.rejects(openAndReadAll(file), (e: unknown) => {
        assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e instanceof Error ? `${e.name}: ${e.message}` : e}`);
        assert.equal(e.kind, spec.error_kind, `kind (message: ${e.message})`);
        assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
        return true;
      });
      const grew = process.memoryUsage().rss - rssBefore;
      assert.ok(grew < 256 * 1024 * 1024, `refusing must not allocate what the header claims (RSS grew ${grew} bytes)`);
    });
  }
});
