// The server's own environment, managed by the extension (as the ruff, black, pylint and isort
// extensions do): a virtualenv in the extension's global storage with the server wheel bundled in
// the .vsix (server/*.whl) installed into it, or, without a bundled wheel, the same version of
// sql-review-lsp from PyPI. Nothing is ever written into the user's project.
//
// Every server the extension finds on its own is verified first: `sql-lsp --version` must name
// this project (see sql_lsp.version_line: "sql-lsp 0.1.0 (sql-review-lsp; ...)"), so another
// program called sql-lsp, or another package providing a sql_lsp module, is never run.

import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The distribution that provides the server, and its command. */
export const DISTRIBUTION = 'sql-review-lsp';
export const MIN_PYTHON: [number, number] = [3, 11];
const VERSION_LINE = /^sql-lsp (\S+) \(sql-review-lsp[;)]/;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Run a program without a shell; never rejects. */
export function run(command: string, args: string[], timeoutMs = 20000, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024, cwd, env: { ...process.env, PIP_NO_INPUT: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), error: error ? error.message : undefined });
      },
    );
  });
}

/** The version of this server that `--version` printed, or undefined when it is not this server. */
export function parseVersionLine(output: string): string | undefined {
  const m = VERSION_LINE.exec(output.trim());
  return m ? m[1] : undefined;
}

export interface Verified {
  version?: string;
  /** What the program said instead, for the log, when it is not this server. */
  said: string;
}

/** Ask `command ...args --version` and check that the answer names this server. */
export async function verify(command: string, args: string[]): Promise<Verified> {
  const r = await run(command, [...args, '--version']);
  const said = (r.stdout || r.stderr || r.error || '').trim().split('\n')[0] ?? '';
  return { version: r.code === 0 ? parseVersionLine(r.stdout) : undefined, said };
}

export interface Python {
  executable: string;
  version: string;
}

/** `candidate` when it is a Python >= 3.11 (its real executable and version), else undefined. */
export async function probePython(candidate: string, cwd?: string): Promise<Python | undefined> {
  const r = await run(
    candidate,
    ['-c', 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'],
    10000,
    cwd,
  );
  if (r.code !== 0) {
    return undefined;
  }
  const [executable, version] = r.stdout.trim().split('\n');
  const [major, minor] = (version ?? '').split('.').map(Number);
  if (!executable || !(major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]))) {
    return undefined;
  }
  return { executable, version };
}

/** The Python commands to try on PATH, newest first. */
export function pythonCandidates(platform = process.platform): string[] {
  const names = ['python3.14', 'python3.13', 'python3.12', 'python3.11', 'python3', 'python'];
  return platform === 'win32' ? ['py', 'python', 'python3'] : names;
}

/** The bundled server wheel (server/sql_review_lsp-<version>-py3-none-any.whl), if any. */
export function bundledWheel(extensionPath: string): { file: string; version: string } | undefined {
  const dir = path.join(extensionPath, 'server');
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names.sort().reverse()) {
    const m = /^sql_review_lsp-([^-]+)-.*\.whl$/.exec(name);
    if (m) {
      return { file: path.join(dir, name), version: m[1] };
    }
  }
  return undefined;
}

/** Paths in the managed environment. */
export function envPaths(root: string, platform = process.platform): { python: string; server: string } {
  return platform === 'win32'
    ? { python: path.join(root, 'Scripts', 'python.exe'), server: path.join(root, 'Scripts', 'sql-lsp.exe') }
    : { python: path.join(root, 'bin', 'python'), server: path.join(root, 'bin', 'sql-lsp') };
}

export class SetupError extends Error {
  constructor(
    message: string,
    readonly noPython = false,
  ) {
    super(message);
  }
}

export interface SetupOptions {
  /** The managed environment's folder (in the extension's global storage). */
  root: string;
  /** The version the extension wants (its own version, the bundled wheel's). */
  version: string;
  /** The bundled wheel, or undefined to install `sql-review-lsp==version` from PyPI. */
  wheel?: string;
  /** Interpreters to try, best first (the Python extension's, then PATH). */
  pythons: string[];
  log: (line: string) => void;
  progress: (message: string) => void;
}

/**
 * The `sql-lsp` of the managed environment, created or updated when missing, broken or of another
 * version than `version`. Throws SetupError (with `noPython` when no Python >= 3.11 was found).
 */
export async function ensureEnvironment(o: SetupOptions): Promise<{ server: string; version: string; created: boolean }> {
  const paths = envPaths(o.root);
  if (fs.existsSync(paths.server)) {
    const found = await verify(paths.server, []);
    if (found.version === o.version) {
      return { server: paths.server, version: found.version, created: false };
    }
    o.log(`The managed environment has ${found.version ? 'sql-lsp ' + found.version : 'no working server'}; reinstalling ${DISTRIBUTION} ${o.version}.`);
  }
  let python: Python | undefined;
  for (const candidate of o.pythons) {
    python = await probePython(candidate);
    if (python) {
      break;
    }
  }
  if (!python) {
    throw new SetupError(
      `the language server needs Python ${MIN_PYTHON.join('.')} or newer, and none was found ` +
        `(tried ${o.pythons.join(', ')}). Install Python ${MIN_PYTHON.join('.')}+ or select one ` +
        'with the Python extension, then run "SQL LSP: Restart Server".',
      true,
    );
  }
  o.progress(`creating its environment with Python ${python.version}`);
  o.log(`Creating the server environment ${o.root} with ${python.executable} (Python ${python.version}).`);
  fs.rmSync(o.root, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(o.root), { recursive: true });
  const venv = await run(python.executable, ['-m', 'venv', o.root], 120000);
  if (venv.code !== 0) {
    throw new SetupError(`could not create a virtualenv with ${python.executable}: ${lastLine(venv)}`);
  }
  const target = o.wheel ?? `${DISTRIBUTION}==${o.version}`;
  o.progress(`installing ${DISTRIBUTION} ${o.version}`);
  o.log(`Installing ${target} into ${o.root}.`);
  const pip = await run(paths.python, ['-m', 'pip', 'install', '--disable-pip-version-check', target], 600000);
  o.log((pip.stdout + pip.stderr).trim());
  if (pip.code !== 0) {
    throw new SetupError(`could not install ${DISTRIBUTION} ${o.version}: ${lastLine(pip)}`);
  }
  const found = await verify(paths.server, []);
  if (!found.version) {
    throw new SetupError(`${paths.server} --version said "${found.said}", not sql-lsp`);
  }
  return { server: paths.server, version: found.version, created: true };
}

function lastLine(r: Run): string {
  const lines = (r.stderr || r.stdout || r.error || '').trim().split('\n');
  return lines[lines.length - 1] || `exit code ${r.code}`;
}
