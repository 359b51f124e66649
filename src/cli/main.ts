import { CheckpointError } from '../core/errors';
import { OutputError } from '../core/io/atomic-write';
import { UsageError } from './args';
import { ANALYZE_USAGE, runAnalyze } from './commands/analyze';
import { COMPRESS_USAGE, runCompress } from './commands/compress';
import { INSPECT_USAGE, runInspect } from './commands/inspect';
import { LMC_USAGE, runLmc } from './commands/lmc';
import { MATCH_USAGE, runMatch } from './commands/match';
import { MERGE_USAGE, runMerge } from './commands/merge';

const USAGE = `weight-spectra — read the layers and spectra of neural-network checkpoints

usage:
  ${INSPECT_USAGE}
      list tensors (format, dtype, shape, kind); --stats adds mean/std/min/max/l2 and samples; --json prints one JSON document
  ${ANALYZE_USAGE}
      eigenspectrum of every weight matrix: WeightWatcher metrics (alpha, xmin, D, …), rank, conditioning, WeLore,
      optional FARMS and MP fit; a table, or one JSON document (--json -), or a self-contained HTML report (--html)
  ${COMPRESS_USAGE}
      write a low-rank compressed checkpoint with per-layer ranks chosen from the spectra
  ${MATCH_USAGE}
      permute b's hidden units into a's basis (Git Re-Basin weight matching); distances and singular-vector alignment
  ${MERGE_USAGE}
      merge models tensor by tensor (linear, slerp, task-arithmetic, ties, dare, opcm, rebasin)
  ${LMC_USAGE}
      linear mode connectivity: loss along (1−λ)θa + λθb in onnxruntime, and the barrier
`;

type Command = (argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) => Promise<number>;
const COMMANDS: Record<string, Command> = { inspect: runInspect, analyze: runAnalyze, compress: runCompress, match: runMatch, merge: runMerge, lmc: runLmc };

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`weight-spectra: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, process.stdout, process.stderr);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`weight-spectra ${name}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof OutputError) {
      process.stderr.write(`weight-spectra ${name}: error (output): ${e.message}\n`);
      return 1;
    }
    if (e instanceof CheckpointError) {
      process.stderr.write(`weight-spectra ${name}: error (${e.kind}): ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`weight-spectra ${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`weight-spectra: ${e}\n`);
      process.exitCode = 70;
    },
  );
}
