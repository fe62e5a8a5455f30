"""Expressions and type names compared across the two catalog sources.

An index expression or predicate, and a column type, must compare equal whether they come from
workspace DDL or from the live database (`pg_get_indexdef`, `format_type`): both are normalised
here. No database access: the offline catalog builder uses this too.
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp

from sql_lsp.catalog.model import normalize_expression

_TEXTUAL = ("character varying", "character", "varchar", "char", "bpchar", "name", "citext")


def pg_expression(text: str, column_types: dict[str, str] | None = None) -> str:
    """An index expression or predicate as PostgreSQL renders it (`pg_get_indexdef`,
    `pg_get_expr`), normalized to compare equal with the same expression written in DDL.

    Undoes what deparsing adds: casts on string literals (`'done'::text`), casts of
    varchar/char columns to text (`lower(username::text)`), and `x = ANY (ARRAY[a, b])` /
    `x <> ALL (ARRAY[a, b])` for `x IN (a, b)` / `x NOT IN (a, b)`.
    """
    return _pg_expression(text, tuple(sorted((column_types or {}).items())))


@lru_cache(maxsize=4096)
def _pg_expression(text: str, column_types: tuple[tuple[str, str], ...]) -> str:
    types = dict(column_types)
    try:
        tree = sqlglot.parse_one(text, read="postgres")
    except Exception:  # something sqlglot cannot read: keep PostgreSQL's text
        return " ".join(text.split())

    def undo(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Cast):
            inner = node.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.Literal) and inner.is_string:
                return inner
            if (
                isinstance(inner, exp.Column)
                and node.to.is_type(exp.DataType.Type.TEXT)
                and types.get(inner.name, "").startswith(_TEXTUAL)
            ):
                return inner
        if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Any):
            values = _array_values(node.expression.this)
            if values is not None:
                return exp.In(this=node.this, expressions=values)
        if (
            isinstance(node, exp.NEQ)
            and isinstance(node.expression, exp.Anonymous)
            and str(node.expression.this).upper() == "ALL"
            and len(node.expression.expressions) == 1
        ):
            values = _array_values(node.expression.expressions[0])
            if values is not None:
                return exp.Not(this=exp.In(this=node.this, expressions=values))
        return node

    try:
        # a replaced node's new children are not visited: a second pass reaches them
        tree = tree.transform(undo).transform(undo)
        return normalize_expression(tree)
    except Exception:
        return " ".join(text.split())


def _array_values(node: exp.Expression | None) -> list[exp.Expression] | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Array):
        return [v.copy() for v in node.expressions]
    return None


@lru_cache(maxsize=4096)
def _type_name(pg_type: str) -> str:
    """PostgreSQL's `format_type` spelled the way workspace DDL spells it (sqlglot's
    PostgreSQL type names: `varchar(40)`, `timestamptz`, `int`), unless that would lose
    information (then PostgreSQL's own spelling)."""
    out = pg_type
    try:
        built = exp.DataType.build(pg_type, dialect="postgres", udt=True)
        text = built.sql(dialect="postgres").lower()
        if ("(" in pg_type) == ("(" in text) and text.count("[") == pg_type.count("["):
            out = text
    except Exception:  # not a type sqlglot knows: keep PostgreSQL's name
        out = pg_type
    return out


def type_name(pg_type: str) -> str:
    """A column type (PostgreSQL's `format_type` text) in the catalog's spelling."""
    return _type_name(pg_type)


def rename_in_expression(expr: str, old: str, new: str) -> str:
    """A normalised expression with column `old` renamed to `new` (ALTER TABLE … RENAME)."""
    if old not in expr:
        return expr
    try:
        tree = sqlglot.parse_one(expr, read="postgres")
    except Exception:
        return expr
    for col in tree.find_all(exp.Column):
        if not col.table and col.name == old:
            col.set("this", exp.to_identifier(new, quoted=new != new.lower() or None))
    return normalize_expression(tree)
