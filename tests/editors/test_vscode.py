"""sql-lsp in the real VS Code workbench: code-server in headless Chromium, the packaged .vsix.

The extension is built with editors/vscode/scripts/package.sh and installed into a fresh
code-server (fresh user-data, extensions and XDG dirs; a fresh Chromium profile). The workspace is
a copy of the fixture project whose .vscode/settings.json raises select-star to "error", so the
test also shows that workspace settings reach the server. No server is installed and none is
configured: PATH holds Python (3.11+), Node and the system's bin directories only, so the extension
creates its own environment in its global storage and installs the wheel bundled in the .vsix into
it, as it does for a new user. Later the workspace gets a database (a throwaway PostgreSQL with
HypoPG) and "Explain Statement" opens the plan view. tests/editors/vscode/e2e.js (playwright-core)
drives the page and records what it shows (diagnostics, hover, quick fix, commands, plan view,
completion); this module asserts on the record. Screenshots:
.test-artifacts/editors/vscode/ (7-plan-view.png is the plan view, 8-completion-3.png the join
condition offered after `JOIN orders o ON `).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from editor_expectations import EXPECT
from editor_support import REPO, artifacts, dump, tail

EXTENSION = REPO / "editors" / "vscode"
E2E = Path(__file__).parent / "vscode" / "e2e.js"
USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "security.workspace.trust.enabled": False,
    "extensions.autoUpdate": False,
    "extensions.autoCheckUpdates": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "workbench.enableExperiments": False,
    "workbench.tips.enabled": False,
    "chat.disableAIFeatures": True,
    "chat.commandCenter.enabled": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "editor.hover.delay": 100,
    # the test types into a settings.json: no auto-closing or re-indenting of what it types
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.autoIndent": "none",
}
MACHINE_SETTINGS = {"sqlLsp.trace.server": "off"}
BAD_COMMAND = "/nonexistent/bin/sql-lsp"
WORKSPACE_RULES = {"select-star": "error"}  # .vscode/settings.json of the workspace
# a file the test writes into the workspace with the database: its statement gets a plan and
# an index priced by HypoPG
PLAN_FILE = "plan.sql"
PLAN_SQL = "SELECT id, total FROM orders WHERE user_id = 42;\n"
COMPLETION_FILE = "completion.sql"  # the test types the completion cases into it
REFERENCES_FILE = "references.sql"  # written with EXPECT.references_lines


def reference_counts() -> dict[str, int]:
    """How many references of users.email each file has, as the references peek lists them."""
    counts: dict[str, int] = {}
    for name, _line, _col in EXPECT.references:
        counts[str(name)] = counts.get(str(name), 0) + 1
    return counts


@pytest.fixture(scope="session")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension packaged from the current sources."""
    if not (EXTENSION / "node_modules" / ".bin" / "vsce").exists():
        pytest.fail(f"{EXTENSION}/node_modules is missing; run scripts/ensure-editors")
    out = tmp_path_factory.mktemp("vsix") / "sql-lsp.vsix"
    proc = subprocess.run(
        ["sh", str(EXTENSION / "scripts" / "package.sh"), "-o", str(out)],
        cwd=EXTENSION,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and out.is_file(), proc.stdout + proc.stderr
    with zipfile.ZipFile(out) as z:
        names = sorted(z.namelist())
    # bundled: no node_modules, one script, the server wheel
    assert [n for n in names if n.endswith(".js")] == ["extension/out/extension.js"], names
    assert [n for n in names if n.endswith(".whl")] == [
        "extension/server/sql_review_lsp-0.1.0-py3-none-any.whl"
    ], names
    assert len(names) < 20, names
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, limit_s: float = 60) -> None:
    """Poll code-server's /healthz until it answers (or the process dies, or the limit passes)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited {proc.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"code-server did not answer on {url} within {limit_s} s:\n{tail(log)}")


def output_logs(
    user_data: Path, hosts: int, last_line: str, limit_s: float = 30
) -> list[list[str]]:
    """The lines of each "SQL LSP" output channel as VS Code logged them, oldest first.

    VS Code writes these files asynchronously: wait until there is one per extension host and the
    newest holds `last_line`.
    """
    deadline = time.monotonic() + limit_s
    while True:
        files = sorted(
            user_data.glob("logs/*/exthost*/output_logging_*/*-SQL LSP.log"),
            key=lambda p: p.parent.parent.name,  # exthost1, exthost2, ...
        )
        logs = [p.read_text(encoding="utf-8").splitlines() for p in files]
        if (len(logs) == hosts and last_line in logs[-1]) or time.monotonic() > deadline:
            return logs
        time.sleep(0.2)


@pytest.fixture
def code_server(
    tools: dict[str, str],
    vsix: Path,
    project: Path,
    editor_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[dict[str, Any]]:
    """A running code-server with the extension installed, serving the fixture project."""
    out = artifacts("vscode")
    user_data, extensions = tmp_path / "user-data", tmp_path / "extensions"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(
        json.dumps(USER_SETTINGS, indent=2), encoding="utf-8"
    )
    # code-server's "Remote" settings, where machine-scoped settings such as
    # sqlLsp.server.command take effect
    (user_data / "Machine").mkdir()
    machine_settings = user_data / "Machine" / "settings.json"
    machine_settings.write_text(json.dumps(MACHINE_SETTINGS, indent=2), encoding="utf-8")
    (project / ".vscode").mkdir()
    (project / ".vscode" / "settings.json").write_text(
        json.dumps({"sqlLsp.rules": WORKSPACE_RULES}), encoding="utf-8"
    )
    port = free_port()
    config = tmp_path / "code-server.yaml"
    config.write_text(f"bind-addr: 127.0.0.1:{port}\nauth: none\ncert: false\n", encoding="utf-8")
    # no server anywhere: PATH has a Python (the base interpreter of the test's virtualenv,
    # without its bin directory), Node and the system's directories only
    python_bin = tmp_path / "python-bin"
    python_bin.mkdir()
    base = getattr(sys, "_base_executable", sys.executable)
    for name in ("python3", f"python3.{sys.version_info[1]}"):  # the extension tries both
        (python_bin / name).symlink_to(base)
    system = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    path = os.pathsep.join([str(python_bin), tools["node24_bin"], *system])
    assert shutil.which("sql-lsp", path=path) is None
    env = {
        **editor_env,
        "PATH": path,
        # Keep this environment for the extension host instead of re-reading the login shell's.
        "VSCODE_CLI": "1",
    }
    base = [
        tools["code_server"],
        "--config",
        str(config),
        "--user-data-dir",
        str(user_data),
        "--extensions-dir",
        str(extensions),
    ]
    install = subprocess.run(
        [*base, "--install-extension", str(vsix)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert "sql-lsp.sql-lsp" in "".join(p.name for p in extensions.iterdir())
    log = out / "code-server.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                *base,
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
                "--ignore-last-opened",
                str(project),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield {
            "url": url,
            "session": proc.pid,
            "machine_settings": machine_settings,
            "user_data": user_data,
            "out": out,
            "log": log,
            "env": env,
        }
    finally:
        # the extension host and the servers it started are in code-server's process group
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_vscode(
    code_server: dict[str, Any], tools: dict[str, str], project: Path, plan_database: str
) -> None:
    out: Path = code_server["out"]
    plan = {
        "playwright": tools["playwright_core"],
        "chromium": tools["chromium"],
        "url": code_server["url"],
        "folder": str(project),
        "session": code_server["session"],
        "out": str(out),
        "result": str(out / "result.json"),
        "files": [
            {"name": "queries.sql", "expect": EXPECT.queries},
            {"name": "schema.sql", "expect": EXPECT.schema},
        ],
        "hover": {"file": "queries.sql", **EXPECT.hover_word},
        "fix": {
            "file": "queries.sql",
            **EXPECT.fix_position,
            "title": EXPECT.fix_title,
            "expect_after": EXPECT.queries_after_fix,
        },
        "status_bar": "SQL LSP",
        "plan": {
            "file": PLAN_FILE,
            "path": str(project / PLAN_FILE),
            "text": PLAN_SQL,
            "settings_file": str(project / ".vscode" / "settings.json"),
            "settings": {"sqlLsp.rules": WORKSPACE_RULES, "sqlLsp.database.url": plan_database},
            "connected": "SQL LSP: database connected",
        },
        "completion": {
            "file": COMPLETION_FILE,
            "path": str(project / COMPLETION_FILE),
            "cases": [
                {"text": c["text"], "col": c["col"], "top": c["top"]} for c in EXPECT.completion
            ],
        },
        "references": {
            "file": REFERENCES_FILE,
            "path": str(project / REFERENCES_FILE),
            "lines": EXPECT.references_lines,
            **EXPECT.references_cursor,
            "files": [[name, n] for name, n in reference_counts().items()],
            "rename": {**EXPECT.rename_cursor, "new_name": EXPECT.rename_new_name},
        },
        "settings_change": {
            "file": str(project / ".vscode" / "settings.json"),
            "settings": {"sqlLsp.rules": {**WORKSPACE_RULES, "function-on-indexed-column": "off"}},
            "expect": [],
        },
        "bad_command": {
            "settings_file": str(code_server["machine_settings"]),
            "marker": next(iter(MACHINE_SETTINGS)),
            "settings": {**MACHINE_SETTINGS, "sqlLsp.server.command": [BAD_COMMAND]},
        },
    }
    (out / "plan.json").write_text(json.dumps(plan, indent=2), encoding="utf-8")
    proc = subprocess.run(
        [tools["node24"], str(E2E), str(out / "plan.json")],
        env=code_server["env"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    (out / "e2e-output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    result_file = out / "result.json"
    assert result_file.is_file(), f"{proc.stdout}\n{proc.stderr}\n{tail(code_server['log'])}"
    rec: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    assert rec["errors"] == [], dump(rec)

    severity = WORKSPACE_RULES

    def problems(rows: list[dict[str, Any]]) -> list[tuple[int, int, str, str, str]]:
        # the Problems panel shows 1-based lines and columns
        return [(p["line"] - 1, p["col"] - 1, p["code"], p["severity"], p["source"]) for p in rows]

    def want(found: list[list[Any]]) -> list[tuple[int, int, str, str, str]]:
        return [
            (line, col, code, severity.get(code, "warning"), "sql-lsp") for line, col, code in found
        ]

    # 1. Problems entries (rule ids, lines, severities) and squiggles
    queries = rec["files"]["queries.sql"]
    assert problems(queries["problems"]) == want(EXPECT.queries)
    assert queries["toasts"] == [] and rec["files"]["schema.sql"]["toasts"] == []
    assert queries["squiggles"] == sorted(
        ({"kind": severity.get(code, "warning"), "line": line} for line, _, code in EXPECT.queries),
        key=lambda s: (s["line"], s["kind"]),
    )
    schema = rec["files"]["schema.sql"]
    assert problems(schema["problems"]) == want(EXPECT.schema)
    assert schema["squiggles"] == [
        {"kind": "warning", "line": line} for line, _, _ in EXPECT.schema
    ]

    # 2. the hover, rendered
    assert rec["hover"] is not None, dump(rec["steps"])
    assert rec["hover"]["text"] == EXPECT.hover_rendered["text"]
    assert rec["hover"]["strong"] == EXPECT.hover_rendered["strong"]
    assert rec["hover"]["code"] == EXPECT.hover_rendered["code"]
    assert rec["hover"]["tables"] == EXPECT.hover_rendered["tables"]

    # 3. the quick fix from the Ctrl+. menu
    assert rec["fix"]["menu"] == EXPECT.fix_menu
    assert "\n".join(rec["fix"]["text"]) == EXPECT.fixed_text
    assert problems(rec["fix"]["problems"]) == want(EXPECT.queries_after_fix)

    # 4. the extension's commands
    assert [t["message"] for t in rec["refresh"]] == [f"SQL LSP: {EXPECT.refresh_result}"]
    assert rec["logs_shown"] is True
    failures = rec["bad_command"]  # every notification shown after clearing them
    assert len(failures) == 1, dump(failures)
    [log] = output_logs(code_server["user_data"], 1, failures[0]["message"])
    # first start: the extension made its environment in its global storage, from the wheel
    # it bundles, and started the server from there
    [env_dir] = code_server["user_data"].glob("User/globalStorage/sql-lsp.sql-lsp/server-env")
    command = f"{env_dir / 'bin' / 'sql-lsp'} --stdio"
    python = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    assert log[0].startswith(f"Creating the server environment {env_dir} with "), log[:3]
    assert log[0].endswith(f"(Python {'.'.join(map(str, sys.version_info[:3]))}).")
    assert Path(log[0].split(" with ", 1)[1].split(" (Python")[0]).resolve() == python
    wheel = "sql_review_lsp-0.1.0-py3-none-any.whl"
    assert log[1].startswith("Installing ") and log[1].endswith(f"{wheel} into {env_dir}."), log[1]
    started = log.index(f"Starting the server (managed environment): {command}")
    assert log[started - 1] == f"Installed sql-review-lsp 0.1.0 in {env_dir}."
    assert log[started + 1] == f"Server running: {command}"
    # the progress notification while it was set up; nothing to tell the user after it
    assert rec["setup_progress"], dump(rec["steps"])
    # the project holds only what the test put there and the edits (no log file)
    assert sorted(p.name for p in project.iterdir()) == sorted(
        [
            ".vscode",
            COMPLETION_FILE,
            REFERENCES_FILE,
            PLAN_FILE,
            "queries.sql",
            "report.sql",
            "schema.sql",
            "sql-lsp.toml",
        ]
    )
    # the status bar: server running, no database
    assert rec["status"]["start"] == ["SQL LSP: database off"], dump(rec["status"])

    # 5. a crashed server is restarted without bothering the user
    assert rec["crash"]["before"] == 1
    assert rec["crash"]["restarted"] is True
    assert problems(rec["crash"]["problems"]) == want(EXPECT.queries_after_fix)
    assert [t["message"] for t in rec["crash"]["toasts"]] == [f"SQL LSP: {EXPECT.refresh_result}"]
    assert "The server stopped unexpectedly; restarting it (1/4)." in log

    # 6. workspace settings changed while the server runs
    assert rec["settings_change"]["problems"] == []
    assert problems(rec["settings_change"]["schema"]) == want(EXPECT.schema)

    # 7. a server that cannot start: one message, with the command
    assert failures[0]["message"] == (
        f"SQL LSP: could not start the language server with `{BAD_COMMAND} --stdio`: "
        f"{BAD_COMMAND} was not found. "
        "Leave sqlLsp.server.command empty to let the extension install the server, or set it "
        'to a sql-lsp installed with "pip install sql-review-lsp".'
    )
    assert failures[0]["buttons"] == ["Show Logs", "Open Settings", "Restart Server"]
    assert rec["bad_command_file"]["sqlLsp.server.command"] == [BAD_COMMAND]
    # changing the setting restarted the server with the new command
    restart = log.index(
        f"Starting the server (setting sqlLsp.server.command): {BAD_COMMAND} --stdio"
    )
    assert failures[0]["message"] in log[restart:]

    # 8. with a database the status bar says so, and "Explain Statement" opens the plan view:
    # a tree with cost bars, the costliest node highlighted, and the HypoPG-priced index of
    # seq-scan-on-large-table with the plans before and after side by side
    assert rec["status"]["connected"] == ["SQL LSP: database connected"], dump(rec["status"])
    assert rec["status"]["stopped"] == ["SQL LSP"], dump(rec["status"])
    view = rec["plan"]
    assert view is not None, dump(rec["steps"])
    assert view["headings"][0] == "EXPLAIN"
    assert view["statement"][0] == PLAN_SQL.strip().rstrip(";")
    main = view["sections"][0]
    assert main["heading"] == "Plan"
    assert main["labels"] == ["Seq Scan on orders"], dump(view)
    assert main["costliest"] == ["Seq Scan on orders"]
    assert main["bars"] == 1
    assert re.fullmatch(
        r"Create index on orders \(user_id\) — cost [\d.]+ → [\d.]+", view["whatif"]["title"]
    )
    before, after = view["sections"][1:]
    assert (before["heading"], after["heading"]) == ("Before", "With the index")
    assert before["labels"] == ["Seq Scan on orders"]
    assert len(after["labels"]) >= 1 and "btree_orders_user_id" in " ".join(after["labels"])
    assert (out / "7-plan-view.png").is_file()

    # 9. completion in the suggest widget: `SELECT u.` offers users' columns, `FROM us` offers
    # users, `JOIN orders o ON ` the join condition from the foreign key; Enter inserts the first
    assert rec["completion"] == [
        {"text": c["text"], "labels": c["top"], "applied": c["applied"]} for c in EXPECT.completion
    ], dump(rec["steps"])
    for n in range(1, len(EXPECT.completion) + 1):
        assert (out / f"8-completion-{n}.png").is_file()

    # 10. references of users.email in the peek: the index and the queries of references.sql, the
    # queries of queries.sql, the DDL of schema.sql; rename of a CTE edits every use
    assert sorted(map(tuple, rec["references"]["files"])) == sorted(
        reference_counts().items()
    ), dump(rec["steps"])
    assert rec["rename"] == [*EXPECT.renamed, ""], dump(rec["steps"])  # the file ends in a newline
