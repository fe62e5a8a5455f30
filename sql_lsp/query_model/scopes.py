"""Every scope of a statement, from sqlglot's `optimizer.scope`, built once per statement text
(the rules that ask share it), with the questions rules ask of a scope: its sources when they
are all plain tables, its output aliases, and the columns that are its own."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from sql_lsp.catalog.model import fold
from sql_lsp.statements import Parsed


class _Scopes(list):
    """The scopes of one statement; `close()` breaks their links to each other (parent and
    child scopes), which `statements.dismantle` calls once nothing reads them."""

    def close(self) -> None:
        for scope in self:
            scope.parent = None
            for name in _CHILD_LISTS:
                children = getattr(scope, name, None)
                if isinstance(children, list):
                    children.clear()
            for name in _SOURCE_MAPS:
                sources = getattr(scope, name, None)
                if isinstance(sources, dict):
                    sources.clear()
        self.clear()


_CHILD_LISTS = (
    "subquery_scopes",
    "cte_scopes",
    "derived_table_scopes",
    "udtf_scopes",
    "table_scopes",
    "set_operation_scopes",
)
_SOURCE_MAPS = ("sources", "lateral_sources", "cte_sources")


def scopes(parsed: Parsed) -> list[Scope]:
    """The scopes of a parsed statement (none when the scope builder cannot walk its tree)."""
    memo = parsed.memo
    found = memo.get("scopes")
    if found is None:
        try:
            found = _Scopes(traverse_scope(parsed.tree) if parsed.tree is not None else [])
        except Exception:  # a tree the scope builder cannot walk: no scopes
            found = _Scopes()
        memo["scopes"] = found
    return found


def plain_tables(scope: Scope) -> dict[str, exp.Table] | None:
    """A SELECT scope's sources by folded alias or name, when every source of its FROM and
    JOINs is a plain table (None: a subquery, CTE, function or VALUES is among them, or a
    column alias list renames a table's columns)."""
    select = scope.expression
    if not isinstance(select, exp.Select):
        return None
    from_ = select.args.get("from_")
    if from_ is None:
        return None
    nodes = [from_.this, *from_.expressions] + [j.this for j in select.args.get("joins") or []]
    out: dict[str, exp.Table] = {}
    for node in nodes:
        if not (isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier)):
            return None
        name = node.this.name
        if name in scope.sources and not isinstance(scope.sources[name], exp.Table):
            return None  # a CTE
        alias = node.args.get("alias")
        if alias is not None and alias.args.get("columns"):
            return None  # users AS u (a, b): columns renamed
        key = fold(alias.this) if alias is not None and alias.this is not None else fold(node.this)
        out[key] = node
    return out


def output_aliases(scope: Scope) -> set[str]:
    """The names the scope's select list gives with `AS`."""
    return {
        fold(s.args["alias"].this)
        for s in scope.expression.selects
        if isinstance(s, exp.Alias) and s.args.get("alias") is not None
    }


def own_columns(scope: Scope) -> Iterator[exp.Column]:
    """The scope's columns that are written in its own SELECT (not a subquery's column that
    sqlglot also counts for the outer scope)."""
    for col in scope.columns:
        if col.find_ancestor(exp.Select) is scope.expression:
            yield col
