/** The box that explains why a checkpoint could not be analysed, with what the user can do about it. */
import { h } from '../report/dom';

/** What to tell the user per CheckpointError kind (src/core/errors.ts) and for the worker's own failures. */
const HINTS: Record<string, string> = {
  not_found: 'The file could not be opened. It may have been moved or deleted, or you may not have permission to read it.',
  unknown_format:
    'No reader recognised this file. Weight Spectra reads safetensors, PyTorch, ONNX, GGUF, NumPy, TensorFlow.js and Keras HDF5 checkpoints.',
  truncated: 'The file ends before the data its header describes. It may still be downloading or copying, or it was cut off.',
  header_out_of_bounds: 'The header points past the end of the file: the file is damaged or incomplete.',
  invalid_offsets: 'Tensor positions in the header overlap or fall outside the file: the file is damaged.',
  too_large: 'The header declares sizes far beyond what this file holds; it was refused before allocating anything.',
  too_deep: 'The file nests deeper than any real model would; it was refused to stay safe.',
  unsafe_pickle:
    'This pickle asks to run code outside the allow-list of tensor types. Weight Spectra never executes it. Convert the checkpoint to safetensors in a trusted environment if you need it.',
  unsafe_path: 'An entry of this archive points outside its folder; the file was refused.',
  unsupported: 'The file is valid but uses a feature Weight Spectra does not read yet.',
  corrupt: 'The file is malformed.',
  internal: 'This looks like a bug in Weight Spectra. The log ("Show log") has the details; please report it.',
};

export interface ErrorBoxActions {
  rerun(): void;
  showLog(): void;
}

export function errorHint(kind: string): string | undefined {
  return HINTS[kind];
}

export function basename(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

/** A readable error for `file`; `partial`: some layers were analysed before it stopped (they stay visible below). */
export function errorBox(file: string, kind: string, message: string, partial: boolean, actions: ErrorBoxActions): HTMLElement {
  const rerun = h('button', { type: 'button', class: 'wsv-button', 'data-testid': 'error-rerun' }, 'Analyze again');
  const log = h('button', { type: 'button', class: 'wsv-button wsv-secondary', 'data-testid': 'error-show-log' }, 'Show log');
  rerun.addEventListener('click', actions.rerun);
  log.addEventListener('click', actions.showLog);
  const hint = errorHint(kind);
  return h(
    'section',
    { class: 'wsv-error', id: 'error-box', role: 'alert', 'data-testid': 'error-box', 'data-error-kind': kind },
    h('h2', { class: 'wsv-error-title' }, `Could not analyse ${basename(file)}`),
    h('p', { class: 'wsv-error-message', 'data-testid': 'error-message' }, message),
    hint ? h('p', { class: 'wsv-error-hint' }, hint) : null,
    partial ? h('p', { class: 'wsv-error-hint' }, 'The layers analysed before the error are shown below.') : null,
    h('div', { class: 'wsv-error-actions' }, rerun, log, h('span', { class: 'wsv-error-kind' }, `error kind: ${kind}`)),
  );
}
