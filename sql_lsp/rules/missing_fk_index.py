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

The statement loads where it is inserted, in the file's own `search_path`. The table is written
schema-qualified (`public.orders`) when the file sets `search_path` before the statement (pg_dump
sets it to `''`, where no unqualified name resolves), when the statement itself writes the table
qualified, or when the table is not in `public`; otherwise it is written as the file writes it,
bare, because such a file is run with whatever `search_path` the connection has and a `public.`
that the file does not say could name another table. The index name is PostgreSQL's own choice
(`orders_user_id_idx`), with a number added when a table, view, index, sequence or composite type
of that schema already has that name, or another fix creates it.

**Needs**

The workspace schema (or a database).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp.catalog.ddl import search_path_of
from sql_lsp.catalog.model import (
    DEFAULT_SEARCH_PATH,
    ForeignKey,
    Table,
    default_index_name,
    qualified_name,
    quote_ident,
)
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext, changes_schema

_MAX_NAME = 63  # NAMEDATALEN - 1: PostgreSQL truncates longer names
_SEQUENCE = re.compile(
    r"create\s+(?:(?:temp|temporary|unlogged)\s+)?sequence\s+(?:if\s+not\s+exists\s+)?"
    r'((?:"(?:[^"]|"")+"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))?)',
    re.I,
)


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
    target = index_target(ctx, table)
    index_name = fresh_index_name(ctx, table, default_index_name(table.name, fk.columns, "idx"))
    create = f"CREATE INDEX {quote_ident(index_name)} ON {target} ({cols});"
    at, text = insertion_after(ctx, create)
    creates = (f"{table.schema}.{index_name}",)
    return Fix(f"Create index on {target} ({cols})", (Edit(at, at, text),), SAFE, creates)


def index_target(ctx: RuleContext, table: Table) -> str:
    """How a `CREATE INDEX` inserted next to the statement names `table`, so that it loads in
    the file's own search_path: schema-qualified when the file sets search_path before the
    statement (pg_dump sets it to '', where no unqualified name resolves), when the statement
    writes the table qualified, or when the table is not in the default schema; bare otherwise,
    as the file itself relies on the connection's search_path then."""
    if (
        sets_search_path(ctx)
        or table.schema != DEFAULT_SEARCH_PATH[0]
        or _written_qualified(ctx.statement.text, table.schema, table.name)
    ):
        return f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    return qualified_name(table.schema, table.name, ctx.search_path)


def sets_search_path(ctx: RuleContext) -> bool:
    """Does a statement before this one in the document set the search_path?"""
    text, doc = ctx.text, ctx.document
    at = text.find("search_path", 0, ctx.statement.start)
    while at >= 0:
        stmt = doc.statement_at(at)
        if stmt is not None and stmt.kind == "sql" and search_path_of(stmt.text) is not None:
            return True
        at = text.find("search_path", at + 1, ctx.statement.start)
    return False


def _ident_pattern(name: str) -> str:
    quoted = '"' + re.escape(name.replace('"', '""')) + '"'
    return f"(?:(?i:{re.escape(name)})|{quoted})" if quote_ident(name) == name else quoted


def _written_qualified(text: str, schema: str, name: str) -> bool:
    pattern = rf"(?<![\w$.\"]){_ident_pattern(schema)}\s*\.\s*{_ident_pattern(name)}(?![\w$\"])"
    return re.search(pattern, text) is not None


def fresh_index_name(ctx: RuleContext, table: Table, base: str) -> str:
    """`base`, or `base1`, `base2`… : the first that no relation of the table's schema has
    (tables, views, indexes, sequences and composite types share one namespace), at most 63
    bytes as PostgreSQL keeps them."""
    taken = set(_relation_names(ctx, table.schema))
    name, n = base, 0
    while name in taken:
        n += 1
        stem = base
        while len(f"{stem}{n}".encode()) > _MAX_NAME:
            stem = stem[:-1]
        name = f"{stem}{n}"
    return name


def _relation_names(ctx: RuleContext, schema: str) -> Iterator[str]:
    for t in ctx.catalog.tables.values():
        if t.schema == schema:
            yield t.name
            yield from (i.name for i in t.indexes)
    yield from (name for s, name in ctx.catalog.types if s == schema)
    # the catalog has no sequences: those the document creates
    for stmt in ctx.document.catalog_statements:
        head = stmt.text[:60].lower()
        if "sequence" not in head or not head.lstrip().startswith("create"):
            continue
        m = _SEQUENCE.match(stmt.text.lstrip())
        if m is None:
            continue
        parts = re.findall(r'"((?:[^"]|"")+)"|([\w$]+)', m.group(1))
        names = [q.replace('""', '"') if q else b.lower() for q, b in parts]
        if names[:-1] in ([], [schema]):
            yield names[-1]


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


_BREAK = re.compile(r"\r\n|\r|\n")


def line_break(text: str, at: int) -> str:
    """The line break the text uses at `at` (the next one), else its first one, else `\\n`."""
    m = _BREAK.search(text, at) or _BREAK.search(text)
    return m.group() if m else "\n"


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
    applies=changes_schema,
)
