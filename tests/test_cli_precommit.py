"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real `pre-commit` in a throwaway repo.

The hook repository is a snapshot of this checkout (tracked and untracked files, as
`pre-commit try-repo` does) committed into a temporary git repository; a second temporary
repository uses it from `.pre-commit-config.yaml`, exactly as a user's project would. pre-commit
installs the hooks' environment itself (`pip install` of the snapshot, dependencies from the
package index), once for the module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import SCHEMA

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this checkout as it is now; (path, commit)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    files = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file() and not rel.startswith(("editors/", "benchmarks/", "tests/")):
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot")
    return repo, git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit's cache (the hook environments), shared by this module's tests."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A user's repository using both hooks, with staged SQL files."""
    repo, rev = hook_repo
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "queries.sql").write_text("SELECT * FROM users;\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("not SQL: SELECT * FROM users;\n", encoding="utf-8")
    (tmp_path / ".pre-commit-config.yaml").write_text(
        f"repos:\n"
        f"  - repo: {repo.as_uri()}\n"
        f"    rev: {rev}\n"
        f"    hooks:\n"
        f"      - id: sql-lsp-fix\n"
        f"      - id: sql-lsp\n",
        encoding="utf-8",
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PG", "SQL_LSP_", "PRE_COMMIT"))
    }
    env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    yield tmp_path, env


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PRE_COMMIT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hooks_fix_then_check(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    proc = pre_commit(root, env, "run", "--all-files", "--color", "never")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    # the fix hook changed the files (pre-commit fails the run for that) ...
    assert (root / "queries.sql").read_text(encoding="utf-8") == (
        "SELECT id, email, name FROM users;\n"
    )
    assert (root / "db" / "schema.sql").read_text(encoding="utf-8") == (
        SCHEMA + "CREATE INDEX orders_user_id_idx ON orders (user_id);\n"
    )
    assert (root / "README.md").read_text(encoding="utf-8") == "not SQL: SELECT * FROM users;\n"
    lines = out.splitlines()
    assert any(line.startswith("sql-lsp (fix)") and line.endswith("Failed") for line in lines)
    assert "- files were modified by this hook" in out
    assert "fixed 1 in queries.sql: select-star" in out
    # ... and the check hook found nothing left
    assert any(line.startswith("sql-lsp...") and line.endswith("Passed") for line in lines), out

    # a finding without a safe fix: the check hook fails with the finding, exit 1
    (root / "queries.sql").write_text(
        "SELECT id FROM users WHERE lower(email) = 'a@b.c';\n", encoding="utf-8"
    )
    git(root, "add", "-A")
    proc = pre_commit(root, env, "run", "--all-files", "--color", "never")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "queries.sql:1:28: warning function-on-indexed-column users.email" in out
    assert any(
        line.startswith("sql-lsp...") and line.endswith("Failed") for line in out.splitlines()
    )

    # fixed by hand: both hooks pass
    (root / "queries.sql").write_text(
        "SELECT id FROM users WHERE email = 'a@b.c';\n", encoding="utf-8"
    )
    git(root, "add", "-A")
    proc = pre_commit(root, env, "run", "--all-files", "--color", "never")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hooks_respect_exclude(project: tuple[Path, dict[str, str]]) -> None:
    """pre-commit names the files; `exclude` in the settings file still applies to them."""
    root, env = project
    (root / "pyproject.toml").write_text(
        '[tool.sql-lsp]\nexclude = ["queries.sql"]\n', encoding="utf-8"
    )
    git(root, "add", "-A")
    proc = pre_commit(root, env, "run", "sql-lsp", "--files", "queries.sql", "--color", "never")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "queries.sql").read_text(encoding="utf-8") == "SELECT * FROM users;\n"
