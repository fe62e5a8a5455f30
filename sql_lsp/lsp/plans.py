"""Database features of the language server: plan hovers, code lenses, the explain command and
HypoPG costs in fix titles. LSP-facing glue over `sql_lsp.live` and `sql_lsp.explain`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from sql_lsp.database import Failure
from sql_lsp.document import Document, Statement
from sql_lsp.explain import render
from sql_lsp.explain.run import Explained, check_statement
from sql_lsp.rules.base import Finding, Fix

CMD_EXPLAIN = "sql-lsp.explain"
# statements planned per document on open/save for the plan-based rules (a generated file of
# thousands of queries must not flood the database)
MAX_PLANNED = 500
# statements worth a plan: queries and DML (DDL and utility commands have none)
_EXPLAINABLE = (exp.Select, exp.SetOperation, exp.Insert, exp.Update, exp.Delete, exp.Merge)
_CREATE_INDEX = re.compile(r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*", re.IGNORECASE)
# rules whose fix creates an index, and which statement the index should speed up
INDEX_RULES = frozenset(
    {"function-on-indexed-column", "missing-fk-index", "seq-scan-on-large-table"}
)


def explainable(stmt: Statement | None) -> bool:
    """A query or DML statement that parsed: something EXPLAIN has a plan for."""
    return (
        stmt is not None
        and stmt.kind == "sql"
        and stmt.parsed is not None
        and stmt.parsed.error is None
        and isinstance(stmt.parsed.tree, _EXPLAINABLE)
    )


def analyzable(stmt: Statement, dialect: str) -> bool:
    """A plain query that EXPLAIN ANALYZE may run (never DML, DDL or data-modifying CTEs)."""
    checked = check_statement(stmt.text, dialect)
    return not isinstance(checked, Failure) and checked.analyze_refusal is None


def plan_markdown(result: Explained | Failure, seq_scan_rows: int) -> str:
    """The hover text for a plan, or the one-line reason there is none."""
    if isinstance(result, Failure):
        return render.failure_markdown(result)
    return render.hover_markdown(result, seq_scan_rows=seq_scan_rows)


@dataclass(frozen=True)
class IndexFix:
    """A fix that creates an index, with the statement whose plan it should improve."""

    fix: Fix
    create_index: str  # the CREATE INDEX statement of the fix, without `;`
    target_sql: str  # the statement to price with and without the index


def index_fix(doc: Document, finding: Finding, fix: Fix) -> IndexFix | None:
    """The index a fix creates and what to price it against, or None for other fixes."""
    if finding.rule not in INDEX_RULES:
        return None
    created = next((m for e in fix.edits if (m := _CREATE_INDEX.search(e.text))), None)
    if created is None:
        return None
    create_index = created.group(0).strip()
    if finding.rule == "missing-fk-index":
        target = fk_lookup_query(create_index)
    else:
        stmt = doc.statement_at(finding.start)
        target = stmt.text if explainable(stmt) else None
    if not target:
        return None
    return IndexFix(fix, create_index, target)


_INDEX_ON = re.compile(
    r"\bON\s+(?:ONLY\s+)?(?P<table>[^\s(]+)\s*(?:USING\s+\w+\s*)?\((?P<cols>[^)]*)\)",
    re.IGNORECASE,
)


def fk_lookup_query(create_index: str) -> str | None:
    """What the database runs for every deleted or updated parent row of a foreign key: a lookup
    of the referencing rows by the key columns (`SELECT 1 FROM orders WHERE user_id = $1`)."""
    m = _INDEX_ON.search(create_index)
    if m is None:
        return None
    cols = [c.strip() for c in m.group("cols").split(",") if c.strip()]
    if not cols:
        return None
    where = " AND ".join(f"{c} = ${i}" for i, c in enumerate(cols, 1))
    return f"SELECT 1 FROM {m.group('table')} WHERE {where}"


def plan_file(uri: str, start_line: int, markdown: str) -> Path:
    """Write a plan document where the client can open it (`window/showDocument`), in a
    directory only this user can read (`plan_directory`), never following a symbolic link:
    an earlier file of the same name is unlinked and the new one created with
    `O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600. Raises OSError when it cannot."""
    folder = plan_directory()
    name = Path(uri).stem or "statement"
    name = re.sub(r"[^\w.-]", "_", name)[:80] or "statement"
    digest = hashlib.sha1(f"{uri}:{start_line}".encode()).hexdigest()[:8]
    filename = f"{name}-line{start_line + 1}-{digest}.md"
    data = markdown.encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    if os.open in os.supports_dir_fd and os.unlink in os.supports_dir_fd:
        dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW)
        try:
            _check_private(os.fstat(dfd), folder)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(filename, dir_fd=dfd)
            fd = os.open(filename, flags, 0o600, dir_fd=dfd)
        finally:
            os.close(dfd)
    else:  # no *at() calls here (Windows): the folder was checked when it was made
        path = folder / filename
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return folder / filename


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def plan_directory() -> Path:
    """The per-user directory for plan documents: `$XDG_RUNTIME_DIR/sql-lsp` when that is a
    private directory of this user, else `<tempdir>/sql-lsp-<uid>`; created with mode 0700
    and verified to be a real directory (not a symbolic link) owned by this user and closed to
    everyone else. When the expected one is not (another user made it first), a fresh
    `tempfile.mkdtemp` directory is made instead."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    candidates = []
    if runtime:
        with contextlib.suppress(OSError):
            _check_private(os.lstat(runtime), Path(runtime))
            candidates.append(Path(runtime) / "sql-lsp")
    candidates.append(Path(tempfile.gettempdir()) / f"sql-lsp-{uid}")
    for folder in candidates:
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, 0o700)
            _check_private(os.lstat(folder), folder)
            return folder
        except OSError:
            continue
    # taken by someone else: a fresh private directory (mkdtemp makes it 0700, never reused)
    return Path(tempfile.mkdtemp(prefix="sql-lsp-plans-"))


def _check_private(st: os.stat_result, folder: Path) -> None:
    """Raise PermissionError unless `st` is a directory of this user that nobody else may
    read, write or enter."""
    if not stat.S_ISDIR(st.st_mode):
        raise PermissionError(f"{folder} is not a directory")
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
        raise PermissionError(f"{folder} is not private to this user")
