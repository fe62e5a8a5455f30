"""
**What it does**

Flags `CREATE INDEX` without `CONCURRENTLY` on a table (or materialized view) that the same
file did not create before (a migration indexing a table that already exists, and may be large
and busy). A file that creates the table and then its indexes (a schema file, a `pg_dump`, a
migration adding a new table) is not flagged, nor is `CREATE INDEX … ON ONLY` (the first step on a partitioned table),
nor an index on a partitioned table (which cannot be built concurrently), nor a `CREATE INDEX`
inside a function body or `DO` block (PostgreSQL refuses `CONCURRENTLY` there: "cannot be
executed from a function").

**Why is this bad?**

A plain `CREATE INDEX` takes a `SHARE` lock on the table for the whole build: reads go on, but
every `INSERT`, `UPDATE` and `DELETE` waits until the index is complete, which on a large table
means minutes of blocked writes (and queued requests behind them). `CREATE INDEX CONCURRENTLY`
builds the index while writes continue, at the cost of a slower build.

**Example**

```sql
CREATE INDEX orders_created_at_idx ON orders (created_at);
```

**Use instead**

```sql
CREATE INDEX CONCURRENTLY orders_created_at_idx ON orders (created_at);
```

**Fix safety**

The fix adds `CONCURRENTLY`. It is unsafe: a concurrent build cannot run inside a transaction
block (many migration tools wrap each migration in one) and, when it fails, leaves an invalid
index behind that must be dropped before retrying.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp import pg
from sql_lsp.catalog.model import qualified_name
from sql_lsp.rules.base import UNSAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.migration import created_earlier
from sql_lsp.rules.tokens import pg_tokens

_INDEX = re.compile(r"create\s+(?:unique\s+)?index\b", re.I)


def check(ctx: RuleContext) -> Iterator[Finding]:
    parsed = ctx.statement.parsed
    kind, fields = pg.node(parsed.pg if parsed is not None else None)
    if kind != "IndexStmt" or fields.get("concurrent"):
        return
    rel = fields.get("relation") or {}
    if rel.get("inh") is False or rel.get("relpersistence") == "t":
        return  # ON ONLY; a temporary table
    schema, name = rel.get("schemaname") or None, rel.get("relname", "")
    if created_earlier(ctx, schema, name):
        return
    table = ctx.catalog.table(name, schema, ctx.search_path)
    if table is not None and table.kind == "partitioned table":
        return
    toks = pg_tokens(ctx.statement.text)
    i = next((k for k, t in enumerate(toks) if t.name == "INDEX"), -1)
    if i < 1 or toks[0].name != "CREATE":
        return
    base = ctx.statement.start
    start, end = base + toks[0].start, base + toks[i].end + 1
    shown = (
        qualified_name(table.schema, table.name, ctx.search_path)
        if table is not None
        else qualified_name(schema or ctx.search_path[0], name, ctx.search_path)
    )
    fix = Fix("Build the index CONCURRENTLY", (Edit(end, end, " CONCURRENTLY"),), UNSAFE)
    yield ctx.finding(
        start,
        end,
        f"CREATE INDEX on existing table {shown} blocks its writes for the whole build; use "
        "CREATE INDEX CONCURRENTLY (outside a transaction block)",
        [fix],
    )


RULE = Rule(
    id="non-concurrent-index",
    summary="`CREATE INDEX` without `CONCURRENTLY` on an existing table, blocking its writes",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="unsafe",
    dialects=("postgres",),
    needs_tree=False,
    applies=lambda text: _INDEX.match(text) is not None,
)
