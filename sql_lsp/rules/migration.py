"""What a file did before a statement, for the rules that judge a statement by the file it is
in: a table created earlier in the same file is new (a migration that creates a table may index
it without any risk to existing traffic, and a temporary table it creates is its own scratch
space).

Read from PostgreSQL's own parse trees of the file's catalog statements (`CREATE TABLE`,
`CREATE TABLE … AS`, `CREATE MATERIALIZED VIEW`), computed once per document.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left

from sql_lsp import pg
from sql_lsp.document import Document, Statement
from sql_lsp.rules.base import RuleContext, history_point

# per document: (catalog ordinal, schema or None, name, temporary) of each table it creates
_Created = tuple[int, str | None, str, bool]
_CREATED: weakref.WeakKeyDictionary[Document, list[_Created]] = weakref.WeakKeyDictionary()


def _created(document: Document) -> list[_Created]:
    found = _CREATED.get(document)
    if found is None:
        found = []
        for ordinal, stmt in enumerate(document.catalog_statements):
            rel = _created_relation(stmt)
            if rel is not None:
                schema = rel.get("schemaname") or None
                temporary = rel.get("relpersistence") == "t"
                found.append((ordinal, schema, rel.get("relname", ""), temporary))
        _CREATED[document] = found
    return found


# per document: the ordinals of its creations, and a hash of the creations before each one
_PREFIXES: weakref.WeakKeyDictionary[Document, tuple[list[int], list[int]]] = (
    weakref.WeakKeyDictionary()
)


def creations_before(document: Document, stmt: Statement, point: int) -> int:
    """A hash of what `created_earlier` can see from `stmt` (at history `point`, or -1: not
    counted): the tables its document creates before it. Equal hashes, equal answers; 0 when
    the document creates no table. Part of what a statement's findings are kept by."""
    created = _created(document)
    if not created:
        return 0
    entry = _PREFIXES.get(document)
    if entry is None:
        hashes = [0]
        for _, schema, name, temporary in created:
            hashes.append(hash((hashes[-1], schema, name, temporary)))
        entry = ([c[0] for c in created], hashes)
        _PREFIXES[document] = entry
    ordinals, hashes = entry
    if point < 0:
        point = history_point(document, stmt)
    return hashes[bisect_left(ordinals, point)]


def _created_relation(stmt: Statement) -> dict | None:
    parsed = stmt.parsed
    tree = parsed.pg if parsed is not None and parsed.error is None else None
    kind, fields = pg.node(tree)
    if kind == "CreateStmt":
        return fields.get("relation")
    if kind == "CreateTableAsStmt" and fields.get("objtype") in ("OBJECT_TABLE", "OBJECT_MATVIEW"):
        return (fields.get("into") or {}).get("rel")
    return None


def created_earlier(
    ctx: RuleContext, schema: str | None, name: str, temporary: bool = False
) -> bool:
    """Does a statement before this one in the same file create table `schema.name` (with
    `temporary`: as a temporary table)? (`schema` None: the table was named without one; any
    schema matches.)"""
    return creation(ctx, schema, name, temporary) is not None


def creation(
    ctx: RuleContext, schema: str | None, name: str, temporary: bool = False
) -> Statement | None:
    """The last statement before this one in the same file that creates table `schema.name`
    (see `created_earlier`), or None."""
    ordinal = ctx.history_point()
    found = None
    for at, s, n, temp in _created(ctx.document):
        if at >= ordinal:
            break
        if n == name and (schema is None or s is None or s == schema) and (temp or not temporary):
            found = at
    return ctx.document.catalog_statements[found] if found is not None else None


def declared_columns(stmt: Statement) -> tuple[str, ...] | None:
    """The column names a `CREATE TABLE (…)` statement declares, in order; None when it takes
    columns from elsewhere (`LIKE`, `INHERITS`, `PARTITION OF`, `AS SELECT`)."""
    parsed = stmt.parsed
    kind, fields = pg.node(parsed.pg if parsed is not None else None)
    if kind != "CreateStmt" or fields.get("inhRelations") or fields.get("partbound"):
        return None
    names = []
    for element in fields.get("tableElts") or []:
        ekind, efields = pg.node(element)
        if ekind == "ColumnDef":
            names.append(efields.get("colname", ""))
        elif ekind != "Constraint":
            return None
    return tuple(names)
