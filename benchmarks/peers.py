"""sql-lsp beside its Rust peers, squawk and pgls (the Postgres Language Server), on the same
files with the same client, measured interleaved in one run (A B C A B C ...).

    benchmarks/peers                      # install the peers (first use), measure, print the table
    benchmarks/peers --json               # the same, machine-readable
    benchmarks/peers --rounds 5 --edits 40
    benchmarks/peers --only check10k,version,initialize
    benchmarks/peers --sql-lsp before=/tmp/old/bin/sql-lsp --sql-lsp after=.venv/bin/sql-lsp

The peers are installed into a scratch folder (`--tools-dir`, default /tmp/sql-lsp-peers), never
into the project's venv: squawk from PyPI (`squawk-cli`) into a venv of its own, pgls from npm
(`@postgres-language-server/cli`) with `npm install --prefix`. pgls runs as its native binary,
not through the npm package's node wrapper (editors start the binary).

Every process is started with the PostgreSQL variables removed from its environment (no tool
may reach a database) and under a memory limit (`--memory-limit-mb`, RLIMIT_AS): a tool that
needs more is reported as n/a instead of exhausting the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / ".generated" / "peers"
CORPUS = HERE.parent.parent / "shared" / "corpus"
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from generate import statements as generate_statements  # noqa: E402
from lsp_bench import Script, percentile  # noqa: E402
from lspclient import LspClient, ServerGone  # noqa: E402

SQUAWK_VERSION = "2.70.0"
PGLS_VERSION = "0.25.5"
TOOLS_DIR = Path(tempfile.gettempdir()) / "sql-lsp-peers"
BIG_STATEMENTS = 35_000  # about 5 MB of generated SQL
LSP_STATEMENTS = 10_000
DUMPS = {"danbooru": "danbooru/db/structure.sql", "osm": "osm/db/structure.sql"}
# a database reachable through the environment would change what the tools do (and must never
# be touched by a benchmark): these are removed from every tool's environment
SCRUBBED = ("DATABASE_URL", "SQL_LSP_DATABASE_URL", "SQL_LSP_CACHE_DIR")
PGLS_CONFIG = {
    "vcs": {"enabled": False},
    "files": {"maxSize": 100_000_000},  # the default (1 MiB) would skip the larger files
    "linter": {"enabled": True, "rules": {"recommended": True}},
    "db": {"disableConnection": True},
}


# -- tools ----------------------------------------------------------------------------------------


@dataclass
class Tool:
    key: str  # "sql-lsp", "squawk", "pgls" (or "sql-lsp:LABEL")
    name: str  # what the table's header says
    version: str = ""
    missing: str | None = None  # why the tool cannot be measured at all
    cli: Callable[[str], list[str]] | None = None  # the check command for one file
    count: Callable[[str], int | None] = lambda _out: None  # findings in the check's output
    version_cmd: list[str] = field(default_factory=list)
    lsp: list[str] | None = None
    lsp_pull: bool = False  # diagnostics only by textDocument/diagnostic
    lsp_na: str | None = None


def _json_len(out: str) -> int | None:
    try:
        data = json.loads(out)
    except ValueError:
        return None
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict) and isinstance(data.get("diagnostics"), list):
        return len(data["diagnostics"])
    return None


def sql_lsp_tool(spec: str, first: bool) -> Tool:
    label, _, path = spec.rpartition("=")
    exe = str(Path(path).expanduser())
    key = "sql-lsp" if first and not label else f"sql-lsp:{label or exe}"
    name = "sql-lsp" if not label else f"sql-lsp ({label})"
    tool = Tool(key=key, name=name)
    if not (shutil.which(exe) or Path(exe).exists()):
        tool.missing = f"{exe} not found"
        return tool
    tool.cli = lambda f: [exe, "check", "--format", "json", f]
    tool.count = _json_len
    tool.version_cmd = [exe, "--version"]
    tool.lsp = [exe]
    return tool


def squawk_tool(tools_dir: Path, version: str) -> Tool:
    tool = Tool(key="squawk", name=f"squawk {version}", version=version)
    venv = tools_dir / f"squawk-{version}"
    exe = venv / "bin" / "squawk"
    if not _works([str(exe), "--version"], version):
        _say(f"installing squawk-cli {version} into {venv}")
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run(
                [
                    *(str(venv / "bin" / "python"), "-m", "pip", "install", "-q"),
                    *("--disable-pip-version-check", f"squawk-cli=={version}"),
                ],
                check=True,
            )
        except (OSError, subprocess.CalledProcessError) as e:
            tool.missing = f"installing squawk-cli {version} failed: {e}"
            return tool
    tool.cli = lambda f: [str(exe), "--reporter", "json", f]
    tool.count = _json_len
    tool.version_cmd = [str(exe), "--version"]
    tool.lsp = [str(exe), "server"]
    tool.lsp_pull = True
    return tool


def pgls_tool(tools_dir: Path, version: str) -> Tool:
    tool = Tool(key="pgls", name=f"pgls {version}", version=version)
    prefix = tools_dir / f"pgls-{version}"
    exe = _pgls_binary(prefix)
    if exe is None or not _works([str(exe), "--version"], version):
        npm = shutil.which("npm")
        if npm is None:
            tool.missing = "npm not found (pgls is installed from npm)"
            return tool
        _say(f"installing @postgres-language-server/cli {version} into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [
                    *(npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund"),
                    *(
                        "--no-save",
                        "--loglevel",
                        "error",
                        f"@postgres-language-server/cli@{version}",
                    ),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, subprocess.CalledProcessError) as e:
            tool.missing = f"npm install @postgres-language-server/cli@{version} failed: {e}"
            return tool
        exe = _pgls_binary(prefix)
        if exe is None:
            tool.missing = f"no native pgls binary for {platform.machine()} in {prefix}"
            return tool
    logs = tools_dir / "pgls-logs"
    tool.cli = lambda f: [str(exe), "check", "--reporter", "json", "--max-diagnostics", "none", f]
    tool.count = _json_len
    tool.version_cmd = [str(exe), "--version"]
    tool.lsp = [str(exe), "lsp-proxy", f"--log-path={logs}"]
    return tool


def _pgls_binary(prefix: Path) -> Path | None:
    """The platform package's native binary (npm installs only the one for this machine)."""
    found = sorted(
        prefix.glob("node_modules/@postgres-language-server/cli-*/postgres-language-server")
    )
    return found[0] if found else None


def _works(cmd: list[str], version: str) -> bool:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return version in out


# -- running processes ------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    stdout: str
    error: str | None = None  # why the run does not count


class Runner:
    def __init__(self, memory_limit_mb: int, timeout: float) -> None:
        self.limit_mb = memory_limit_mb
        self.timeout = timeout
        self.env = {
            k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith("PG")
        }

    def limit(self) -> None:  # runs in the child, before exec
        cap = self.limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    def run(self, cmd: list[str], cwd: Path) -> Run:
        """Wall time and peak RSS of one process (its stdout and stderr go to files)."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=out, stderr=err, env=self.env, preexec_fn=self.limit
            )
            deadline = t0 + self.timeout
            status, usage = 0, None
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.002)
            seconds = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        error = None
        if seconds > self.timeout:
            error = f"over the {self.timeout:g} s time limit"
        elif "memory allocation of" in stderr or "MemoryError" in stderr:
            error = f"over the {self.limit_mb:,} MB memory limit"
        elif proc.returncode not in (0, 1):
            first = next((line for line in stderr.splitlines() if line.strip()), "")
            error = f"exit {proc.returncode}: {first[:120]}"
        return Run(seconds, usage.ru_maxrss / 1024 if usage else 0.0, stdout, error)


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (pgls's language server runs in a child process)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _reap(pids: dict[int, bytes], wait: float = 5.0) -> None:
    """Wait for the processes of a closed server to exit; kill (by pid) what is left."""
    deadline = time.perf_counter() + wait
    while time.perf_counter() < deadline:
        alive = {p: c for p, c in pids.items() if c and _cmdline(p) == c}
        if not alive:
            return
        time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# -- measures ---------------------------------------------------------------------------------


@dataclass
class Measure:
    id: str
    label: str
    unit: str  # "s", "MB", "ms", "x"
    samples: dict[str, list[float]] = field(default_factory=dict)
    na: dict[str, str] = field(default_factory=dict)
    summary: str = "best"  # how one figure is made of the samples: best, median, max, pair

    def add(self, tool: str, value: float) -> None:
        self.samples.setdefault(tool, []).append(value)

    def fail(self, tool: str, reason: str) -> None:
        self.na.setdefault(tool, reason)

    def value(self, tool: str) -> float | None:
        """The figure ratios are computed from."""
        xs = self.samples.get(tool)
        if not xs or tool in self.na:
            return None
        if self.summary == "best":
            return min(xs)
        if self.summary == "max":
            return max(xs)
        return statistics.median(xs)


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}"


def _times(ratio: float) -> str:
    """A ratio with two decimals, or three significant digits when it is small."""
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def cell(m: Measure, tool: str) -> str:
    if tool in m.na:
        return f"n/a ({m.na[tool]})"
    xs = m.samples.get(tool)
    if not xs:
        return "n/a"
    if m.summary == "best":
        best, med = min(xs), statistics.median(xs)
        return _fmt(best, m.unit) + (f" ({_fmt(med, m.unit)})" if len(xs) > 1 else "")
    if m.summary == "pair":  # [median, p95] stored as two samples
        return f"{_fmt(xs[0], m.unit)} / {_fmt(xs[1], m.unit)}"
    v = m.value(tool)
    assert v is not None
    text = _fmt(v, m.unit)
    if len(xs) > 1 and m.unit == "MB" and max(xs) - min(xs) >= 1:
        text = f"{_fmt(min(xs), m.unit)} to {_fmt(max(xs), m.unit)}"
    return text


class Bench:
    def __init__(self, args: argparse.Namespace, tools: list[Tool]) -> None:
        self.args = args
        self.tools = tools
        self.ready = [t for t in tools if t.missing is None]
        self.runner = Runner(args.memory_limit_mb, args.timeout)
        self.measures: list[Measure] = []
        self.notes: list[str] = []
        self.findings: dict[str, dict[str, int | None]] = {}

    def measure(self, id: str, label: str, unit: str, summary: str = "best") -> Measure:
        m = Measure(id, label, unit, summary=summary)
        for t in self.tools:
            if t.missing is not None:
                m.fail(t.key, t.missing)
        self.measures.append(m)
        return m

    def wanted(self, *ids: str) -> bool:
        only = self.args.only
        return not only or any(i in only for i in ids)

    # -- files --------------------------------------------------------------------------------
    def folder(self, name: str, text: str, file: str = "big.sql") -> Path:
        """A project folder of its own holding one SQL file and each tool's settings."""
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sql-lsp.toml").write_text("")  # its own project root: nothing else is read
        (folder / "postgres-language-server.jsonc").write_text(json.dumps(PGLS_CONFIG, indent=2))
        path = folder / file
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return folder

    @staticmethod
    def fresh(folder: Path) -> None:
        """Drop what an earlier run left behind, so that a cold check is cold."""
        shutil.rmtree(folder / ".sql-lsp-cache", ignore_errors=True)

    # -- the command line -----------------------------------------------------------------
    def check(self, id: str, label: str, folder: Path, file: str, runs: int) -> Measure | None:
        if not self.wanted(id, "check"):
            return None
        m = self.measure(id, label, "s")
        rss = self.measure(f"{id}-rss", f"{label}: peak RSS", "MB", summary="max")
        for _ in range(runs):
            for t in self.ready:
                if t.cli is None or t.key in m.na:
                    continue
                self.fresh(folder)
                r = self.runner.run(t.cli(file), folder)
                if r.error:
                    m.fail(t.key, r.error)
                    rss.fail(t.key, r.error)
                    continue
                m.add(t.key, r.seconds)
                rss.add(t.key, r.peak_rss_mb)
                self.findings.setdefault(id, {})[t.key] = t.count(r.stdout)
        return m

    def second_check(self, folder: Path, file: str, runs: int) -> None:
        if not self.wanted("second", "check"):
            return
        m = self.measure(
            "second", "second `check` of the unchanged 10,000 (x the first)", "x", "median"
        )
        secs = self.measure("second-s", "second `check` of the unchanged 10,000", "s")
        for _ in range(runs):
            for t in self.ready:
                if t.cli is None or t.key in m.na:
                    continue
                self.fresh(folder)
                first = self.runner.run(t.cli(file), folder)
                second = self.runner.run(t.cli(file), folder) if not first.error else first
                if second.error:
                    m.fail(t.key, second.error)
                    secs.fail(t.key, second.error)
                    continue
                m.add(t.key, second.seconds / first.seconds)
                secs.add(t.key, second.seconds)

    def version(self, runs: int) -> None:
        if not self.wanted("version"):
            return
        m = self.measure("version", "`--version` (process start to exit)", "s")
        for _ in range(runs):
            for t in self.ready:
                if not t.version_cmd:
                    continue
                r = self.runner.run(t.version_cmd, OUT)
                if r.error:
                    m.fail(t.key, r.error)
                else:
                    m.add(t.key, r.seconds)

    # -- the language server ---------------------------------------------------------------
    def client(self, t: Tool, root: Path) -> LspClient:
        assert t.lsp is not None
        return LspClient(t.lsp, cwd=root, env=self.runner.env, preexec_fn=self.runner.limit)

    @staticmethod
    def capabilities(t: Tool) -> dict:
        caps: dict[str, Any] = {
            "textDocument": {
                "synchronization": {"didSave": True},
                "publishDiagnostics": {"versionSupport": True},
                "hover": {"contentFormat": ["markdown", "plaintext"]},
            },
            "general": {"positionEncodings": ["utf-16"]},
        }
        if t.lsp_pull:  # squawk answers textDocument/diagnostic and never publishes
            caps["textDocument"]["diagnostic"] = {"dynamicRegistration": False}
        return caps

    def close(self, client: LspClient) -> None:
        pids = {p: _cmdline(p) for p in _tree(client.pid)}
        client.close()
        _reap(pids)

    def initialize(self, root: Path, runs: int) -> None:
        if not self.wanted("initialize", "lsp"):
            return
        m = self.measure("initialize", "LSP `initialize` answered (from process start)", "s")
        for _ in range(runs):
            for t in self.ready:
                if t.lsp is None or t.key in m.na:
                    continue
                t0 = time.perf_counter()
                client = self.client(t, root)
                try:
                    client.initialize(root, {}, self.capabilities(t))
                    m.add(t.key, client.initialized_at - t0)
                except (ServerGone, RuntimeError, OSError) as e:
                    m.fail(t.key, str(e)[:120])
                finally:
                    self.close(client)

    def sessions(self, root: Path, rounds: int) -> None:
        if not self.wanted("lsp", "open", "edit", "server-rss"):
            return
        n = LSP_STATEMENTS
        stmts = generate_statements(n)
        files = OUT / "lsp-files"  # outside the workspace root: nothing else is scanned
        files.mkdir(parents=True, exist_ok=True)
        path = files / f"bench{n}.sql"
        cold = self.measure("open", "LSP cold open → first diagnostics, 10,000", "s")
        whole = self.measure("open-all", "LSP cold open → all diagnostics, 10,000", "s")
        edit = self.measure(
            "edit", "LSP edit → diagnostics, 10,000, median / p95", "ms", summary="pair"
        )
        rss = self.measure("server-rss", "server RSS after opening 10,000", "MB", "median")
        rss_end = self.measure(
            "server-rss-end", "server RSS after the edits", "MB", summary="median"
        )
        edit_times: dict[str, list[float]] = {}
        for r in range(rounds):
            for t in self.ready:
                if t.lsp is None or t.key in cold.na:
                    continue
                script = Script(stmts)
                path.write_text(script.text)
                try:
                    times = self._session(t, root, path, script, random.Random(self.args.seed + r))
                except (ServerGone, RuntimeError, OSError) as e:
                    for m in (cold, whole, edit, rss, rss_end):
                        m.fail(t.key, str(e)[:120])
                    continue
                cold.add(t.key, times["open"])
                whole.add(t.key, times["open_all"])
                rss.add(t.key, times["rss"])
                rss_end.add(t.key, times["rss_end"])
                edit_times.setdefault(t.key, []).extend(times["edits"])
        for key, xs in edit_times.items():
            if xs and key not in edit.na:
                edit.samples[key] = [statistics.median(xs), percentile(xs, 95)]
        self.notes.append(
            f"LSP edits: {self.args.edits} timed per session after {self.args.warmup} untimed, "
            f"{rounds} session(s) per tool, pooled"
        )

    def _session(
        self, t: Tool, root: Path, path: Path, script: Script, rng: random.Random
    ) -> dict[str, Any]:
        # cold means cold: sql-lsp's cache of a previous session's findings is removed
        shutil.rmtree(root / ".sql-lsp-cache", ignore_errors=True)
        client = self.client(t, root)
        try:
            client.initialize(root, {"diagnostics": {"debounceMs": 0}}, self.capabilities(t))
            client.drain(0.3)  # let a workspace scan (if any) finish
            uri = path.as_uri()

            def of(version: int) -> Callable[[dict], bool]:
                return lambda m: (
                    m.get("method") == "textDocument/publishDiagnostics"
                    and m["params"]["uri"] == uri
                    and m["params"].get("version") in (version, None)
                )

            def diagnostics(version: int) -> float:
                if t.lsp_pull:
                    arrived, _ = client.request_timed(
                        "textDocument/diagnostic", {"textDocument": {"uri": uri}}, timeout=300
                    )
                    return arrived
                arrived, _ = client.wait(of(version), timeout=300)
                return arrived

            item = {"uri": uri, "languageId": "sql", "version": 1, "text": script.text}
            t0 = client.notify("textDocument/didOpen", {"textDocument": item})
            first = diagnostics(1)
            # a server may publish the first lines of the file first: the last publish of the
            # open, before the edits start, is when all its diagnostics are shown
            settled = first
            if not t.lsp_pull:
                settled, _ = client.settle(of(1), (first, {}), self.args.settle)
            opened, opened_all = first - t0, settled - t0
            after_open = _rss_mb(_tree(client.pid))
            edits = []
            version = 1
            for k in range(self.args.warmup + self.args.edits):
                start, end, new, _ = script.random_edit(rng)
                change = {
                    "range": {"start": script.position(start), "end": script.position(end)},
                    "text": new,
                }
                version += 1
                t0 = client.notify(
                    "textDocument/didChange",
                    {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
                )
                took = diagnostics(version) - t0
                script.apply(start, end, new)
                if k >= self.args.warmup:
                    edits.append(took * 1000)
            return {
                "open": opened,
                "open_all": opened_all,
                "rss": after_open,
                "edits": edits,
                "rss_end": _rss_mb(_tree(client.pid)),
            }
        finally:
            self.close(client)

    # -- all of it ------------------------------------------------------------------------
    def run(self) -> None:
        a = self.args
        OUT.mkdir(parents=True, exist_ok=True)
        _say("generating the files")
        f10k = self.folder("check10000", generate(10_000))
        f1k = self.folder("check1000", generate(1_000))
        _say("check: 10,000 statements")
        self.check("check10k", "`check`, 10,000 generated statements", f10k, "big.sql", a.rounds)
        _say("check: 1,000 statements")
        self.check("check1k", "`check`, 1,000 statements", f1k, "big.sql", a.rounds)
        for name, rel in DUMPS.items():
            source = a.corpus / rel
            label = f"`check`, a real pg_dump ({name}, {source.stat().st_size // 1000 if source.exists() else 0} kB)"
            if not self.wanted(name, "check"):
                continue
            if not source.is_file():
                m = self.measure(name, label, "s")
                for t in self.ready:
                    m.fail(t.key, f"{source} not found")
                continue
            _say(f"check: {name}")
            folder = self.folder(name, source.read_text(encoding="utf-8"), "structure.sql")
            self.check(name, label, folder, "structure.sql", a.rounds)
        _say("check twice")
        self.second_check(f10k, "big.sql", a.rounds)
        _say("--version")
        self.version(a.rounds * 2)
        if self.wanted("big", "check"):
            _say(f"check: {BIG_STATEMENTS:,} statements (5 MB)")
            text = generate(BIG_STATEMENTS)
            fbig = self.folder("big", text)
            lines = text.count("\n")
            self.check(
                "big",
                f"a {len(text.encode()) / 1e6:.1f} MB file ({lines // 1000}k lines)",
                fbig,
                "big.sql",
                a.big_runs,
            )
        root = OUT / "lsp-root"
        root.mkdir(parents=True, exist_ok=True)
        (root / "sql-lsp.toml").write_text("")
        (root / "postgres-language-server.jsonc").write_text(json.dumps(PGLS_CONFIG, indent=2))
        _say("LSP initialize")
        self.initialize(root, a.rounds * 2)
        _say("LSP sessions: cold open and edits")
        self.sessions(root, a.lsp_rounds)

    # -- reporting --------------------------------------------------------------------------
    def rows(self) -> list[Measure]:
        order = [
            "check10k",
            "check1k",
            *DUMPS,
            "version",
            "second",
            "second-s",
            "check10k-rss",
            "big",
            "big-rss",
            "initialize",
            "open",
            "open-all",
            "edit",
            "server-rss",
            "server-rss-end",
        ]
        by_id = {m.id: m for m in self.measures}
        return [by_id[i] for i in order if i in by_id]

    def ratio(self, m: Measure, tool: str) -> str:
        ref = self.tools[0].key
        if m.unit == "x":
            return ""
        if m.summary == "pair":
            a, b = m.samples.get(ref), m.samples.get(tool)
            if not a or not b or ref in m.na or tool in m.na:
                return "n/a"
            return f"{_times(a[0] / b[0])} / {_times(a[1] / b[1])}"
        a, b = m.value(ref), m.value(tool)
        if a is None or b is None or b == 0:
            return "n/a"
        return _times(a / b)

    def table(self) -> str:
        ref = self.tools[0]
        others = self.tools[1:]
        head = [
            "measure",
            *(t.name for t in self.tools),
            *(f"{ref.name} ÷ {t.name}" for t in others),
        ]
        lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
        for m in self.rows():
            cells = [m.label, *(cell(m, t.key) for t in self.tools)]
            cells += [self.ratio(m, t.key) for t in others]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def findings_table(self) -> str:
        if not self.findings:
            return ""
        head = ["file", *(t.name for t in self.tools)]
        lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
        labels = {m.id: m.label for m in self.measures}
        for id, counts in self.findings.items():
            row = [labels.get(id, id)]
            row += [
                str(counts.get(t.key, "")) if counts.get(t.key) is not None else ""
                for t in self.tools
            ]
            lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)

    def targets(self) -> list[dict[str, Any]]:
        """The goals of issue 13, for the first sql-lsp given."""
        ref = self.tools[0].key
        by_id = {m.id: m for m in self.measures}
        out = []

        def goal(text: str, id: str, ok: Callable[[float], bool], shown: Callable[[float], str]):
            m = by_id.get(id)
            v = m.value(ref) if m is not None else None
            if v is not None:
                out.append({"target": text, "value": shown(v), "met": bool(ok(v))})

        def vs_pgls(id: str, factor: float) -> None:
            m = by_id.get(id)
            if m is None or m.value(ref) is None or m.value("pgls") is None:
                return
            r = m.value(ref) / m.value("pgls")
            out.append(
                {
                    "target": f"{m.label} <= {factor:g}x pgls",
                    "value": f"{r:.2f}x",
                    "met": r <= factor,
                }
            )

        vs_pgls("check10k", 1.0)
        vs_pgls("check1k", 2.0)
        goal("`--version` <= 0.1 s", "version", lambda v: v <= 0.1, lambda v: _fmt(v, "s"))
        goal("second check <= 0.3 s", "second-s", lambda v: v <= 0.3, lambda v: _fmt(v, "s"))
        goal(
            "CLI peak RSS at 10,000 <= 100 MB",
            "check10k-rss",
            lambda v: v <= 100,
            lambda v: _fmt(v, "MB"),
        )
        goal("5 MB file <= 6 s", "big", lambda v: v <= 6, lambda v: _fmt(v, "s"))
        goal("5 MB file <= 300 MB", "big-rss", lambda v: v <= 300, lambda v: _fmt(v, "MB"))
        goal("LSP initialize <= 0.1 s", "initialize", lambda v: v <= 0.1, lambda v: _fmt(v, "s"))
        goal(
            "LSP cold open of 10,000 <= 1.0 s (first diagnostics)",
            "open",
            lambda v: v <= 1.0,
            lambda v: _fmt(v, "s"),
        )
        m = by_id.get("edit")
        if m is not None and m.samples.get(ref) and ref not in m.na:
            p95 = m.samples[ref][1]
            out.append(
                {"target": "LSP edit p95 <= 30 ms", "value": _fmt(p95, "ms"), "met": p95 <= 30}
            )
        goal(
            "server RSS after opening 10,000 <= 150 MB",
            "server-rss",
            lambda v: v <= 150,
            lambda v: _fmt(v, "MB"),
        )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": {
                "python": sys.version.split()[0],
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "tools": [
                {"key": t.key, "name": t.name, "missing": t.missing, "version": t.version}
                for t in self.tools
            ],
            "settings": {
                "rounds": self.args.rounds,
                "lsp_rounds": self.args.lsp_rounds,
                "edits": self.args.edits,
                "warmup": self.args.warmup,
                "big_runs": self.args.big_runs,
                "memory_limit_mb": self.args.memory_limit_mb,
            },
            "measures": [
                {
                    "id": m.id,
                    "label": m.label,
                    "unit": m.unit,
                    "summary": m.summary,
                    "samples": m.samples,
                    "n/a": m.na,
                }
                for m in self.rows()
            ],
            "findings": self.findings,
            "targets": self.targets(),
        }


def _say(message: str) -> None:
    print(f"peers: {message}", file=sys.stderr, flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tools-dir", type=Path, default=TOOLS_DIR, help=f"default {TOOLS_DIR}")
    p.add_argument(
        "--sql-lsp",
        action="append",
        metavar="[LABEL=]PATH",
        help="the sql-lsp command to measure (repeat to compare builds; the first is the "
        "reference for the ratios; default: the one beside this Python)",
    )
    p.add_argument("--peers", default="squawk,pgls", help="comma-separated (default squawk,pgls)")
    p.add_argument("--squawk-version", default=SQUAWK_VERSION)
    p.add_argument("--pgls-version", default=PGLS_VERSION)
    p.add_argument("--corpus", type=Path, default=CORPUS, help=f"default {CORPUS}")
    p.add_argument("--rounds", type=int, default=3, help="runs of each command measure")
    p.add_argument("--lsp-rounds", type=int, default=2, help="LSP sessions per tool")
    p.add_argument("--edits", type=int, default=20, help="timed edits per LSP session")
    p.add_argument("--warmup", type=int, default=2, help="untimed edits first")
    p.add_argument(
        "--settle",
        type=float,
        default=8.0,
        help="seconds without a further publish after which a cold open has shown everything",
    )
    p.add_argument("--big-runs", type=int, default=3, help="runs of the 5 MB check")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--memory-limit-mb", type=int, default=4096)
    p.add_argument("--timeout", type=float, default=300, help="seconds per command")
    p.add_argument(
        "--only",
        type=lambda s: {x.strip() for x in s.split(",") if x.strip()},
        default=set(),
        help="measures to run: check, check10k, check1k, danbooru, osm, second, version, big, "
        "lsp, initialize",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args()
    if min(args.rounds, args.lsp_rounds, args.edits, args.big_runs) < 1:
        p.error("--rounds, --lsp-rounds, --edits and --big-runs must be at least 1")

    specs = args.sql_lsp or [str(Path(sys.executable).parent / "sql-lsp")]
    tools = [sql_lsp_tool(s, i == 0) for i, s in enumerate(specs)]
    peers = {x.strip() for x in args.peers.split(",") if x.strip()}
    args.tools_dir.mkdir(parents=True, exist_ok=True)
    if "squawk" in peers:
        tools.append(squawk_tool(args.tools_dir, args.squawk_version))
    if "pgls" in peers:
        tools.append(pgls_tool(args.tools_dir, args.pgls_version))
    for t in tools:
        if t.missing is None and t.version_cmd and not t.version:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                out = subprocess.run(t.version_cmd, capture_output=True, text=True, timeout=30)
                t.version = out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""
    if tools[0].missing is not None:
        print(f"peers: {tools[0].missing}", file=sys.stderr)
        return 2

    bench = Bench(args, tools)
    bench.run()
    if args.json:
        print(json.dumps(bench.as_json(), indent=2))
        return 0
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}; "
        + ", ".join(f"{t.name}: {t.version or t.missing}" for t in tools)
    )
    print(
        f"times: best of {args.rounds} (median); the 5 MB file: {args.big_runs} run(s); "
        f"ratios: {tools[0].name} ÷ the other (below 1: {tools[0].name} is faster or smaller)"
    )
    print()
    print(bench.table())
    found = bench.findings_table()
    if found:
        print(
            "\nFindings reported (each tool has its own rules: this counts output, not quality)\n"
        )
        print(found)
    for note in bench.notes:
        print(f"\n{note}")
    print()
    for g in bench.targets():
        print(f"target: {g['target']}: {g['value']} ({'met' if g['met'] else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
