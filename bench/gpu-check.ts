/**
 * GPU check (npm run bench:gpu): runs the Gram and eigenvalue steps through onnxruntime's WebGPU and CUDA execution
 * providers where they load, checks the eigenvalues against the CPU float64 path within float32 tolerance, and prints
 * the speed of both. Where neither provider loads it says why and exits 0; it exits 1 only on wrong eigenvalues.
 *   node --import tsx bench/gpu-check.ts [--n=4096] [--rows=11008]
 */
import * as os from 'node:os';
import { createOrtGram } from '../src/core/linalg/ort/gram-session';
import type { ProviderName } from '../src/core/linalg/ort/providers';
import { gaussianMatrix } from './synthetic';

const argv = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const n = Number(argv.get('n') ?? 4096);
const rows = Number(argv.get('rows') ?? 11008);

async function timedSpectrum(provider: ProviderName, precision: 'float64' | 'float32', w: Float32Array) {
  const g = await createOrtGram([provider], 0, precision);
  try {
    if (g.provider !== provider) return { unavailable: g.fallbacks.join('; ') || `fell back to ${g.provider}` };
    const t0 = performance.now();
    const { gram, n: order } = await g.backend({ rows, cols: n, data: w });
    const t1 = performance.now();
    const evals = await g.backend.eigenvalues!(gram, order);
    const t2 = performance.now();
    return { gramSeconds: (t1 - t0) / 1000, eigSeconds: (t2 - t1) / 1000, evals };
  } finally {
    await g.release();
  }
}

async function main() {
  console.log(`machine: ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; matrix ${rows}×${n} float32`);
  const w = gaussianMatrix(rows, n, 0.02, 2024);
  const cpu = await timedSpectrum('cpu', 'float64', w);
  if ('unavailable' in cpu) throw new Error(`CPU provider failed: ${cpu.unavailable}`);
  console.log(`cpu float64: Gram ${cpu.gramSeconds.toFixed(2)} s, eigenvalues ${cpu.eigSeconds.toFixed(2)} s`);
  let ran = 0;
  let wrong = false;
  for (const provider of ['webgpu', 'cuda'] as const) {
    const r = await timedSpectrum(provider, 'float32', w).catch((e: Error) => ({ unavailable: e.message.split('\n')[0] }));
    if ('unavailable' in r) {
      console.log(`${provider}: not available (${r.unavailable})`);
      continue;
    }
    ran++;
    // float32 Gram + reduction: eigenvalues ≥ 1e-3·λmax within 1e-3 relative of the float64 path.
    const top = cpu.evals[cpu.evals.length - 1];
    let worst = 0;
    for (let i = 0; i < cpu.evals.length; i++) if (cpu.evals[i] >= 1e-3 * top) worst = Math.max(worst, Math.abs(r.evals[i] - cpu.evals[i]) / cpu.evals[i]);
    const ok = worst <= 1e-3;
    wrong ||= !ok;
    console.log(
      `${provider} float32: Gram ${r.gramSeconds.toFixed(2)} s (${(cpu.gramSeconds / r.gramSeconds).toFixed(1)}× CPU), eigenvalues ${r.eigSeconds.toFixed(2)} s (${(cpu.eigSeconds / r.eigSeconds).toFixed(1)}× CPU); worst relative difference ${worst.toExponential(1)} ${ok ? 'ok' : 'WRONG'}`,
    );
  }
  if (!ran) console.log('neither the WebGPU nor the CUDA provider is available here: nothing to check (CPU only).');
  if (wrong) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
