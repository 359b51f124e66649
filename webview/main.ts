/** The VS Code report tab (dist/webview.js, with dist/webview.css). Talks to the host only through src/protocol.ts. */
import './app/main';
