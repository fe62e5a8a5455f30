"""
**What it does**

Flags a `CREATE INDEX` of the workspace whose index exists in the database but has been scanned at
most `maxScans` times (default 50) since the statistics were last reset, while its table is being
read in other ways (sequential scans or other indexes). The counts come from
`pg_stat_user_indexes` and `pg_stat_user_tables`. The finding sits on the index name.

Unique indexes and the indexes behind PRIMARY KEY and UNIQUE constraints are never reported: they
enforce something even when no query reads them. An index that is only in the workspace (a
migration not applied yet), or a table nobody has read since the reset, says nothing.

**Why is this bad?**

Every index is written on every `INSERT`, on every `UPDATE` of its columns (and blocks HOT
updates), takes disk and cache memory, and is vacuumed. An index that queries do not use costs all
of that for nothing.

**Example**

```sql
-- events is read thousands of times a day; events_created_idx has 0 scans
CREATE INDEX events_created_idx ON events (created_at);
```

**Use instead**

```sql
DROP INDEX CONCURRENTLY events_created_idx;
```

**Needs**

A database, and statistics that cover a representative period: counters start again at zero after
`pg_stat_reset()`, and a replica has its own (check the primary and every replica before dropping
anything). The role needs `pg_read_all_stats` (or to own the tables) to read them.

**Options**

`maxScans` (`max_scans` in TOML; default 50): report indexes scanned at most this many times.

There is no fix: whether an index can go (a monthly report, a replica's queries) is a human
decision.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.catalog.model import Index, qualified_name, quote_ident
from sql_lsp.rules.base import Finding, Rule, RuleContext

DEFAULT_MAX_SCANS = 50


def check(ctx: RuleContext) -> Iterator[Finding]:
    facts = ctx.database
    if facts is None or facts.catalog is None:
        return
    max_scans = ctx.number_option("max_scans", DEFAULT_MAX_SCANS)
    for obj in ctx.declared():
        if not isinstance(obj, Index) or obj.unique or obj.primary or obj.constraint:
            continue
        live_table = facts.catalog.tables.get((obj.schema, obj.table))
        if live_table is None:
            continue
        live = live_table.same_index(obj)  # the database's version of it
        if live is None or live.scans is None or not live.valid or live.unique or live.primary:
            continue
        if live.scans > max_scans:
            continue
        seq = live_table.seq_scans or 0
        by_index = live_table.idx_scans or 0
        other_reads = seq + by_index - live.scans
        if other_reads <= 0:
            continue  # nobody reads the table, or only through this index
        start, end = _name_span(ctx)
        table = qualified_name(live_table.schema, live_table.name, ctx.search_path)
        times = "once" if live.scans == 1 else f"{live.scans:,} times"
        message = (
            f"index {quote_ident(live.name)} was scanned {times} since the statistics were "
            f"reset, while {table} was read {seq + by_index:,} times ({seq:,} sequential "
            f"scans, {by_index:,} index scans): it slows down every write for few or no reads"
        )
        yield ctx.finding(start, end, message)
        return


def _name_span(ctx: RuleContext) -> tuple[int, int]:
    """The index name of the CREATE INDEX, else its table, else the statement's first word."""
    tree = ctx.tree
    node = tree.this if tree is not None else None
    if not isinstance(node, exp.Index):
        node = None
    for target in (
        node.this if node is not None else None,
        node.args.get("table") if node is not None else None,
    ):
        if isinstance(target, exp.Expression):
            span = ctx.locate(target)
            if span is not None:
                return span
    stmt = ctx.statement
    first = stmt.text.split(None, 1)[0] if stmt.text.strip() else ""
    at = stmt.start + stmt.text.find(first) if first else stmt.start
    return at, at + len(first)


RULE = Rule(
    id="unused-index",
    summary="An index the database hardly ever uses",
    check=check,
    docs=__doc__ or "",
    severity="info",
    needs="database",
    dialects=("postgres",),
    options={"max_scans": DEFAULT_MAX_SCANS},
    applies=lambda text: "index" in text[:80].lower() and text.lstrip()[:6].lower() == "create",
)
