"""
**What it does**

Flags a btree index whose only key is a `boolean` column (the column's type at the end of the
history). A unique index, a partial index (`WHERE …`) and an index with more keys are not
flagged. The finding sits on the index where it is declared.

**Why is this bad?**

A boolean has two values (three with NULL). For the common value the planner scans the table
anyway, since reading most of it through an index is slower; for the rare value a partial index
does the same job at a fraction of the size (the full index is useful only for the rare value,
and only while it stays rare). Meanwhile every write pays to maintain the full
index.

**Example**

```sql
CREATE TABLE orders (id bigint PRIMARY KEY, shipped boolean NOT NULL);
CREATE INDEX orders_shipped_idx ON orders (shipped);
```

**Use instead**

```sql
CREATE TABLE orders (id bigint PRIMARY KEY, shipped boolean NOT NULL);
CREATE INDEX orders_unshipped_idx ON orders (id) WHERE NOT shipped;
```

**Needs**

The workspace schema.
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.catalog.model import Index, qualified_name, quote_ident
from sql_lsp.rules.base import Finding, Rule, RuleContext, changes_schema

_BOOLEAN = frozenset({"boolean", "bool"})


def check(ctx: RuleContext) -> Iterator[Finding]:
    for obj in ctx.declared():
        if not isinstance(obj, Index) or obj.origin is None:
            continue
        if obj.method != "btree" or obj.unique or obj.partial or len(obj.keys) != 1:
            continue
        key = obj.keys[0].column
        table = ctx.catalog.tables.get((obj.schema, obj.table))
        column = table.columns.get(key) if table is not None and key is not None else None
        if column is None or (column.type or "").lower() not in _BOOLEAN:
            continue
        name = qualified_name(obj.schema, obj.table, ctx.search_path)
        col = quote_ident(column.name)
        yield ctx.finding(
            ctx.statement.start + obj.origin.start,
            ctx.statement.start + obj.origin.end,
            f"index {quote_ident(obj.name)} on {name} ({col}) has a boolean as its only key: "
            f"it is not used for the common value; use a partial index (… WHERE {col} or "
            f"WHERE NOT {col})",
        )


RULE = Rule(
    id="low-cardinality-index",
    summary="A btree index whose only key is a boolean column",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=changes_schema,
)
