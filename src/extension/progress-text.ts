/**
 * What a transform job's progress notification says: the worker's ProgressMessage as a line and a percentage
 * (undefined while a job has nothing to count, e.g. weight-matching sweeps). No vscode import.
 */
import type { ProgressMessage } from '../protocol';

export interface ProgressUpdate {
  message: string;
  percent?: number;
}

const short = (name: string | undefined) => (name && name.length > 60 ? `…${name.slice(-59)}` : (name ?? ''));

export function progressUpdate(p: ProgressMessage): ProgressUpdate {
  const counted = p.total > 0;
  const fraction = counted ? Math.min(1, p.done / p.total) : 0;
  const of = `${p.done} of ${p.total}`;
  switch (p.phase) {
    // compress: the spectra pass reads every matrix, the write pass factorizes the compressed ones: half each.
    case 'spectra':
      return { message: `spectra ${of} · ${short(p.label)}`, percent: 50 * fraction };
    case 'write':
      return { message: `factorizing ${of} · ${short(p.label)}`, percent: 50 + 50 * fraction };
    case 'merge':
      return { message: `${of} tensors · ${short(p.label)}`, percent: 100 * fraction };
    case 'lmc':
      return counted ? { message: `model ${of} on the path · ${short(p.label)}`, percent: 100 * fraction } : { message: short(p.label) };
    default:
      return counted ? { message: `${of} · ${short(p.label)}`, percent: 100 * fraction } : { message: short(p.label) };
  }
}
