/**
 * Weight Spectra: Merge… — the models (explorer selection, else an open dialog), the method (QuickPick of the merge
 * registry with its defaults), the base where the method needs one, the parameters (one editable line), the target
 * (save dialog), then the merge job in the worker with progress and Cancel.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { mergeInWorker } from '../worker/client';
import { offerResult, reportUnfinished, runWithProgress } from './job-progress';
import {
  defaultMergeOutput,
  defaultParameterText,
  mergeCommandLine,
  mergeInputsProblem,
  mergeLogTable,
  mergeOptions,
  mergeOutputExtensions,
  mergeSummary,
  METHODS,
  methodItem,
  parameterPrompt,
  parseMergeParameters,
} from './merge-options';
import { shellLine } from './compress-options';
import { askCheckpoints, askSaveTarget, checkpointPaths, explorerSelection } from './pick-files';
import type { Services } from './services';

/** The QuickPick entry that opens a dialog for a base model that is not among the selected files. */
export const OTHER_BASE_LABEL = '$(folder-opened) Choose another file…';

async function pickInputs(uri: unknown, uris: unknown): Promise<string[] | undefined> {
  const selected = checkpointPaths(explorerSelection(uri, uris));
  if (!selected) return undefined;
  if (selected.length >= 2) return selected;
  const title = selected.length
    ? `Merge ${path.basename(selected[0])} with… (select every other model, and the base model if the method needs one)`
    : 'Choose the models to merge (and the base model if the method needs one)';
  const more = await askCheckpoints(title, 'Merge', true, selected[0]);
  if (more.length === 0) return undefined;
  const all = [...selected, ...more];
  return all.filter((p, i) => all.findIndex((q) => path.resolve(q) === path.resolve(p)) === i);
}

async function pickBase(method: string, inputs: string[]): Promise<string | undefined> {
  const items = [
    ...inputs.map((p) => ({ label: path.basename(p), description: path.dirname(p), file: p as string | undefined })),
    { label: OTHER_BASE_LABEL, description: '', file: undefined },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `Merge (${method}): the base model, the one the others were fine-tuned from`, placeHolder: 'Base model', ignoreFocusOut: true });
  if (!picked) return undefined;
  if (picked.file) return picked.file;
  return (await askCheckpoints(`Merge (${method}): choose the base model`, 'Use as Base', false, inputs[0]))[0];
}

export async function mergeCommand(services: Services, uri: unknown, uris: unknown): Promise<void> {
  let inputs = await pickInputs(uri, uris);
  if (!inputs) return;
  const picked = await vscode.window.showQuickPick(
    METHODS.map((m) => ({ ...methodItem(m), method: m })),
    { title: `Merge ${inputs.length} model${inputs.length === 1 ? '' : 's'}: method`, placeHolder: 'Merge method', matchOnDescription: true, ignoreFocusOut: true },
  );
  if (!picked) return;
  const method = picked.method;
  let base: string | undefined;
  if (method.base === 'required') {
    base = await pickBase(method.name, inputs);
    if (!base) return;
    inputs = inputs.filter((p) => path.resolve(p) !== path.resolve(base!));
  }
  const problem = mergeInputsProblem(method, inputs, base);
  if (problem) {
    void vscode.window.showErrorMessage(`Weight Spectra: ${problem}.`);
    return;
  }

  let parameters = parseMergeParameters('', method, inputs.length);
  const initial = defaultParameterText(method, inputs.length);
  if (initial) {
    const text = await vscode.window.showInputBox({
      title: `Merge (${method.name}): parameters`,
      prompt: parameterPrompt(method, inputs.length),
      value: initial,
      ignoreFocusOut: true,
      validateInput: (t) => {
        const r = parseMergeParameters(t, method, inputs!.length);
        return 'error' in r ? r.error : undefined;
      },
    });
    if (text === undefined) return;
    parameters = parseMergeParameters(text, method, inputs.length);
  }
  if ('error' in parameters) return;

  const exts = mergeOutputExtensions(inputs);
  const all = [...inputs, ...(base ? [base] : [])];
  const out = await askSaveTarget({
    title: `Merge (${method.name}): save the merged model as`,
    saveLabel: 'Merge',
    defaultPath: defaultMergeOutput(inputs, method.name),
    inputs: all,
    kind: { file: exts },
    filters: Object.fromEntries(exts.map((e) => [e === '.onnx' ? 'ONNX model' : 'safetensors', [e.slice(1)]])),
  });
  if (!out) return;

  const options = mergeOptions(method.name, out.path, base, parameters, out.replace);
  services.log.info(`Merge: ${shellLine(mergeCommandLine(inputs, options))}`);
  const outcome = await runWithProgress(services, `Weight Spectra: merging ${inputs.length} model${inputs.length === 1 ? '' : 's'} (${method.name})`, (cb) =>
    mergeInWorker(services.workerFile, inputs!, options, cb),
  );
  if (outcome.status !== 'done') return reportUnfinished(services, `merge (${method.name})`, outcome);
  const report = outcome.value;
  const summary = mergeSummary(report);
  services.log.info(`  ${summary} (${report.seconds.toFixed(1)} s)`);
  services.log.info(`  wrote ${report.files.join(', ')}`);
  for (const line of mergeLogTable(report).split('\n')) services.log.info(`  ${line}`);
  offerResult(summary, report.files, report);
}
