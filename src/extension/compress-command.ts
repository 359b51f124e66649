/**
 * Weight Spectra: Compress… — criterion (QuickPick), its value (input box, checked as the CLI checks it), output form
 * (QuickPick), target (save dialog beside the input), then the compress job in the worker with progress and Cancel.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { compressInWorker } from '../worker/client';
import { compressCommandLine, compressLogTable, compressOptions, compressSummary, CRITERIA, defaultCompressOutput, emitChoices, parseCriterion, shellLine } from './compress-options';
import { offerResult, reportUnfinished, runWithProgress } from './job-progress';
import { askSaveTarget, checkpointPaths, pickCheckpoint } from './pick-files';
import type { Services } from './services';

export async function compressCommand(services: Services, uri: unknown): Promise<void> {
  const target = await pickCheckpoint(uri, 'Choose a checkpoint to compress', 'Compress');
  const input = target && checkpointPaths([target])?.[0];
  if (!input) return;
  const name = path.basename(input);

  const criterion = await vscode.window.showQuickPick(
    CRITERIA.map((c) => ({ label: c.label, detail: c.detail, choice: c })),
    { title: `Compress ${name}: how to choose each layer's rank`, placeHolder: 'Rank criterion', ignoreFocusOut: true },
  );
  if (!criterion) return;
  const c = criterion.choice;
  const value = await vscode.window.showInputBox({
    title: `Compress ${name}: ${c.label}`,
    prompt: c.prompt,
    value: c.initial,
    ignoreFocusOut: true,
    validateInput: (text) => {
      const r = parseCriterion(c.kind, text);
      return 'error' in r ? r.error : undefined;
    },
  });
  if (value === undefined) return;
  const parsed = parseCriterion(c.kind, value);
  if ('error' in parsed) return;

  const emit = await vscode.window.showQuickPick(
    emitChoices(input).map((e) => ({ label: e.label, description: e.description, choice: e })),
    { title: `Compress ${name}: output form`, placeHolder: 'What to write', ignoreFocusOut: true },
  );
  if (!emit) return;
  const e = emit.choice;
  const out = await askSaveTarget({
    title: `Compress ${name}: save the ${e.emit} model as`,
    saveLabel: 'Compress',
    defaultPath: defaultCompressOutput(input, e),
    inputs: [input],
    kind: e.output,
    ...('file' in e.output ? { filters: { [e.emit === 'onnx' ? 'ONNX model' : 'safetensors']: e.output.file.map((x) => x.slice(1)) } } : {}),
  });
  if (!out) return;

  const options = compressOptions(parsed.criterion, e.emit, out.replace);
  services.log.info(`Compress: ${shellLine(compressCommandLine(input, out.path, c.kind, value, e.emit, out.replace))}`);
  const outcome = await runWithProgress(services, `Weight Spectra: compressing ${name}`, (cb) => compressInWorker(services.workerFile, input, out.path, options, cb));
  if (outcome.status !== 'done') return reportUnfinished(services, `compress ${name}`, outcome);
  const report = outcome.value;
  const summary = compressSummary(report);
  services.log.info(`  ${summary}`);
  services.log.info(`  wrote ${report.files.join(', ')}`);
  if (report.tau !== undefined) services.log.info(`  WeLore τ = ${report.tau}`);
  for (const line of compressLogTable(report).split('\n')) services.log.info(`  ${line}`);
  offerResult(summary, report.files, report);
}
