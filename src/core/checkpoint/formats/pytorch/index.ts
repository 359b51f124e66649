import { errorFactory } from '../../../errors';
import type { FormatReader, Probe } from '../../types';
import { openLegacyCheckpoint } from './legacy-checkpoint';
import { openZipCheckpoint } from './zip-checkpoint';

const FORMAT = 'pytorch';

const ZIP_LOCAL_HEADER = 0x04034b50;
/** Pickle opcodes of the legacy magic number 0x1950a86a20f9469cfc6c: LONG1, 10 bytes, little-endian. */
const LEGACY_MAGIC_LONG1 = Buffer.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
/** The same number as protocol 0/1 write it (LONG opcode, decimal text). */
const LEGACY_MAGIC_TEXT = Buffer.from('L119547037146038801333356L\n', 'latin1');
const NAME_HINT = /\.(pt|pth|bin|ckpt)$/i;

/** Whether the head is a zip whose local headers (in the head) include a data.pkl member. */
function isTorchZip(head: Buffer): boolean {
  let at = 0;
  // zip local header: signature, ..., sizes at 18, name length at 26, extra length at 28, name at 30 (APPNOTE 4.3.7)
  for (let i = 0; i < 64 && at + 30 <= head.length && head.readUInt32LE(at) === ZIP_LOCAL_HEADER; i++) {
    const nameLength = head.readUInt16LE(at + 26);
    const name = head.toString('utf8', at + 30, Math.min(head.length, at + 30 + nameLength));
    if (name === 'data.pkl' || name.endsWith('/data.pkl')) return true;
    const hasDescriptor = (head.readUInt16LE(at + 6) & 0x08) !== 0;
    if (hasDescriptor) return false;
    at += 30 + nameLength + head.readUInt16LE(at + 28) + head.readUInt32LE(at + 18);
  }
  return false;
}

function isLegacy(head: Buffer): boolean {
  if (head.length >= 14 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) {
    return head.subarray(2, 14).equals(LEGACY_MAGIC_LONG1);
  }
  return head.subarray(0, LEGACY_MAGIC_TEXT.length).equals(LEGACY_MAGIC_TEXT);
}

function match(p: Probe): number {
  if (p.head.length >= 4 && p.head.readUInt32LE(0) === ZIP_LOCAL_HEADER && isTorchZip(p.head)) return 2;
  if (isLegacy(p.head)) return 2;
  return NAME_HINT.test(p.path) ? 1 : 0;
}

export const reader: FormatReader = {
  format: FORMAT,
  match,
  async open(path, probe) {
    if (probe.head.length >= 4 && probe.head.readUInt32LE(0) === ZIP_LOCAL_HEADER) return openZipCheckpoint(path);
    if (isLegacy(probe.head)) return openLegacyCheckpoint(path);
    throw errorFactory(path, FORMAT)(
      'unknown_format',
      'not a PyTorch checkpoint: neither a torch.save zip archive nor a legacy pickle with the torch magic number',
    );
  },
};
