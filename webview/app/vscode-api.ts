/**
 * The page's side of the VS Code webview API: post messages to the extension host, and keep a small state that
 * survives the tab being hidden (the webview is then destroyed and rebuilt) or VS Code restarting.
 */
import type { FromWebviewMessage } from '../../src/protocol';
import type { LayerTableState } from '../report/table';

/** What the webview remembers across reloads. The report itself is not kept: the host replays it on Ready. */
export interface PersistedState {
  version: 1;
  /** The analysed checkpoint (the panel serializer re-opens the report from it after a restart). */
  file?: string;
  selected?: string;
  table?: LayerTableState;
  scrollY?: number;
}

export interface HostApi {
  post(message: FromWebviewMessage): void;
  state(): PersistedState | undefined;
  saveState(state: PersistedState): void;
}

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** The host API; acquireVsCodeApi may be called only once per page. */
export function connectHost(): HostApi {
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    state: () => {
      const s = api.getState() as PersistedState | undefined;
      return s && s.version === 1 ? s : undefined;
    },
    saveState: (state) => api.setState(state),
  };
}
