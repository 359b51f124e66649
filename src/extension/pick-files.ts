/**
 * Which checkpoints a command is about, and where it writes: the explorer selection (VS Code passes the clicked
 * resource and every selected one to explorer commands), the active checkpoint tab, else open dialogs; outputs through
 * a save dialog that is asked again while the name is one the job would refuse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CHECKPOINT_EDITORS } from './checkpoint-editor';
import { type OutputKind, outputProblem } from './output-paths';
import { checkpointPath } from './report-panel';

export const CHECKPOINT_FILTERS = {
  Checkpoints: ['safetensors', 'gguf', 'onnx', 'npz', 'npy', 'h5', 'pt', 'pth', 'ckpt', 'bin', 'json'],
};

/** The checkpoint shown in the active tab (the checkpoint editor, or a TF.js/sharded index opened as text). */
function activeCheckpoint(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && (CHECKPOINT_EDITORS as readonly string[]).includes(input.viewType)) return input.uri;
  if (input instanceof vscode.TabInputText && /(^|[\\/])(model\.json|[^\\/]*\.index\.json|[^\\/]*weights_manifest\.json)$/i.test(input.uri.path)) {
    return input.uri;
  }
  return undefined;
}

/** The checkpoint a command is about: the explorer selection, else the active checkpoint tab, else ask. */
export async function pickCheckpoint(uri: unknown, title: string, openLabel: string): Promise<vscode.Uri | undefined> {
  if (uri instanceof vscode.Uri) return uri;
  const active = activeCheckpoint();
  if (active) return active;
  return (await vscode.window.showOpenDialog({ canSelectMany: false, title, openLabel, filters: CHECKPOINT_FILTERS }))?.[0];
}

/** The explorer selection of an explorer command: (clicked, selected[]) → the selected files, the clicked one alone, or none. */
export function explorerSelection(uri: unknown, uris: unknown): vscode.Uri[] {
  const all = Array.isArray(uris) ? uris.filter((u): u is vscode.Uri => u instanceof vscode.Uri) : [];
  if (all.length > 0) {
    const seen = new Set<string>();
    return all.filter((u) => !seen.has(u.toString()) && seen.add(u.toString()));
  }
  if (uri instanceof vscode.Uri) return [uri];
  const active = activeCheckpoint();
  return active ? [active] : [];
}

/** File system paths of checkpoints, or undefined (after telling the user) when one is not on a file system. */
export function checkpointPaths(uris: readonly vscode.Uri[]): string[] | undefined {
  const paths: string[] = [];
  for (const u of uris) {
    const p = checkpointPath(u);
    if (!p) {
      void vscode.window.showErrorMessage(`Weight Spectra reads checkpoints from a file system only, not ${u.scheme}: resources (${u.toString()}).`);
      return undefined;
    }
    paths.push(p);
  }
  return paths;
}

/** More checkpoints from an open dialog (starting in `near`'s folder); [] when the dialog was closed. */
export async function askCheckpoints(title: string, openLabel: string, many: boolean, near?: string): Promise<string[]> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: many,
    title,
    openLabel,
    filters: CHECKPOINT_FILTERS,
    ...(near ? { defaultUri: vscode.Uri.file(path.dirname(near)) } : {}),
  });
  return picked ? (checkpointPaths(picked) ?? []) : [];
}

export interface SaveTarget {
  path: string;
  /** The user agreed to replace a file that exists (the save dialog asked): the job may write over it (never over an input). */
  replace: boolean;
}

/**
 * A target from the save dialog, starting at `defaultPath`. A name the job would refuse (an input, the wrong
 * extension) opens the dialog again with the reason in its title; undefined when the user closes it.
 */
export async function askSaveTarget(opts: { title: string; saveLabel: string; defaultPath: string; inputs: readonly string[]; kind: OutputKind; filters?: Record<string, string[]> }): Promise<SaveTarget | undefined> {
  let title = opts.title;
  let defaultPath = opts.defaultPath;
  for (;;) {
    const uri = await vscode.window.showSaveDialog({ title, saveLabel: opts.saveLabel, defaultUri: vscode.Uri.file(defaultPath), ...(opts.filters ? { filters: opts.filters } : {}) });
    if (!uri) return undefined;
    const file = checkpointPath(uri);
    const problem = file ? outputProblem(file, opts.inputs, opts.kind) : `${uri.toString()} is not on a file system this extension can write to`;
    // A folder (LoRA output) is never forced: the writer then refuses any file in it that exists.
    if (!problem) return { path: file!, replace: 'file' in opts.kind && fs.existsSync(file!) && fs.statSync(file!).isFile() };
    title = `${opts.title} — ${problem}`;
    if (file) defaultPath = file;
  }
}
