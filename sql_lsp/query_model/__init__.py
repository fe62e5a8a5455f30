"""The shared query model: the sources of a query with their aliases, a column's table in the
catalog, and the conjuncts of a condition.

A "query" here is one `SELECT`, `UPDATE` or `DELETE` node of sqlglot's tree. Its own sources
are the tables of its `FROM`, its `JOIN`s, an `UPDATE`'s or `DELETE`'s target and `USING`; the
sources it sees are its own, then those of the queries around it (a correlated reference).
Tables are looked up in the catalog through the statement's `search_path` by the caller's
`lookup` (`RuleContext.table`); a name that is a CTE of a `WITH` around it is no catalog table.

These helpers work on one node at a time, with no pass over the whole statement, which is what
rules that look at one comparison need. Two parts answer questions about whole scopes:

* `sql_lsp.query_model.scopes`: every scope of a statement (sqlglot's `optimizer.scope`, built
  once per statement text and shared by the rules), its plain-table sources and its own columns.
  `optimizer.scope` fits there: it knows which columns belong to which scope (correlated
  references, ORDER BY naming an output column). It does not fit the questions above: it
  walks the whole statement, and it does not know the catalog, PostgreSQL's output column names
  or the history of a migration.
* `sql_lsp.query_model.relations`: the relations a FROM clause makes and the columns each gives
  in PostgreSQL's order (what `*` expands to), through CTEs, derived tables, functions and joins.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sql_lsp.catalog.model import Table, fold

Lookup = Callable[[exp.Table], Table | None]
QUERIES = (exp.Select, exp.Update, exp.Delete)
# the comparisons of a value with others that a condition is made of (NULL never satisfies one)
COMPARISONS = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Like,
    exp.ILike,
    exp.In,
    exp.Between,
)


def owner_query(node: exp.Expression) -> exp.Expression | None:
    """The nearest SELECT / UPDATE / DELETE holding `node`."""
    found = node.find_ancestor(*QUERIES)
    return found


def own_sources(node: exp.Expression) -> list[exp.Table]:
    """Tables one query reads: FROM, JOINs, UPDATE's target, DELETE's target and USING."""
    out: list[exp.Table] = []
    if isinstance(node, exp.Update | exp.Delete) and isinstance(node.this, exp.Table):
        out.append(node.this)
    from_ = node.args.get("from_")
    if from_ is not None:
        out.extend(t for t in [from_.this, *from_.expressions] if isinstance(t, exp.Table))
    for join in node.args.get("joins") or []:
        if isinstance(join.this, exp.Table):
            out.append(join.this)
    using = node.args.get("using")
    if isinstance(using, list):
        out.extend(t for t in using if isinstance(t, exp.Table))
    return out


def from_items(node: exp.Expression) -> list[exp.Expression]:
    """The items of one query's FROM and JOINs, in order: tables, subqueries, functions…"""
    from_ = node.args.get("from_")
    items = [from_.this, *from_.expressions] if from_ is not None else []
    items += [j.this for j in node.args.get("joins") or []]
    return [i for i in items if i is not None]


def source_name(item: exp.Expression) -> str | None:
    """How a query refers to one of its FROM items: its alias, else a table's name; None for
    an item with neither (an unaliased subquery)."""
    alias = item.args.get("alias")
    if alias is not None and alias.this is not None:
        return fold(alias.this)
    if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
        return fold(item.this)
    return None


def own_aliases(node: exp.Expression) -> list[str]:
    """Names (alias, else table name) of every source of one query, tables and derived
    tables (subqueries, functions) alike."""
    items = from_items(node)
    if isinstance(node, exp.Update | exp.Delete) and node.this is not None:
        items.append(node.this)
    return [fold(item.alias_or_name) for item in items if item.alias_or_name]


def sources(owner: exp.Expression) -> list[exp.Table]:
    """Tables a query reads, its own first, then the enclosing queries' (correlation)."""
    out: list[exp.Table] = []
    node: exp.Expression | None = owner
    while node is not None:
        if isinstance(node, QUERIES):
            out.extend(own_sources(node))
        node = node.parent
    return out


def is_cte_reference(ref: exp.Table) -> bool:
    """Does `ref` name a CTE of a WITH around it (rather than a catalog table)?"""
    if ref.args.get("db"):
        return False
    name = fold(ref.name)
    node: exp.Expression | None = ref
    while node is not None:
        with_ = node.args.get("with_")
        if with_ is not None and any(fold(c.alias) == name for c in with_.expressions):
            return True
        node = node.parent
    return False


def resolve(lookup: Lookup, column: exp.Column, owner: exp.Expression) -> Table | None:
    """The catalog table a column of query `owner` belongs to; None when it cannot be known
    (a CTE's column included)."""
    inner = lookup

    def lookup(ref: exp.Table) -> Table | None:
        return None if is_cte_reference(ref) else inner(ref)

    srcs = sources(owner)
    qualifier = fold(column.args.get("table")) if column.args.get("table") else None
    name = fold(column.this)
    if qualifier:
        for src in srcs:
            if fold(src.alias_or_name) == qualifier:
                return lookup(src)
        return None
    own = own_sources(owner)
    if len(own) == 1 and len(own_aliases(owner)) <= 1:
        table = lookup(own[0])
        if table is None or name in table.columns or not table.columns_known:
            return table
    candidates = [t for t in (lookup(s) for s in srcs) if t is not None and name in t.columns]
    unique = {t.key: t for t in candidates}
    if len(unique) == 1:
        return next(iter(unique.values()))
    return None


def resolve_column(
    lookup: Lookup, column: exp.Column, owner: exp.Expression
) -> tuple[Table, str] | None:
    """(catalog table, column name) of a column that names a known column of a catalog
    table; None otherwise."""
    table = resolve(lookup, column, owner)
    name = fold(column.this)
    if table is None or name not in table.columns:
        return None
    return table, name


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The terms of a top-level AND chain, without their parentheses; an OR stays whole."""
    if condition is None:
        return []
    out: list[exp.Expression] = []
    stack = [condition]
    while stack:
        node = stack.pop()
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.And):
            stack.append(node.expression)
            stack.append(node.this)
        else:
            out.append(node)
    return out


def where_conjuncts(query: exp.Expression) -> list[exp.Expression]:
    where = query.args.get("where")
    return conjuncts(where.this if where is not None else None)


def filter_conditions(query: exp.Expression) -> list[exp.Expression]:
    """The conjuncts of a query's WHERE and of its JOINs' ON."""
    out = where_conjuncts(query)
    for join in query.args.get("joins") or []:
        out.extend(conjuncts(join.args.get("on")))
    return out
