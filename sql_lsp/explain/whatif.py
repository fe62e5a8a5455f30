""" "What if this index existed?" — price a CREATE INDEX with HypoPG before anyone builds it.

HypoPG (https://hypopg.readthedocs.io) adds hypothetical indexes that only the planner of the
current session sees. `what_if` plans a statement, creates the hypothetical index, plans again
and reports both costs and whether the new plan uses the index. It all happens in one safe
session (read-only transaction, timeouts, rolled back; see `explain.run`), and HypoPG's state is
reset afterwards because hypothetical indexes are neither transactional nor visible to other
sessions. HypoPG only affects plain EXPLAIN, never EXPLAIN ANALYZE.

Use `worth_it(result, min_improvement_percent)` to decide whether to offer the index, and
`format_title` / `with_cost` to put the cost change in a fix title:
"Create index on orders (user_id) — cost 7771 → 23.6".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from sql_lsp.database import Database, DatabaseError, Failure, Lane, Problem
from sql_lsp.explain.plan import Plan, parse_plan
from sql_lsp.explain.render import format_cost, plan_view
from sql_lsp.explain.run import Checked, check_statement, safe_session
from sql_lsp.statements import parse, split

if TYPE_CHECKING:  # imported when a database is used
    import psycopg


@dataclass(frozen=True)
class WhatIf:
    """The cost of a statement without and with one hypothetical index."""

    create_index: str  # the CREATE INDEX statement that was priced
    cost_before: float
    cost_after: float
    index_used: bool  # the plan with the hypothetical index uses it
    hypothetical_name: str  # HypoPG's name for it, e.g. "<13556>btree_orders_user_id"
    plan_before: Plan
    plan_after: Plan

    @property
    def improvement_percent(self) -> float:
        """How much the index cuts the estimated cost, in percent (negative: it got worse)."""
        if self.cost_before <= 0:
            return 0.0
        return (self.cost_before - self.cost_after) / self.cost_before * 100.0


def worth_it(result: WhatIf, min_improvement_percent: float) -> bool:
    """True when the plan uses the index and it cuts the cost by at least the given percent."""
    return result.index_used and result.improvement_percent >= min_improvement_percent


def cost_change(result: WhatIf) -> str:
    """`cost 7771 → 23.6`."""
    return f"cost {format_cost(result.cost_before)} → {format_cost(result.cost_after)}"


def with_cost(title: str, result: WhatIf) -> str:
    """A fix title with the cost change appended: `<title> — cost 7771 → 23.6`."""
    return f"{title} — {cost_change(result)}"


def format_title(table: str, keys: str | Sequence[str], result: WhatIf) -> str:
    """`Create index on orders (user_id) — cost 7771 → 23.6`."""
    key_text = keys if isinstance(keys, str) else ", ".join(keys)
    return with_cost(f"Create index on {table} ({key_text})", result)


def title_with_cost(title: str | None, result: WhatIf) -> str:
    """`title` with the cost change once (a fix title may carry it already), or the cost
    change alone."""
    if not title:
        return cost_change(result)
    return title if " — cost " in title else with_cost(title, result)


def what_if_view(result: WhatIf, title: str | None = None) -> dict[str, Any]:
    """A priced index as plain data for a client that draws it: both plans (`plan_view`) and
    the cost change."""
    return {
        "title": title_with_cost(title, result),
        "create_index": result.create_index,
        "cost_before": result.cost_before,
        "cost_after": result.cost_after,
        "improvement_percent": result.improvement_percent,
        "index_used": result.index_used,
        "before": plan_view(result.plan_before),
        "after": plan_view(result.plan_after),
    }


def check_create_index(text: str, dialect: str = "postgres") -> str | Failure:
    """The single CREATE INDEX statement in `text` (without `;`), or why it is refused."""
    spans = split(text, dialect)
    if len(spans) != 1 or spans[0].kind != "sql" or spans[0].issue is not None:
        return Failure(Problem.NOT_ALLOWED, "expected exactly one CREATE INDEX statement")
    stmt = text[spans[0].start : spans[0].end]
    tree = parse(stmt, dialect).tree
    if not (isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "INDEX"):
        return Failure(Problem.NOT_ALLOWED, "expected a CREATE INDEX statement")
    return stmt


async def hypopg_version(conn: psycopg.AsyncConnection) -> str | None:
    """The version of the HypoPG extension installed in the connection's database, or None."""
    cur = await conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'hypopg'", binary=True
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None


async def what_if_on(
    conn: psycopg.AsyncConnection,
    sql: str,
    create_indexes: Sequence[str],
    *,
    statement_timeout_ms: int = 2000,
    lock_timeout_ms: int = 500,
    dialect: str = "postgres",
) -> list[WhatIf]:
    """Price each CREATE INDEX of `create_indexes` for `sql` on `conn`, one at a time (each
    hypothetical index is dropped before the next is tried). Raises DatabaseError when a
    statement is refused, and psycopg errors as they come."""
    checked = check_statement(sql, dialect)
    if isinstance(checked, Failure):
        raise DatabaseError(checked)
    indexes: list[str] = []
    for text in create_indexes:
        stmt = check_create_index(text, dialect)
        if isinstance(stmt, Failure):
            raise DatabaseError(stmt)
        indexes.append(stmt)
    results: list[WhatIf] = []
    async with safe_session(
        conn, statement_timeout_ms=statement_timeout_ms, lock_timeout_ms=lock_timeout_ms
    ) as session:
        before = parse_plan(await session.explain(checked))
        for stmt in indexes:
            session.used_hypopg = True
            cur = await session.execute(
                "SELECT indexrelid, indexname FROM hypopg_create_index(%s)", [stmt]
            )
            row = await cur.fetchone()
            if row is None:
                raise DatabaseError(Failure(Problem.ERROR, "HypoPG created no index"))
            oid, name = int(row[0]), str(row[1])
            after = parse_plan(await session.explain(checked))
            await session.execute("SELECT hypopg_drop_index(%s)", [oid])
            used = any(node.index == name for _, node in after.nodes())
            results.append(
                WhatIf(stmt, before.total_cost, after.total_cost, used, name, before, after)
            )
    return results


async def what_if_many(
    db: Database,
    sql: str,
    create_indexes: Sequence[str],
    *,
    dialect: str = "postgres",
    lane: Lane = Lane.BACKGROUND,
) -> list[WhatIf] | Failure:
    """Price several candidate indexes for one statement in one session; or a Failure
    (HypoPG missing, database down, statement refused, ...) with a one-line message. `lane`:
    who waits (see `Database.run`)."""
    checked: Checked | Failure = check_statement(sql, dialect)
    if isinstance(checked, Failure):
        return checked
    s = db.settings
    deadline = (2 * len(create_indexes) + 1) * s.statement_timeout_ms / 1000
    deadline += s.connect_timeout_ms / 1000 + 1.0

    async def work(conn: psycopg.AsyncConnection) -> list[WhatIf]:
        if not db.hypopg:  # installed since the database was first reached?
            db.hypopg_version = await hypopg_version(conn)
            if not db.hypopg:
                raise DatabaseError(
                    Failure(Problem.UNSUPPORTED, "HypoPG is not installed in the database")
                )
        async with asyncio.timeout(deadline):
            return await what_if_on(
                conn,
                sql,
                create_indexes,
                statement_timeout_ms=s.statement_timeout_ms,
                lock_timeout_ms=s.lock_timeout_ms,
                dialect=dialect,
            )

    try:
        return await db.run(work, lane=lane)
    except DatabaseError as e:
        return e.failure


async def what_if(
    db: Database,
    sql: str,
    create_index: str,
    *,
    dialect: str = "postgres",
    lane: Lane = Lane.BACKGROUND,
) -> WhatIf | Failure:
    """The cost of `sql` without and with the hypothetical index `create_index`."""
    result = await what_if_many(db, sql, [create_index], dialect=dialect, lane=lane)
    return result if isinstance(result, Failure) else result[0]
