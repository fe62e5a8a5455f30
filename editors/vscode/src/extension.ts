// VS Code client for the sql-lsp language server.
//
// Starts the server: sqlLsp.server.command when set; else a `sql-lsp` on PATH or in the Python
// extension's interpreter that `--version` shows to be this server; else the extension's own
// environment (environment.ts: a virtualenv in its global storage with the bundled wheel installed,
// created on first start with progress). Passes the sqlLsp.* settings the user has set as
// initializationOptions and answers workspace/configuration with them, restarts the server when it
// crashes and says once, with the command it ran, when it cannot be started. A status-bar item shows
// the server and database state (the server's sql-lsp/databaseState notification); "Explain
// Statement" opens the plan view (planView.ts).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  DISTRIBUTION,
  SetupError,
  bundledWheel,
  ensureEnvironment,
  envPaths,
  pythonCandidates,
  verify,
} from './environment';
import { PlanView, WhatIfView, planHtml } from './planView';
import {
  CloseAction,
  CloseHandlerResult,
  ConfigurationParams,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  ErrorHandlerResult,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  Message,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';

const SECTION = 'sqlLsp';
const NAME = 'SQL LSP';
const RENAME_IN_MIGRATION = 'sql-lsp.renameInMigration';
/** Settings that configure the extension itself and are never sent to the server. */
const CLIENT_ONLY = new Set(['server.command', 'trace.server']);
const INSTALL_HINT =
  'Leave sqlLsp.server.command empty to let the extension install the server, or set it to a ' +
  `sql-lsp installed with "pip install ${DISTRIBUTION}".`;
const DATABASE_STATE = 'sql-lsp/databaseState';
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, for messages: the setting, PATH, the Python extension or the managed environment. */
  origin: string;
}

/** The output channel, remembering the server's recent stderr so a start failure can quote it. */
class Log implements vscode.OutputChannel {
  readonly name: string;
  private stderr = '';
  constructor(private readonly channel: vscode.OutputChannel) {
    this.name = channel.name;
  }
  /** vscode-languageclient copies the server's stderr here with append(). */
  append(value: string): void {
    this.stderr = (this.stderr + value).slice(-4000);
    this.channel.append(value);
  }
  appendLine(value: string): void {
    this.channel.appendLine(value);
  }
  replace(value: string): void {
    this.channel.replace(value);
  }
  clear(): void {
    this.channel.clear();
  }
  show(columnOrPreserve?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
    if (typeof columnOrPreserve === 'boolean' || columnOrPreserve === undefined) {
      this.channel.show(columnOrPreserve);
    } else {
      this.channel.show(columnOrPreserve, preserveFocus);
    }
  }
  hide(): void {
    this.channel.hide();
  }
  dispose(): void {
    this.channel.dispose();
  }
  mark(): number {
    return this.stderr.length;
  }
  /** The last lines the server wrote to stderr since `mark`. */
  stderrSince(mark: number, lines: number): string {
    return this.stderr
      .slice(Math.min(mark, this.stderr.length))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l)
      .slice(-lines)
      .join(' ');
  }
}

/** LanguageClient whose own pop-ups about a failed start are replaced by one message of ours. */
class SqlLspClient extends LanguageClient {
  quietStart = true;
  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, this.quietStart ? false : showNotification);
  }
}

let client: SqlLspClient | undefined;
let log: Log;
let lastCommand: ServerCommand | undefined;
let starting: Promise<void> | undefined;
let settingKeys: string[] = [];
let extensionContext: vscode.ExtensionContext;
let status: vscode.StatusBarItem;
let databaseState: { state: string; message: string } | undefined;
let planPanel: vscode.WebviewPanel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extensionContext = context;
  log = new Log(vscode.window.createOutputChannel(NAME));
  status = vscode.window.createStatusBarItem('sqlLsp.status', vscode.StatusBarAlignment.Left, 50);
  status.name = NAME;
  status.command = 'sqlLsp.showLogs';
  showStatus('starting');
  const properties: Record<string, unknown> = context.extension.packageJSON.contributes.configuration.properties;
  settingKeys = Object.keys(properties)
    .map((k) => k.slice(SECTION.length + 1))
    .filter((k) => !CLIENT_ONLY.has(k));
  context.subscriptions.push(
    log,
    status,
    vscode.commands.registerCommand('sqlLsp.restartServer', restart),
    vscode.commands.registerCommand('sqlLsp.showLogs', () => log.show(true)),
    vscode.commands.registerCommand('sqlLsp.refreshCatalog', refreshCatalog),
    vscode.commands.registerCommand('sqlLsp.explainStatement', explainStatement),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration(`${SECTION}.server.command`)) {
        await restart();
      } else if (event.affectsConfiguration(SECTION) && client?.state === State.Running) {
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { [SECTION]: serverSettings() },
        });
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function start(): Promise<void> {
  if (!starting) {
    starting = startOnce().finally(() => {
      starting = undefined;
    });
  }
  return starting;
}

async function startOnce(): Promise<void> {
  showStatus('starting');
  databaseState = undefined;
  let server: ServerCommand;
  try {
    server = await resolveServerCommand();
  } catch (error) {
    showStatus('stopped', messageOf(error));
    const noPython = error instanceof SetupError && error.noPython;
    void tellCannotStart(
      noPython ? `${NAME}: ${messageOf(error)}` : `${NAME}: could not set up the language server: ${messageOf(error)}`,
      noPython,
    );
    return;
  }
  lastCommand = server;
  const shown = commandLine(server);
  log.appendLine(`Starting the server (${server.origin}): ${shown}`);
  const serverOptions: ServerOptions = {
    command: server.command,
    args: server.args,
    transport: TransportKind.stdio,
    options: { cwd: workspaceRoot() },
  };
  let failureShown = false;
  const mark = log.mark();
  const failed = (reason: string): void => {
    if (failureShown) {
      return;
    }
    failureShown = true;
    showStatus('stopped', reason);
    const detail = /\bENOENT\b/.test(reason)
      ? `${server.command} was not found`
      : (log.stderrSince(mark, 3) || reason).replace(/[.\s]+$/, '');
    void tellCannotStart(`${NAME}: could not start the language server with \`${shown}\`: ${detail}. ${INSTALL_HINT}`);
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'sql' },
      { scheme: 'untitled', language: 'sql' },
    ],
    outputChannel: log,
    initializationOptions: serverSettings(),
    initializationFailedHandler: (error) => {
      failed(messageOf(error));
      return false;
    },
    errorHandler: new RestartingErrorHandler(() => {
      if (newClient.state === State.Starting) {
        failed('the server exited during start-up');
        return true;
      }
      return false;
    }),
    middleware: {
      // "Rename table/column … in a new migration…": ask for the new name, then run the
      // server's command, which answers with workspace/applyEdit (marked as a refactoring)
      executeCommand: async (command, args, next) => {
        if (command !== RENAME_IN_MIGRATION) {
          return next(command, args);
        }
        const arg = (args[0] ?? {}) as { name?: string; newName?: string };
        if (typeof arg.newName === 'string') {
          return next(command, args);
        }
        const newName = await vscode.window.showInputBox({
          title: `${NAME}: rename in a new migration`,
          prompt: 'The new name (quote it to keep its case)',
          value: arg.name ?? '',
        });
        if (newName === undefined || newName.trim() === '') {
          return undefined;
        }
        return next(command, [{ ...arg, newName }]);
      },
      workspace: {
        // The client would send the whole sqlLsp section (defaults and the extension's own
        // settings included) when the server registers for didChangeConfiguration; the
        // onDidChangeConfiguration listener in activate() sends serverSettings() instead.
        didChangeConfiguration: async () => undefined,
        configuration: async (params: ConfigurationParams, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          return params.items.map((item, i) =>
            item.section === SECTION
              ? serverSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
              : answers[i],
          );
        },
      },
    },
  };
  const newClient = new SqlLspClient(SECTION, NAME, serverOptions, clientOptions);
  client = newClient;
  try {
    // start() resolves without a value, rather than rejecting, when the connection closed during
    // start-up; the state says whether the server is really running.
    await newClient.start();
  } catch (error) {
    failed(messageOf(error));
  }
  if (newClient.state === State.Running) {
    newClient.quietStart = false;
    log.appendLine(`Server running: ${shown}`);
    showStatus('running');
    newClient.onNotification(DATABASE_STATE, (params: { state?: unknown; message?: unknown }) => {
      databaseState = { state: String(params?.state ?? ''), message: String(params?.message ?? '') };
      showStatus('running');
    });
    newClient.onDidChangeState((e) => {
      if (client === newClient) {
        showStatus(e.newState === State.Running ? 'running' : e.newState === State.Starting ? 'starting' : 'stopped');
      }
    });
  } else {
    showStatus('stopped', 'the server did not start');
    failed('the server did not start');
    if (client === newClient) {
      client = undefined;
    }
  }
}

async function stop(): Promise<void> {
  const old = client;
  client = undefined;
  if (old && old.state !== State.Stopped) {
    try {
      await old.stop(2000);
    } catch (error) {
      log.appendLine(`Stopping the server failed: ${messageOf(error)}`);
    }
  }
}

async function restart(): Promise<void> {
  await starting;
  await stop();
  await start();
}

/** Restarts a crashed server up to MAX_RESTARTS times in RESTART_WINDOW_MS, then gives up with one message. */
class RestartingErrorHandler implements ErrorHandler {
  private restarts: number[] = [];
  constructor(private readonly startFailed: () => boolean) {}

  error(_error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult {
    // a write to a server that just died (EPIPE) comes with no count: carry on, and let
    // `closed` decide about the restart once the connection is gone
    return { action: count === undefined || count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown };
  }

  closed(): CloseHandlerResult {
    if (this.startFailed()) {
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    this.restarts.push(now);
    if (this.restarts.length > MAX_RESTARTS) {
      const shown = lastCommand ? commandLine(lastCommand) : '(unknown)';
      showStatus('stopped', 'it stopped too often');
      void tellCannotStart(
        `${NAME}: the language server (\`${shown}\`) stopped ${this.restarts.length} times in 3 minutes ` +
          'and will not be restarted. See the logs, then run "SQL LSP: Restart Server".',
      );
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    log.appendLine(`The server stopped unexpectedly; restarting it (${this.restarts.length}/${MAX_RESTARTS}).`);
    return { action: CloseAction.Restart, handled: true };
  }
}

async function tellCannotStart(message: string, noPython = false): Promise<void> {
  log.appendLine(message);
  const buttons = noPython
    ? ['Select Python Interpreter', 'Show Logs', 'Restart Server']
    : ['Show Logs', 'Open Settings', 'Restart Server'];
  const choice = await vscode.window.showErrorMessage(message, ...buttons);
  if (choice === 'Select Python Interpreter') {
    await vscode.commands.executeCommand('python.setInterpreter').then(undefined, () =>
      vscode.window.showErrorMessage(`${NAME}: install the Python extension to choose an interpreter, or install Python 3.11 or newer.`),
    );
  } else if (choice === 'Show Logs') {
    log.show(true);
  } else if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.server.command`);
  } else if (choice === 'Restart Server') {
    await restart();
  }
}

// ---- settings -------------------------------------------------------------------------------

/**
 * The server's settings as a nested object, with only the values the user has set somewhere
 * (user, workspace or folder settings): defaults are left out so that they do not override the
 * project's sql-lsp.toml or [tool.sql-lsp] in pyproject.toml.
 */
export function serverSettings(scope?: vscode.Uri): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  const out: Record<string, unknown> = {};
  for (const key of settingKeys) {
    const info = cfg.inspect(key);
    const set =
      info &&
      [info.globalValue, info.workspaceValue, info.workspaceFolderValue, info.globalLanguageValue,
        info.workspaceLanguageValue, info.workspaceFolderLanguageValue].some((v) => v !== undefined);
    if (!set) {
      continue;
    }
    let node = out;
    const parts = key.split('.');
    for (const part of parts.slice(0, -1)) {
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = cfg.get(key);
  }
  return out;
}

// ---- the server command -----------------------------------------------------------------------

export async function resolveServerCommand(): Promise<ServerCommand> {
  const configured = vscode.workspace.getConfiguration(SECTION).get<string | string[]>('server.command');
  const parts = (Array.isArray(configured) ? configured : splitCommand(configured ?? ''))
    .map(expandVariables)
    .filter((p) => p !== '');
  if (parts.length > 0) {
    return { command: parts[0], args: parts.slice(1), origin: 'setting sqlLsp.server.command' };
  }
  const onPath = findOnPath('sql-lsp');
  if (onPath) {
    const found = await verify(onPath, []);
    if (found.version) {
      return { command: onPath, args: [], origin: 'sql-lsp on PATH' };
    }
    log.appendLine(`Not using ${onPath}: it is not this server (its --version said "${found.said}").`);
  }
  const python = await pythonExtensionInterpreter();
  if (python) {
    const found = await verify(python, ['-m', 'sql_lsp']);
    if (found.version) {
      return { command: python, args: ['-m', 'sql_lsp'], origin: 'Python extension interpreter' };
    }
  }
  return managedServer(python);
}

/** The server of the extension's own environment, set up (with progress) when needed. */
async function managedServer(python: string | undefined): Promise<ServerCommand> {
  const ctx = extensionContext;
  const wheel = bundledWheel(ctx.extensionPath);
  const version: string = wheel?.version ?? ctx.extension.packageJSON.version;
  const root = path.join(ctx.globalStorageUri.fsPath, 'server-env');
  const pythons = [...(python ? [python] : []), ...pythonCandidates()];
  const setup = (progress?: (message: string) => void) =>
    ensureEnvironment({
      root,
      version,
      wheel: wheel?.file,
      pythons,
      log: (line) => log.appendLine(line),
      progress: progress ?? (() => undefined),
    });
  // quick when the environment is there already: no progress notification then
  const ready = fs.existsSync(envPaths(root).server) && (await verify(envPaths(root).server, [])).version === version;
  const result = ready
    ? await setup()
    : await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `${NAME}: setting up the language server` },
        (progress) => setup((message) => progress.report({ message })),
      );
  if (result.created) {
    log.appendLine(`Installed ${DISTRIBUTION} ${result.version} in ${root}.`);
  }
  return { command: result.server, args: [], origin: 'managed environment' };
}

/** Split a command line on blanks; "double" or 'single' quotes keep blanks inside an argument. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

function expandVariables(part: string): string {
  const root = workspaceRoot() ?? '';
  return part
    .replace(/\$\{workspaceFolder\}/g, root)
    .replace(/\$\{userHome\}/g, os.homedir())
    .replace(/^~(?=$|\/)/, os.homedir());
}

function findOnPath(name: string): string | undefined {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) {
          return candidate;
        }
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(env: { path: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: { getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } };
}

/** The interpreter selected in the Python extension, when that extension is installed. */
async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonApi>('ms-python.python');
  if (!ext) {
    return undefined;
  }
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
    const active = api?.environments?.getActiveEnvironmentPath(resource);
    if (active) {
      const env = await api.environments!.resolveEnvironment(active);
      const exe = env?.executable?.uri?.fsPath;
      if (exe) {
        return exe;
      }
    }
    return api?.settings?.getExecutionDetails(resource)?.execCommand?.[0];
  } catch (error) {
    log.appendLine(`Could not ask the Python extension for its interpreter: ${messageOf(error)}`);
    return undefined;
  }
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
}

function commandLine(server: ServerCommand): string {
  const quote = (s: string) => (/[\s"']/.test(s) ? JSON.stringify(s) : s);
  // vscode-languageclient appends --stdio for the stdio transport.
  return [server.command, ...server.args, '--stdio'].map(quote).join(' ');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- commands ---------------------------------------------------------------------------------

async function runningClient(): Promise<SqlLspClient | undefined> {
  await starting;
  if (client?.state === State.Starting) {
    // restarting after a crash: start() hands back the start-up in progress
    await client.start().catch(() => undefined);
  }
  if (client?.state === State.Running) {
    return client;
  }
  void vscode.window.showErrorMessage(`${NAME}: the language server is not running. Run "SQL LSP: Restart Server".`);
  return undefined;
}

async function executeServerCommand(command: string, args: unknown[]): Promise<unknown> {
  const c = await runningClient();
  if (!c) {
    return undefined;
  }
  const supported = c.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
  if (!supported.includes(command)) {
    void vscode.window.showErrorMessage(
      `${NAME}: this version of the server does not support ${command}; update it (pip install -U ${DISTRIBUTION}).`,
    );
    return undefined;
  }
  return c.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

async function refreshCatalog(): Promise<void> {
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `${NAME}: refreshing the catalog` },
      () => executeServerCommand('sql-lsp.refreshCatalog', []),
    );
    if (result !== undefined) {
      void vscode.window.showInformationMessage(`${NAME}: ${describeRefresh(result)}`);
    }
  } catch (error) {
    void vscode.window.showErrorMessage(`${NAME}: refreshing the catalog failed: ${messageOf(error)}`);
  }
}

/** "catalog refreshed: 2 tables, 3 indexes from 2 files" from the server's answer. */
export function describeRefresh(result: unknown): string {
  if (typeof result === 'string' && result) {
    return result;
  }
  const r = (result ?? {}) as Record<string, unknown>;
  const count = (n: unknown, one: string, many: string) =>
    typeof n === 'number' ? `${n} ${n === 1 ? one : many}` : undefined;
  const what = [count(r.tables, 'table', 'tables'), count(r.indexes, 'index', 'indexes')].filter(Boolean);
  const files = count(r.files, 'file', 'files');
  return `catalog refreshed${what.length ? ': ' + what.join(', ') : ''}${files ? ' from ' + files : ''}`;
}

async function explainStatement(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'sql') {
    void vscode.window.showErrorMessage(`${NAME}: open a SQL file and put the cursor in a statement to explain.`);
    return;
  }
  const uri = editor.document.uri.toString();
  const pos = editor.selection.active;
  try {
    const result = await executeServerCommand('sql-lsp.explain', [
      { uri, position: { line: pos.line, character: pos.character } },
    ]);
    if (result === undefined || result === null) {
      return;
    }
    const answer = result as { view?: PlanView; whatIf?: WhatIfView | null };
    if (answer && typeof answer === 'object' && answer.view && answer.view.root) {
      showPlan(answer.view, answer.whatIf);
      return;
    }
    const content =
      typeof result === 'string'
        ? result
        : typeof (result as { markdown?: unknown }).markdown === 'string'
          ? (result as { markdown: string }).markdown
          : '```json\n' + JSON.stringify(result, null, 2) + '\n```';
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content });
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  } catch (error) {
    void vscode.window.showErrorMessage(`${NAME}: explain failed: ${messageOf(error)}`);
  }
}

/** The plan view: one webview panel beside the editor, reused for the next plan. */
function showPlan(view: PlanView, whatIf: WhatIfView | null | undefined): void {
  if (!planPanel) {
    planPanel = vscode.window.createWebviewPanel(
      'sqlLsp.plan',
      `${NAME}: Plan`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
      { enableScripts: false, enableFindWidget: true, localResourceRoots: [] },
    );
    planPanel.onDidDispose(() => {
      planPanel = undefined;
    });
  } else {
    planPanel.reveal(vscode.ViewColumn.Beside, false);
  }
  planPanel.title = `${NAME}: ${view.title}`;
  planPanel.webview.html = planHtml(view, whatIf, planPanel.webview.cspSource);
}

// ---- status bar -------------------------------------------------------------------------------

/** The status-bar item: the server's state and, while it runs, the database's. */
function showStatus(server: 'starting' | 'running' | 'stopped', detail?: string): void {
  if (!status) {
    return;
  }
  const db = databaseState;
  if (server === 'starting') {
    status.text = `$(sync~spin) ${NAME}`;
    status.tooltip = `${NAME}: starting the language server`;
    status.backgroundColor = undefined;
  } else if (server === 'stopped') {
    status.text = `$(error) ${NAME}`;
    status.tooltip = `${NAME}: the language server is not running${detail ? ` (${detail})` : ''}. Click for the logs.`;
    status.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
  } else {
    const dbText =
      db?.state === 'connected'
        ? 'database connected'
        : db?.state === 'unreachable'
          ? 'database unreachable'
          : db?.state === 'connecting'
            ? 'database connecting'
            : 'database off';
    const icon = db?.state === 'unreachable' ? '$(warning)' : db?.state === 'connected' ? '$(database)' : '$(check)';
    status.text = `${icon} ${NAME}: ${dbText}`;
    status.tooltip = `${NAME}: server running; ${dbText}${db?.message ? ` (${db.message})` : ''}. Click for the logs.`;
    status.backgroundColor =
      db?.state === 'unreachable' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }
  status.show();
}
