"""
**What it does**

Flags a `CREATE INDEX` of the workspace on a table that the database estimates at fewer than
`minRows` rows (default 1,000; `pg_class.reltuples`, kept by `ANALYZE` and autovacuum). Unique
indexes and the indexes behind PRIMARY KEY and UNIQUE constraints are never reported: they
enforce something whatever the size. A table the database has never analysed (no estimate), a
table that is not in the database, and a view say nothing. The finding sits on the index where
it is declared; its default severity is `info`, since a table that is small in the database the
server is connected to may be large in production.

**Why is this bad?**

A table of a few hundred rows fits in a handful of pages: the planner reads it sequentially,
which is as fast as going through an index and then to the table, so the index is rarely used.
It still costs on every write, takes space, and is vacuumed.

**Example**

```sql
-- countries has 250 rows
CREATE INDEX countries_name_idx ON countries (name);
```

**Use instead**

```sql
-- no index: a sequential scan of 250 rows is as fast
```

**Needs**

A database whose tables hold representative data (production or a copy of it): the estimate
comes from the database the server is connected to.

**Options**

`minRows` (`min_rows` in TOML; default 1000): report tables estimated below this many rows.
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.catalog.model import Index, qualified_name, quote_ident
from sql_lsp.rules.base import Finding, Rule, RuleContext

DEFAULT_MIN_ROWS = 1000


def check(ctx: RuleContext) -> Iterator[Finding]:
    facts = ctx.database
    if facts is None or facts.catalog is None:
        return
    min_rows = ctx.number_option("min_rows", DEFAULT_MIN_ROWS)
    for obj in ctx.declared():
        if not isinstance(obj, Index) or obj.origin is None:
            continue
        if obj.unique or obj.primary or obj.constraint:
            continue
        live = facts.catalog.tables.get((obj.schema, obj.table))
        if live is None or live.kind not in ("table", "materialized view"):
            continue
        rows = live.est_rows
        if rows is None or rows < 0 or rows >= min_rows:
            continue
        name = qualified_name(live.schema, live.name, ctx.search_path)
        count = "1 row" if rows == 1 else f"{rows:,} rows"
        yield ctx.finding(
            ctx.statement.start + obj.origin.start,
            ctx.statement.start + obj.origin.end,
            f"index {quote_ident(obj.name)} is on {name}, which the database estimates at "
            f"~{count}: a sequential scan reads so few pages as fast, so the index is rarely "
            "used but slows down every write",
        )


RULE = Rule(
    id="index-on-small-table",
    summary="An index on a table with fewer than 1,000 rows",
    check=check,
    docs=__doc__ or "",
    severity="info",
    needs="database",
    dialects=("postgres",),
    options={"min_rows": DEFAULT_MIN_ROWS},
    needs_tree=False,
    applies=lambda text: "index" in text[:80].lower() and text.lstrip()[:6].lower() == "create",
)
