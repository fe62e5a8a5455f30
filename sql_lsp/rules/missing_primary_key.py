"""
**What it does**

Flags a table that has no primary key at the end of the workspace's history: no `PRIMARY KEY` in
its `CREATE TABLE` and none added later by `ALTER TABLE … ADD PRIMARY KEY` in any file. The
finding sits on the table's name in its `CREATE TABLE`. Temporary tables, views, materialized
views and foreign tables are not flagged, nor is a partition or an inheritance child (its parent
carries the design: when the parent has no primary key, the parent is the one flagged), nor a
table with a unique index (or `UNIQUE` constraint) whose columns are all `NOT NULL`: that is a
primary key in all but name (pg_dump output of such tables is common, e.g. join tables).

**Why is this bad?**

Without a primary key nothing identifies a row: duplicates creep in, an `UPDATE` or `DELETE` of
"this row" can hit several, other tables cannot reference it with a foreign key, and logical
replication refuses `UPDATE` and `DELETE` on the table (no replica identity). Tools that edit rows
(ORMs, admin consoles) need one too. A `UNIQUE` constraint does not replace it: its columns may be
NULL.

**Example**

```sql
CREATE TABLE audit_log (
    at timestamptz NOT NULL,
    message text NOT NULL
);
```

**Use instead**

```sql
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    message text NOT NULL
);
```

**Needs**

The workspace schema.
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.catalog.model import Index, Table, qualified_name
from sql_lsp.rules.base import Finding, Rule, RuleContext, creates

_KINDS = ("table", "partitioned table")


def check(ctx: RuleContext) -> Iterator[Finding]:
    for obj in ctx.declared():
        if not isinstance(obj, Table) or obj.origin is None or obj.kind not in _KINDS:
            continue
        if obj.schema == "pg_temp" or obj.partition or obj.parents:
            continue
        if any(_identifies(obj, i) for i in obj.indexes):
            continue
        name = qualified_name(obj.schema, obj.name, ctx.search_path)
        yield ctx.finding(
            ctx.statement.start + obj.origin.start,
            ctx.statement.start + obj.origin.end,
            f"table {name} has no primary key: nothing identifies its rows (duplicates, no "
            "foreign key to it, no UPDATE/DELETE under logical replication); add one",
        )


def _identifies(table: Table, index: Index) -> bool:
    """A primary key, or a unique index on NOT NULL columns (a primary key in all but name)."""
    if index.primary:
        return True
    if not index.unique or index.partial or not index.valid or not index.keys:
        return False
    cols = [table.columns.get(k.column) if k.column else None for k in index.keys]
    return all(c is not None and c.not_null for c in cols)


RULE = Rule(
    id="missing-primary-key",
    summary="A table with no primary key",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=creates,
)
