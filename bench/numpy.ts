/**
 * The numpy reference of the speed benchmarks: one long-lived Debian python3 (numpy + OpenBLAS/LAPACK) process
 * running bench/numpy-reference.py, one JSON job per line. Absent python3/numpy → `undefined`, and the benchmark
 * says so instead of printing a ratio.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** Debian's interpreter first: its numpy links the system OpenBLAS, the library the measurements used. */
const CANDIDATES = ['/usr/bin/python3', 'python3'];

export interface NumpyReference {
  python: string;
  info: { numpy: string; libraries: string[] };
  run<T = Record<string, number>>(job: Record<string, unknown>): Promise<T>;
  close(): void;
}

export async function startNumpy(): Promise<{ ref?: NumpyReference; why?: string }> {
  const script = path.join(__dirname, 'numpy-reference.py');
  let why = 'no python3 found';
  for (const python of CANDIDATES) {
    if (python.startsWith('/') && !fs.existsSync(python)) continue;
    const probe = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      why = `${python}: ${probe.error?.message ?? probe.stderr.trim().split('\n').pop() ?? 'numpy missing'} (apt-get install -y python3-numpy libopenblas0-pthread)`;
      continue;
    }
    const child: ChildProcessWithoutNullStreams = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = readline.createInterface({ input: child.stdout });
    const waiting: ((line: string) => void)[] = [];
    lines.on('line', (line) => waiting.shift()?.(line));
    child.stderr.on('data', (d) => process.stderr.write(`[numpy] ${d}`));
    const run = <T>(job: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        waiting.push((line) => {
          const r = JSON.parse(line) as T & { error?: string };
          if (r.error) reject(new Error(`numpy reference: ${r.error}`));
          else resolve(r);
        });
        child.stdin.write(`${JSON.stringify(job)}\n`);
      });
    const info = await run<NumpyReference['info']>({ op: 'info' });
    return { ref: { python, info, run, close: () => child.stdin.end() } };
  }
  return { why };
}
