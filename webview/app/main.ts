/** Entry of the report tab's script: connects to the host and starts the report app. */
import type { ToWebviewMessage } from '../../src/protocol';
import type { PlotlyApi } from '../report/plotly-api';
import { ReportApp } from './app';
import { connectHost } from './vscode-api';

declare global {
  interface Window {
    /** Set by the plotly.js bundle, loaded by its own <script> before this one. */
    Plotly?: PlotlyApi;
  }
}

const root = document.getElementById('app') ?? document.body;
const app = new ReportApp(root, connectHost(), window.Plotly);
window.addEventListener('message', (e: MessageEvent<ToWebviewMessage>) => {
  if (e.data && typeof e.data === 'object' && 'type' in e.data) app.handle(e.data);
});
app.start();
