/**
 * Reader benchmark (npm run bench:read). Prints a table with our throughput next to a ceiling measured in the same
 * run, so machine noise cancels. Exits non-zero only on wrong results, never on slowness.
 *  1. decode: a 1 GB BF16 safetensors file read tensor by tensor to Float32Array, vs. plain positional reads of
 *     the same bytes (the disk/page-cache ceiling) and vs. a memcpy-speed copy.
 *  2. memory: listing and reading one tensor of a 14 GB sharded (sparse) 7B-shaped model; RSS growth over idle.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../src/core/checkpoint/registry';
import { RandomAccessFile } from '../src/core/io/random-access-file';
import { writeSafetensors, writeShardedSafetensors, type SyntheticTensor } from './synthetic';

const DIR = path.resolve('.bench');
fs.mkdirSync(DIR, { recursive: true });

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function machine(): string {
  return `${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

async function decodeBenchmark() {
  const file = path.join(DIR, 'bf16-1gb.safetensors');
  // 32 tensors of 4096×4096 BF16 = 1 GiB of tensor data.
  const tensors: SyntheticTensor[] = Array.from({ length: 32 }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'BF16', shape: [4096, 4096] }));
  if (!fs.existsSync(file)) {
    process.stderr.write('writing 1 GiB BF16 safetensors…\n');
    writeSafetensors(file, tensors);
  }
  const size = fs.statSync(file).size;
  // Warm the page cache so both measurements read from memory, not the disk.
  const raw = await RandomAccessFile.open(file);
  const buf = Buffer.allocUnsafe(4096 * 4096 * 2);
  const rawPass = async () => {
    for (let off = 0; off + buf.length <= size; off += buf.length) await raw.readInto(buf, off);
  };
  await rawPass();
  let t0 = process.hrtime.bigint();
  await rawPass();
  const rawSeconds = seconds(t0);

  const ckpt = await openCheckpoint(file);
  let check = 0;
  // A streaming consumer (the analysis worker) reuses one destination buffer; a naive one allocates per tensor.
  const reused = new Float32Array(4096 * 4096);
  const decodePass = async (reuse: boolean) => {
    for (const t of ckpt.tensors) {
      const v = await ckpt.read(t.name, 'float32', reuse ? reused : undefined);
      check += v[0] + v[v.length - 1];
    }
  };
  await decodePass(true);
  t0 = process.hrtime.bigint();
  await decodePass(true);
  const decodeSeconds = seconds(t0);
  t0 = process.hrtime.bigint();
  await decodePass(false);
  const freshSeconds = seconds(t0);
  // What fresh memory alone costs here: allocate and touch a 64 MiB Float32Array per tensor, no I/O.
  t0 = process.hrtime.bigint();
  for (let i = 0; i < ckpt.tensors.length; i++) new Float32Array(4096 * 4096).fill(1);
  const touchSeconds = seconds(t0);
  // Correctness: the last value must equal the BF16 bits at the end of the file, widened.
  const last = ckpt.tensors[ckpt.tensors.length - 1];
  const lastBits = (await raw.read(size - 2, 2)).readUInt16LE(0);
  const v = await ckpt.read(last.name, 'float32');
  const expected = new Float32Array(new Uint32Array([lastBits << 16]).buffer)[0];
  await ckpt.close();
  await raw.close();
  if (v[v.length - 1] !== expected || !Number.isFinite(check)) throw new Error('decoded values are wrong');
  const gb = size / 1e9;
  return { gb, rawGBs: gb / rawSeconds, decodeGBs: gb / decodeSeconds, freshGBs: gb / freshSeconds, touchGBs: gb / touchSeconds };
}

async function memoryBenchmark() {
  const dir = path.join(DIR, 'sharded-14gb');
  const index = path.join(dir, 'model.safetensors.index.json');
  if (!fs.existsSync(index)) {
    // 7B-shaped: 32 blocks of q/k/v/o 4096×4096 and gate/up/down 4096×11008, BF16, 4 blocks per shard.
    const shards: SyntheticTensor[][] = [];
    for (let s = 0; s < 8; s++) {
      const ts: SyntheticTensor[] = [];
      for (let b = s * 4; b < s * 4 + 4; b++) {
        for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) ts.push({ name: `model.layers.${b}.self_attn.${p}.weight`, dtype: 'BF16', shape: [4096, 4096] });
        ts.push({ name: `model.layers.${b}.mlp.gate_proj.weight`, dtype: 'BF16', shape: [11008, 4096] });
        ts.push({ name: `model.layers.${b}.mlp.up_proj.weight`, dtype: 'BF16', shape: [11008, 4096] });
        ts.push({ name: `model.layers.${b}.mlp.down_proj.weight`, dtype: 'BF16', shape: [4096, 11008] });
      }
      shards.push(ts);
    }
    writeShardedSafetensors(dir, shards, { sparse: true });
  }
  const modelBytes = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
  global.gc?.();
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  const timer = setInterval(sample, 5);
  const ckpt = await openCheckpoint(index);
  sample();
  const listed = ckpt.tensors.length;
  const v = await ckpt.read('model.layers.17.mlp.down_proj.weight', 'float32');
  sample();
  const ok = v.length === 4096 * 11008 && v[0] === 0 && v[v.length - 1] === 0;
  await ckpt.close();
  clearInterval(timer);
  if (!ok || listed !== 224) throw new Error(`sharded read wrong: ${listed} tensors`);
  return { modelGB: modelBytes / 1e9, listed, growthMB: (peak - idle) / 2 ** 20 };
}

async function main() {
  const d = await decodeBenchmark();
  const m = await memoryBenchmark();
  const rows = [
    ['benchmark', 'ours', 'reference (same run)', 'ratio'],
    [
      `BF16 safetensors → Float32Array (reused buffer), ${d.gb.toFixed(2)} GB input`,
      `${d.decodeGBs.toFixed(2)} GB/s`,
      `${d.rawGBs.toFixed(2)} GB/s positional read, no decode`,
      `${(d.decodeGBs / d.rawGBs).toFixed(2)}× of read ceiling`,
    ],
    [
      `BF16 safetensors → fresh Float32Array per tensor`,
      `${d.freshGBs.toFixed(2)} GB/s`,
      `${d.touchGBs.toFixed(2)} GB/s allocate + touch fresh output, no I/O`,
      `${(d.freshGBs / d.touchGBs).toFixed(2)}× of fresh-memory ceiling`,
    ],
    [
      `list + read 1 tensor of ${m.modelGB.toFixed(1)} GB sharded model (${m.listed} tensors)`,
      `+${m.growthMB.toFixed(0)} MB RSS`,
      'goal: < 300 MB above idle',
      m.growthMB < 300 ? 'met' : 'NOT met',
    ],
  ];
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(`machine: ${machine()}`);
  for (const r of rows) console.log(r.map((x, c) => x.padEnd(w[c])).join(' | '));
  console.log(`goal ≥ 1 GB/s decode: ${d.decodeGBs >= 1 ? 'met' : 'NOT met'}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
