/** Report UI. Talks to the extension host only through the messages in src/protocol.ts. */
import { FromWebview, ToWebview, type ToWebviewMessage } from '../src/protocol';

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

const vscodeApi = acquireVsCodeApi();
const app = document.getElementById('app')!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

function render(msg: ToWebviewMessage): void {
  app.replaceChildren();
  if (msg.type === ToWebview.ShowError) {
    const box = el('div');
    box.className = 'error';
    box.append(el('h2', 'Could not read this checkpoint'), el('p', msg.message));
    app.append(box);
    return;
  }
  const r = msg.report;
  app.append(el('h1', `${r.format} · ${r.tensors.length} tensors · ${r.parameters.toLocaleString('en-US')} parameters`));
  const table = el('table');
  const head = el('tr');
  for (const h of ['name', 'dtype', 'shape', 'kind']) head.append(el('th', h));
  table.append(head);
  for (const t of r.tensors) {
    const row = el('tr');
    row.append(el('td', t.name), el('td', t.dtype), el('td', `[${t.shape.join(', ')}]`), el('td', t.kind));
    table.append(row);
  }
  app.append(table);
}

window.addEventListener('message', (e: MessageEvent<ToWebviewMessage>) => render(e.data));
vscodeApi.postMessage({ type: FromWebview.Ready });
