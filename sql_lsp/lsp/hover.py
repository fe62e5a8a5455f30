"""Hover: the findings at the cursor, the symbol's documentation, and the plan of the statement
when a database is configured."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from sql_lsp.database import Failure, Problem
from sql_lsp.document import Document
from sql_lsp.explain.whatif import with_cost
from sql_lsp.lsp import convert, plans
from sql_lsp.navigation import findings_markdown, hover_markdown, symbol_at

if TYPE_CHECKING:
    from sql_lsp.lsp.server import SqlLanguageServer


async def hover_at(ls: SqlLanguageServer, params: T.HoverParams) -> T.Hover | None:
    key = ls.key(params.text_document.uri)
    doc = ls.project.document(key)
    if doc is None:
        return None
    enc = ls.encoding
    offset = doc.lines.offset(params.position.line, params.position.character, enc)
    catalog = ls.project.catalog
    parts: list[str] = []
    span: tuple[int, int] | None = None
    here = [f for f in ls.findings_for(key) if f.start <= offset <= f.end]
    if here:
        parts.append(findings_markdown(here))
        span = (min(f.start for f in here), max(f.end for f in here))
    symbol = symbol_at(doc, offset, catalog)
    if symbol is not None:
        text = hover_markdown(symbol, catalog, ls.project.locate)
        if text:
            parts.append(text)
            span = span or (symbol.start, symbol.end)
    stmt = doc.statement_at(offset)
    if plans.explainable(stmt) and (symbol is None or symbol.kind != "rule"):
        assert stmt is not None
        parts += await _plan_parts(ls, key, doc, stmt, offset)
        span = span or (stmt.start, stmt.end)
    if not parts:
        return None
    return convert.hover(ls.redactor("\n\n---\n\n".join(parts)), doc, span, enc)


async def _plan_parts(
    ls: SqlLanguageServer, key: str, doc: Document, stmt: Any, offset: int
) -> list[str]:
    """The database's part of a hover: HypoPG costs of the index fixes here and the estimated
    plan (never EXPLAIN ANALYZE), within `explain.hoverBudgetMs`; past it, one line saying why
    there is no plan. Waits (within the budget) for the settings when they are still being
    fetched, so a hover right after opening a file knows whether there is a database."""
    budget_ms = ls.project.config.explain.hover_budget_ms
    parts: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_ms / 1000
    if not ls.config_ready.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                await ls.config_ready.wait()
    live = ls.live
    if live is None:
        if not ls.config_ready.is_set():
            return [f"**EXPLAIN** — the settings are still being read (waited {budget_ms} ms)"]
        return []
    config = ls.project.config
    seq_rows = int(config.rule("seq-scan-on-large-table").options.get("min_rows") or 10_000)
    try:
        async with asyncio.timeout_at(deadline):
            if key in ls.project.open:  # what HypoPG says about the index fixes here
                for f in ls.findings_for(key):
                    if f.start <= offset <= f.end and f.fix is not None:
                        result, _ = await ls.what_if(doc, f, f.fix)
                        if result is not None:
                            parts.append(f"**{f.rule}**: {with_cost(f.fix.title, result)}")
            explained = await live.explain(stmt.text)
    except TimeoutError:
        outage = live.db.current_failure()
        why = f": {outage.message}" if outage is not None else ""
        explained = Failure(
            Problem.TIMEOUT,
            f"no answer from the database within {budget_ms} ms (explain.hoverBudgetMs){why}",
        )
    parts.append(plans.plan_markdown(explained, seq_rows))
    return parts
