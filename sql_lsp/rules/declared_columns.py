"""The columns a statement declared (in `CREATE TABLE` or `ALTER TABLE … ADD COLUMN`), as they
are at the end of the history: for the rules that judge a column's final type at the place the
column was written. Indexed once per catalog generation."""

from __future__ import annotations

import weakref

from sql_lsp.catalog.model import Catalog, Column, Table, qualified_name, quote_ident
from sql_lsp.rules.base import Finding, RuleContext

_Declared = dict[tuple[str, int], list[tuple[Table, Column]]]
_CACHE: weakref.WeakKeyDictionary[Catalog, tuple[int, _Declared]] = weakref.WeakKeyDictionary()


def _index(catalog: Catalog) -> _Declared:
    cached = _CACHE.get(catalog)
    if cached is not None and cached[0] == catalog.generation:
        return cached[1]
    by: _Declared = {}
    seen: set = set()
    for table in catalog.tables.values():
        if table.kind not in ("table", "partitioned table") or table.schema == "pg_temp":
            continue
        for column in table.columns.values():
            o = column.origin
            # a partition or an inheritance child shares its parent's column (same origin)
            if o is None or o in seen:
                continue
            seen.add(o)
            by.setdefault((o.doc, o.stmt), []).append((table, column))
    _CACHE[catalog] = (catalog.generation, by)
    return by


def declared_columns(ctx: RuleContext) -> list[tuple[Table, Column]]:
    """(table, column) for each column this statement declared that still exists."""
    ordinal = ctx.statement.catalog_ordinal
    if ordinal < 0:
        return []
    return _index(ctx.catalog).get((ctx.document.uri, ordinal), [])


def column_finding(ctx: RuleContext, table: Table, column: Column, problem: str) -> Finding:
    """A finding on a declared column's name: "<table>.<column> <problem>"."""
    assert column.origin is not None  # declared_columns yields declared columns only
    name = qualified_name(table.schema, table.name, ctx.search_path)
    return ctx.finding(
        ctx.statement.start + column.origin.start,
        ctx.statement.start + column.origin.end,
        f"{name}.{quote_ident(column.name)} {problem}",
    )
