"""Plan documents (the explain command's `"open": true`) are written where only this user can
read them, and never through a symbolic link another local user planted."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from sql_lsp.lsp import plans

URI = "file:///work/app/queries.sql"


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A world-writable temporary directory like /tmp, used as the temp dir; no
    XDG_RUNTIME_DIR."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return shared


def _private(folder: Path) -> bool:
    st = os.lstat(folder)
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o777 == 0o700


def test_plans_go_to_a_private_directory(shared_tmp: Path) -> None:
    path = plans.plan_file(URI, 0, "# EXPLAIN\n")
    assert path.parent == shared_tmp / f"sql-lsp-{os.getuid()}"
    assert _private(path.parent)
    assert path.name.startswith("queries-line1-") and path.suffix == ".md"
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    assert path.read_text() == "# EXPLAIN\n"
    # the same statement again: the file is replaced
    assert plans.plan_file(URI, 0, "# EXPLAIN ANALYZE\n") == path
    assert path.read_text() == "# EXPLAIN ANALYZE\n"


def test_xdg_runtime_dir_is_preferred(shared_tmp: Path, tmp_path: Path, monkeypatch) -> None:
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert plans.plan_file(URI, 4, "x").parent == runtime / "sql-lsp"


def test_a_planted_symlink_for_the_directory_is_not_followed(
    shared_tmp: Path, tmp_path: Path
) -> None:
    attacker = tmp_path / "attacker"
    attacker.mkdir(mode=0o777)
    (shared_tmp / f"sql-lsp-{os.getuid()}").symlink_to(attacker)
    path = plans.plan_file(URI, 0, "secret plan")
    assert list(attacker.iterdir()) == []
    assert _private(path.parent) and path.parent.parent == shared_tmp
    assert path.parent.name.startswith("sql-lsp-plans-")  # a fresh mkdtemp directory
    assert path.read_text() == "secret plan"


def test_a_directory_others_may_enter_is_not_used(shared_tmp: Path) -> None:
    open_dir = shared_tmp / f"sql-lsp-{os.getuid()}"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    path = plans.plan_file(URI, 0, "secret plan")
    assert path.parent != open_dir and _private(path.parent)
    assert list(open_dir.iterdir()) == []


def test_a_directory_of_another_user_is_not_used(shared_tmp: Path) -> None:
    if os.geteuid() != 0:  # only root can make a directory owned by someone else
        pytest.fail("run the test suite as root (CI does): this attack needs chown")
    theirs = shared_tmp / f"sql-lsp-{os.getuid()}"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    path = plans.plan_file(URI, 0, "secret plan")
    assert path.parent != theirs and _private(path.parent)


def test_a_planted_symlink_for_the_file_is_not_followed(shared_tmp: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    first = plans.plan_file(URI, 0, "plan")
    first.unlink()
    first.symlink_to(victim)  # as if planted between two runs
    assert plans.plan_file(URI, 0, "new plan") == first
    assert victim.read_text() == "precious"
    assert not first.is_symlink() and first.read_text() == "new plan"


def test_the_old_shared_path_is_never_written(shared_tmp: Path, tmp_path: Path) -> None:
    """What used to be the path: <tmp>/sql-lsp-plans/<name>-line1-<hash>.md."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    old = shared_tmp / "sql-lsp-plans"
    old.mkdir(mode=0o777)
    path = plans.plan_file(URI, 0, "plan")
    (old / path.name).symlink_to(victim)
    plans.plan_file(URI, 0, "plan again")
    assert victim.read_text() == "precious"
