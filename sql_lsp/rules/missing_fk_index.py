"""
**What it does**

Flags a foreign key whose columns are not the leading columns of any index on the referencing
table. The primary key and UNIQUE constraints count as indexes; the order of the columns within the
leading prefix does not matter; partial indexes do not count. Every index of the workspace counts,
whatever the file or the order it is declared in (and, with a database, every index of the
database). The finding sits on the `REFERENCES` / `FOREIGN KEY` clause.

**Why is this bad?**

PostgreSQL indexes the referenced side of a foreign key (it must be unique) but not the referencing
side. Every `DELETE` or key `UPDATE` on the parent table then scans the child table to check for
rows that still point at it, under a lock; and the join from parent to children, the most common
query on such a column, cannot use an index either.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id)
);
```

**Use instead**

```sql
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id)
);
CREATE INDEX orders_user_id_idx ON orders (user_id);
```

**Fix safety**

The fix inserts `CREATE INDEX <table>_<columns>_idx ON <table> (<columns>);` right after the
statement that declares the foreign key. It adds an index and changes no data or query result, so
it is safe. (On a large table that already exists, consider `CREATE INDEX CONCURRENTLY` outside a
transaction instead.)

**Needs**

The workspace schema (or a database).
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.catalog.model import ForeignKey, Table, default_index_name, qualified_name, quote_ident
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext


def covered(table: Table, columns: tuple[str, ...]) -> bool:
    """Is there a usable index whose leading keys are exactly `columns` (in any order)?"""
    n = len(columns)
    wanted = set(columns)
    for index in table.indexes:
        if index.partial or not index.valid:
            continue
        if index.method != "btree" and not (index.method == "hash" and n == 1):
            continue
        lead = index.keys[:n]
        if len(lead) == n and all(k.column for k in lead) and {k.column for k in lead} == wanted:
            return True
    return False


def check(ctx: RuleContext) -> Iterator[Finding]:
    seen: set[tuple] = set()
    for obj in ctx.declared():
        if not isinstance(obj, ForeignKey) or obj.origin is None:
            continue
        table = ctx.catalog.tables.get((obj.schema, obj.table))
        if table is None or covered(table, obj.columns):
            continue
        key = (obj.schema, obj.table, obj.columns)
        if key in seen:
            continue
        seen.add(key)
        start = ctx.statement.start + obj.origin.start
        end = ctx.statement.start + obj.origin.end
        name = qualified_name(table.schema, table.name, ctx.search_path)
        ref = qualified_name(obj.ref_schema, obj.ref_table, ctx.search_path)
        cols = ", ".join(quote_ident(c) for c in obj.columns)
        message = (
            f"foreign key {name} ({cols}) -> {ref} has no index on {name} ({cols}): deleting or "
            f"updating a {ref} row scans {name}, and joins on it cannot use an index"
        )
        yield ctx.finding(start, end, message, [_fix(ctx, table, obj, name, cols)])


def _fix(ctx: RuleContext, table: Table, fk: ForeignKey, name: str, cols: str) -> Fix:
    taken = {i.name for t in ctx.catalog.tables.values() for i in t.indexes}
    index_name = base = default_index_name(table.name, fk.columns, "idx")
    n = 1
    while index_name in taken:
        index_name = f"{base}{n}"
        n += 1
    create = f"CREATE INDEX {quote_ident(index_name)} ON {name} ({cols});"
    at, text = insertion_after(ctx, create)
    return Fix(f"Create index on {name} ({cols})", (Edit(at, at, text),), SAFE)


def insertion_after(ctx: RuleContext, statement_text: str) -> tuple[int, str]:
    """Where and what to insert so that `statement_text` becomes the next statement."""
    stmt = ctx.statement
    around = ctx.surroundings
    newline = around.newline
    semi = stmt.semicolon
    if semi < 0:
        return stmt.end, f";{newline}{statement_text}"
    if around.tail_free:  # nothing but blanks or a comment after the statement on its line
        return around.line_end, f"{newline}{statement_text}"
    return semi + 1, f"{newline}{statement_text}{newline}"


RULE = Rule(
    id="missing-fk-index",
    summary="A foreign key with no index on its referencing columns",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    fix="safe",
    dialects=("postgres",),
    needs_tree=False,
    applies=lambda text: text[:40].lstrip()[:6].lower() in ("create", "alter "),
)
