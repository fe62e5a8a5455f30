"""Rename in a new migration in real headless Neovim 0.11, with editors/nvim/lsp/sql_lsp.lua:
the refactor code action asks for the new name, creates the next migration and renames the uses
outside the old migrations."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from editor_support import REPO, artifacts, tail

SCRIPT = Path(__file__).parent / "nvim" / "migration_rename.lua"
USERS = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"
QUERIES = "SELECT u.email FROM users u;\n"


def test_neovim_renames_a_column_in_a_new_migration(
    tools: dict[str, str], editor_env: dict[str, str], tmp_path: Path
) -> None:
    out = artifacts("nvim0.11-migration-rename")
    project = tmp_path / "project"
    (project / "db").mkdir(parents=True)
    (project / "sql-lsp.toml").write_text("")
    (project / "db" / "0001_users.sql").write_text(USERS)
    (project / "queries.sql").write_text(QUERIES)
    new_path = project / "db" / "0002_rename_users_email_to_address.sql"
    plan = {
        "rtp": str(REPO / "editors" / "nvim"),
        "path": str(project / "queries.sql"),
        "line": 0,
        "col": QUERIES.index("email") + 1,
        "title": "Rename column users.email in a new migration…",
        "new_name": "address",
        "new_path": str(new_path),
        "result": str(out / "result.json"),
    }
    (out / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    proc = subprocess.run(
        [tools["nvim011"], "--headless", "--clean", "-c", f"luafile {SCRIPT}"],
        env={**editor_env, "SQL_LSP_E2E": str(out / "plan.json")},
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = Path(editor_env["XDG_STATE_HOME"]) / "nvim" / "lsp.log"
    assert (out / "result.json").is_file(), f"{proc.stdout}\n{proc.stderr}\n{tail(log)}"
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["errors"] == [], f"{result}\n{tail(log)}"
    assert result["offered"] == [plan["title"]]
    assert result["prompts"] == [{"prompt": "New name: ", "default": "email"}]
    assert result["lines"] == ["SELECT u.address FROM users u;"]
    # Neovim shows the inserted text in the new (empty) buffer, plus its last empty line
    assert result["new_lines"] == ["ALTER TABLE users RENAME COLUMN email TO address;", ""]
    assert sorted(result["on_disk"]) == ["0001_users.sql", new_path.name]
    assert (project / "db" / "0001_users.sql").read_text() == USERS  # history untouched
