"""What each entry point imports: nothing heavy until it is needed (psycopg only with a
database, the LSP stack only for the server, sqlglot only when something is parsed).

Each case runs in a fresh interpreter and reports the top-level packages it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("psycopg", "psycopg_pool", "sqlglot", "pygls", "lsprotocol", "cattrs")

PROBE = """
import json, sys
code = None
{body}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
sys.stdout.write("\\n" + json.dumps({{"code": code, "loaded": loaded}}) + "\\n")
"""


def loaded_by(body: str, cwd: Path) -> tuple[int | None, list[str], str]:
    """Run `body` in a fresh interpreter; its exit code, the heavy packages it loaded, its
    output before the report."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SQL_LSP_DATABASE_URL", "DATABASE_URL") and not k.startswith("PG")
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body, heavy=HEAVY)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out, _, report = proc.stdout.rstrip("\n").rpartition("\n")
    data = json.loads(report)
    return data["code"], data["loaded"], out.removesuffix("\n")  # the report's own newline


def test_importing_the_command_line_loads_nothing_heavy(tmp_path: Path) -> None:
    assert loaded_by("import sql_lsp.cli", tmp_path)[1] == []


def test_version_loads_nothing_heavy(tmp_path: Path) -> None:
    import sql_lsp

    body = "from sql_lsp.cli import main\ncode = main(['--version'])"
    code, loaded, out = loaded_by(body, tmp_path)
    assert (code, loaded, out) == (0, [], sql_lsp.version_line())


@pytest.mark.parametrize("args", [["rules"], ["rule", "select-star"]])
def test_rules_need_neither_the_database_driver_nor_the_lsp_stack(
    tmp_path: Path, args: list[str]
) -> None:
    code, loaded, _ = loaded_by(f"from sql_lsp.cli import main\ncode = main({args!r})", tmp_path)
    assert (code, loaded) == (0, ["sqlglot"])


def test_an_offline_check_needs_neither_the_database_driver_nor_the_lsp_stack(
    tmp_path: Path,
) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "q.sql").write_text("SELECT * FROM t;\n")
    body = "from sql_lsp.cli import main\ncode = main(['check', 'q.sql'])"
    code, loaded, out = loaded_by(body, tmp_path)
    assert (code, loaded) == (1, ["sqlglot"])
    assert out.startswith("q.sql:1:8: warning select-star ")


def test_a_check_with_a_database_loads_the_driver(tmp_path: Path) -> None:
    """The probe sees psycopg when it is needed (and the database is down: a warning)."""
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "q.sql").write_text("SELECT 1;\n")
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    body = (
        f"from sql_lsp.cli import main\ncode = main(['check', '--database-url', {url!r}, 'q.sql'])"
    )
    code, loaded, _ = loaded_by(body, tmp_path)
    assert code == 0
    assert "psycopg" in loaded
    assert "pygls" not in loaded


def test_the_server_loads_the_lsp_stack_but_no_database_driver(tmp_path: Path) -> None:
    """The probe sees what a module loads (the server needs pygls and lsprotocol). Without a
    database, neither the server module nor a server and its project load psycopg (150 ms
    of each start)."""
    body = (
        "from sql_lsp.lsp.server import SqlLanguageServer\n"
        "server = SqlLanguageServer()\n"
        "server.project.open_document('file:///q.sql', 'SELECT * FROM t;', 1)\n"
        "code = len(server.project.lint('file:///q.sql'))"
    )
    code, loaded, _ = loaded_by(body, tmp_path)
    assert code == 1
    assert {"pygls", "lsprotocol", "sqlglot"} <= set(loaded)
    assert "psycopg" not in loaded and "psycopg_pool" not in loaded


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_a_server_started_without_a_database_loads_no_database_driver(tmp_path: Path) -> None:
    """initialize, initialized (settings read, database state announced), a document opened,
    shutdown: no psycopg on the way."""
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "q.sql").write_text("SELECT * FROM t;\n")
    init = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
    doc = {"uri": (tmp_path / "q.sql").as_uri(), "languageId": "sql", "version": 1}
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {"textDocument": {**doc, "text": "SELECT * FROM t;\n"}},
        },
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    (tmp_path / "in.bin").write_bytes(b"".join(frame(m) for m in messages))
    body = (
        "import os\n"
        "os.dup2(os.open('in.bin', os.O_RDONLY), 0)\n"
        "from sql_lsp.cli import main\n"
        "code = main(['serve'])"
    )
    code, loaded, out = loaded_by(body, tmp_path)
    assert code == 0
    assert '"no database configured"' in out
    assert not {"psycopg", "psycopg_pool"} & set(loaded)
    assert {"pygls", "lsprotocol"} <= set(loaded)


def test_a_check_answered_from_the_cache_loads_no_parser(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "q.sql").write_text("SELECT * FROM t;\n")
    body = "from sql_lsp.cli import main\ncode = main(['check', 'q.sql'])"
    first = loaded_by(body, tmp_path)
    assert first[:2] == (1, ["sqlglot"])
    assert loaded_by(body, tmp_path) == (1, [], first[2])
