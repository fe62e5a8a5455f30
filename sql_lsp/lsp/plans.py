"""Database features of the language server: plan hovers, code lenses, the explain command and
HypoPG costs in fix titles. LSP-facing glue over `sql_lsp.live` and `sql_lsp.explain`.
"""

from __future__ import annotations

import hashlib
import re
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
    """Write a plan document where the client can open it (`window/showDocument`)."""
    folder = Path(tempfile.gettempdir()) / "sql-lsp-plans"
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(uri).stem or "statement"
    digest = hashlib.sha1(f"{uri}:{start_line}".encode()).hexdigest()[:8]
    path = folder / f"{name}-line{start_line + 1}-{digest}.md"
    path.write_text(markdown, encoding="utf-8")
    return path
