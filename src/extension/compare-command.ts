/**
 * Weight Spectra: Compare Two Checkpoints — two checkpoints (explorer selection, else open dialogs), weight matching of
 * B to A in the worker (progress, Cancel), then a Compare tab with the figures; from it: "Save aligned copy…" (B
 * permuted into A's basis) and, for two ONNX models, the linear-mode-connectivity curve.
 */
import { PLOTLY_FILE, PLOTLY_PACKAGE } from '../core/report/plotly-bundle';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { FromComparePage, type ComparePageMessage, type LmcReport, type MatchReport, type WireLmcOptions } from '../protocol';
import { lmcInWorker, matchInWorker } from '../worker/client';
import { isOnnxPath, shellLine } from './compress-options';
import { comparePageHtml, type ComparePageState, compareTitle } from './compare-page';
import { offerResult, reportUnfinished, runWithProgress, showJsonReport } from './job-progress';
import { besideInput } from './output-paths';
import { askCheckpoints, askSaveTarget, checkpointPaths, explorerSelection } from './pick-files';
import { reportWebviewOptions } from './report-panel';
import type { Services } from './services';

export const COMPARE_PANEL = 'weightSpectra.compare';

/** QuickPick labels of the LMC choices (also what e2e tests pick). */
export const LMC_PATH_LABELS = { straight: 'Straight line between the models', rebasin: 'After weight matching (Git Re-Basin)' } as const;
export const LMC_INPUT_LABELS = { random: 'Random inputs', npz: 'Sample inputs from an .npz file…' } as const;
/** Points on the λ grid (the CLI's default). */
const LMC_STEPS = 11;

const base = (p: string) => path.basename(p);

async function pickPair(uri: unknown, uris: unknown, log: Services['log']): Promise<[string, string] | undefined> {
  const selected = checkpointPaths(explorerSelection(uri, uris));
  if (!selected) return undefined;
  if (selected.length > 2) log.warn(`Compare: ${selected.length} files selected; comparing the first two`);
  const picked = selected.slice(0, 2);
  if (picked.length === 0) picked.push(...(await askCheckpoints('Choose two checkpoints to compare (A, then B)', 'Compare', true)).slice(0, 2));
  if (picked.length === 0) return undefined;
  if (picked.length === 1) {
    const other = await askCheckpoints(`Compare ${base(picked[0])} with…`, 'Compare', false, picked[0]);
    if (other.length === 0) return undefined;
    picked.push(other[0]);
  }
  return [picked[0], picked[1]];
}

export async function compareCommand(services: Services, uri: unknown, uris: unknown): Promise<void> {
  const pair = await pickPair(uri, uris, services.log);
  if (!pair) return;
  const [a, b] = pair;
  if (path.resolve(a) === path.resolve(b)) {
    void vscode.window.showErrorMessage('Weight Spectra: choose two different checkpoints to compare.');
    return;
  }
  services.log.info(`Compare: ${shellLine(['match', a, b])}`);
  const outcome = await runWithProgress(services, `Weight Spectra: matching ${base(b)} to ${base(a)}`, (cb) => matchInWorker(services.workerFile, a, b, { spec: 'auto' }, cb));
  if (outcome.status !== 'done') return reportUnfinished(services, `compare ${base(a)} and ${base(b)}`, outcome);
  logMatch(services, outcome.value);
  ComparePanel.open(services, outcome.value);
}

function logMatch(services: Services, r: MatchReport): void {
  services.log.info(`  spec ${r.spec}, ${r.sweeps} sweeps, ${r.seconds.toFixed(1)} s: ‖θa − θb‖ ${r.distance_before} → ${r.distance_after}`);
  for (const n of r.notes) services.log.info(`  note: ${n}`);
  for (const [name, p] of Object.entries(r.permutations)) services.log.info(`  permutation ${name}: ${p.moved} of ${p.size} units moved`);
}

/** One Compare tab: the figures of one match, the buttons' jobs. */
export class ComparePanel {
  private state: ComparePageState;
  private disposed = false;

  static open(services: Services, match: MatchReport): ComparePanel {
    const panel = vscode.window.createWebviewPanel(COMPARE_PANEL, compareTitle(match.a, match.b), vscode.ViewColumn.Active, reportWebviewOptions(services.extensionUri));
    panel.iconPath = vscode.Uri.joinPath(services.extensionUri, 'media', 'spectra.svg');
    return new ComparePanel(services, panel, match);
  }

  private constructor(
    private readonly services: Services,
    readonly panel: vscode.WebviewPanel,
    match: MatchReport,
  ) {
    this.state = { match, canRunLmc: isOnnxPath(match.a) && isOnnxPath(match.b) && match.format === 'onnx' };
    panel.webview.onDidReceiveMessage((m: ComparePageMessage) => this.onMessage(m));
    panel.onDidDispose(() => (this.disposed = true));
    this.render();
  }

  private get a(): string {
    return this.state.match.a;
  }

  private get b(): string {
    return this.state.match.b;
  }

  private render(): void {
    if (this.disposed) return;
    const webview = this.panel.webview;
    const plotly = webview.asWebviewUri(vscode.Uri.joinPath(this.services.extensionUri, 'node_modules', PLOTLY_PACKAGE, PLOTLY_FILE)).toString();
    webview.html = comparePageHtml(this.state, { cspSource: webview.cspSource, plotly });
  }

  private onMessage(m: ComparePageMessage): void {
    if (this.state.busy) return;
    if (m.type === FromComparePage.SaveAligned) void this.saveAligned();
    else if (m.type === FromComparePage.RunLmc) void this.runLmc();
    else if (m.type === FromComparePage.ShowReport) void showJsonReport(this.state.lmc ? { match: this.state.match, lmc: this.state.lmc } : this.state.match);
  }

  private setBusy(busy: string | undefined): void {
    this.state = { ...this.state, busy };
    this.render();
  }

  /** B permuted into A's basis, written where the user says (the same matching again, same seed: same permutations). */
  private async saveAligned(): Promise<void> {
    const exts = this.state.canRunLmc ? ['.onnx', '.safetensors'] : ['.safetensors'];
    const out = await askSaveTarget({
      title: `Save ${base(this.b)} permuted into the basis of ${base(this.a)} as`,
      saveLabel: 'Save Aligned Copy',
      defaultPath: besideInput(this.b, '-aligned', exts[0]),
      inputs: [this.a, this.b],
      kind: { file: exts },
      filters: Object.fromEntries(exts.map((e) => [e === '.onnx' ? 'ONNX model' : 'safetensors', [e.slice(1)]])),
    });
    if (!out) return;
    const seed = this.state.match.seed;
    this.services.log.info(`Save aligned copy: ${shellLine(['match', this.a, this.b, '--out', out.path, '--seed', String(seed), ...(out.replace ? ['--force'] : [])])}`);
    this.setBusy('saving the aligned copy');
    const outcome = await runWithProgress(this.services, `Weight Spectra: writing ${base(this.b)} aligned to ${base(this.a)}`, (cb) =>
      matchInWorker(this.services.workerFile, this.a, this.b, { spec: 'auto', seed, out: out.path, force: out.replace }, cb),
    );
    this.setBusy(undefined);
    if (outcome.status !== 'done') return reportUnfinished(this.services, `save the aligned copy of ${base(this.b)}`, outcome);
    const r = outcome.value;
    this.services.log.info(`  wrote ${r.files.join(', ')}`);
    this.state = { ...this.state, saved: r.files };
    this.render();
    offerResult(`Saved ${base(this.b)} permuted into the basis of ${base(this.a)} → ${r.files.map(base).join(', ')} (distance to A ${r.distance_after.toPrecision(4)}).`, r.files, r);
  }

  private async runLmc(): Promise<void> {
    const route = await vscode.window.showQuickPick(
      [
        { label: LMC_PATH_LABELS.straight, description: 'θ(λ) = (1 − λ)·θa + λ·θb', rebasin: false },
        { label: LMC_PATH_LABELS.rebasin, description: "B permuted into A's basis first", rebasin: true },
      ],
      { title: `Linear mode connectivity of ${base(this.a)} and ${base(this.b)}: path`, ignoreFocusOut: true },
    );
    if (!route) return;
    const source = await vscode.window.showQuickPick(
      [
        { label: LMC_INPUT_LABELS.random, description: "drawn to fit the model's input shapes; the loss is the output deviation", npz: false },
        { label: LMC_INPUT_LABELS.npz, description: "arrays named as the model's inputs", npz: true },
      ],
      { title: 'Linear mode connectivity: inputs to run the models on', ignoreFocusOut: true },
    );
    if (!source) return;
    let inputs: string | undefined;
    if (source.npz) {
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false,
        title: 'Sample inputs for the models (.npz)',
        openLabel: 'Use Inputs',
        filters: { NumPy: ['npz'] },
        defaultUri: vscode.Uri.file(path.dirname(this.a)),
      });
      inputs = picked && checkpointPaths(picked)?.[0];
      if (!inputs) return;
    }
    const options: WireLmcOptions = { steps: LMC_STEPS, rebasin: route.rebasin, spec: 'auto', ...(inputs ? { inputs } : {}) };
    this.services.log.info(`LMC: ${shellLine(['lmc', this.a, this.b, '--steps', String(LMC_STEPS), ...(route.rebasin ? ['--rebasin'] : []), ...(inputs ? ['--inputs', inputs] : [])])}`);
    this.setBusy('computing the LMC curve');
    const outcome = await runWithProgress(this.services, `Weight Spectra: linear mode connectivity of ${base(this.a)} and ${base(this.b)}`, (cb) =>
      lmcInWorker(this.services.workerFile, this.a, this.b, options, cb),
    );
    this.setBusy(undefined);
    if (outcome.status !== 'done') {
      if (outcome.status === 'failed' && outcome.kind === 'onnxruntime' && !inputs) {
        outcome.message += ". Random inputs may not fit this model: try again with sample inputs (an .npz whose arrays are named as the model's inputs)";
      }
      return reportUnfinished(this.services, 'compute the LMC curve', outcome);
    }
    this.showLmc(outcome.value);
  }

  private showLmc(r: LmcReport): void {
    this.services.log.info(`  ${r.loss_kind} on ${r.inputs} inputs: barrier ${r.barrier} at λ = ${r.barrier_lambda} (${r.seconds.toFixed(1)} s)`);
    for (const n of r.notes) this.services.log.info(`  note: ${n}`);
    this.state = { ...this.state, lmc: r };
    this.render();
  }
}
