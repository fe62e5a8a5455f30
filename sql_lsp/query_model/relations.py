"""Relations: what a FROM clause makes (PostgreSQL's range-table entries) and the columns each
gives, in PostgreSQL's order, through CTEs (recursive or not), derived tables, set-returning
functions, VALUES, UNNEST and joins (`USING` and `NATURAL` merge their columns); what `*` and
`q.*` expand to, and how to write each of those columns so that PostgreSQL finds exactly it.

This is the part of the query model that knows output columns (what `select-star` writes in
place of `*`); `sql_lsp.query_model` itself answers which catalog table a column belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from sql_lsp.catalog.model import Catalog, Table, fold, quote_ident


def table_columns(
    catalog: Catalog,
    ref: exp.Table,
    search_path: tuple[str, ...],
    doc: str,
    offset: int,
) -> tuple[Table | None, list[str] | None]:
    """The catalog table `ref` names and its columns in PostgreSQL's order, as they stand at
    the statement at history point `offset` of document `doc` (`RuleContext.history_point`);
    (None, None) for an unknown table, (table, None) when its columns are not known. The one
    place this rule asks for a table's columns.

    A table whose columns come partly from the workspace and partly from the database has no
    known order: None."""
    if not isinstance(ref.this, exp.Identifier):
        return None, None
    schema = fold(ref.args.get("db")) if ref.args.get("db") else None
    table = catalog.table(fold(ref.this), schema, search_path)
    if table is None:
        return None, None
    if not table.columns_known:
        return table, None
    declared = [c.origin is not None for c in table.columns.values()]
    if any(declared) and not all(declared):
        # the workspace declares some columns and the database adds others: in which order
        # PostgreSQL lists them is not known
        return table, None
    at = catalog.columns_at(table, doc, offset)
    return table, list(at) if at is not None else None


@dataclass(eq=False)
class Source:
    """One relation of a FROM clause (a range-table entry, in PostgreSQL's words)."""

    node: exp.Expression  # the FROM item
    refname: str | None  # how the query refers to it; None when it cannot be referred to
    columns: list[str] | None  # its columns in order (alias list applied), None when unknown
    table: Table | None = None  # the catalog table, when it is one written without an alias
    derived: exp.Expression | None = None  # the query behind a CTE reference or a subquery
    relation: bool = False  # a table or view (known or not), not a CTE, subquery or function
    inner: list[Source] = field(default_factory=list)  # the relations of an aliased join


@dataclass(eq=False)
class Join:
    left: Source | Join
    right: Source | Join
    using: list[str] | None  # the merged columns of USING / NATURAL, None for other joins
    natural: bool = False


Node = Source | Join
# one column of a `*` expansion: the relation it comes from (None: a merged join column), name
Item = tuple[Source | None, str]
_MAX_DEPTH = 50


@dataclass
class Scope:
    """What names mean where a query is: CTEs in reach, the catalog, the statement's place."""

    catalog: Catalog
    search_path: tuple[str, ...]
    doc: str
    offset: int
    ctes: dict[str, tuple[exp.CTE, Scope]] = field(default_factory=dict)
    depth: int = 0
    resolving: frozenset[int] = frozenset()  # the CTEs whose columns are being worked out

    def with_ctes(self, query: exp.Expression) -> Scope:
        with_ = query.args.get("with_")
        if not isinstance(with_, exp.With):
            return self
        scope = Scope(
            self.catalog,
            self.search_path,
            self.doc,
            self.offset,
            dict(self.ctes),
            self.depth,
            self.resolving,
        )
        recursive = bool(with_.args.get("recursive"))
        for cte in with_.expressions:
            name = fold(cte.alias_or_name)
            if recursive:
                scope.ctes[name] = (cte, scope)  # the body sees itself and every sibling
            else:
                # the body sees the CTEs before it, not itself
                before = Scope(
                    self.catalog,
                    self.search_path,
                    self.doc,
                    self.offset,
                    dict(scope.ctes),
                    self.depth,
                    self.resolving,
                )
                scope.ctes[name] = (cte, before)
        return scope

    def deeper(self) -> Scope | None:
        if self.depth >= _MAX_DEPTH:
            return None
        return Scope(
            self.catalog,
            self.search_path,
            self.doc,
            self.offset,
            self.ctes,
            self.depth + 1,
            self.resolving,
        )

    def entering(self, cte: exp.CTE, where: Scope) -> Scope | None:
        """The scope a CTE's body is read in (`where`, its definition's), from here; None when
        the CTE is already being read (a reference to itself) or the nesting is too deep."""
        if id(cte) in self.resolving or self.depth >= _MAX_DEPTH:
            return None
        return Scope(
            self.catalog,
            self.search_path,
            self.doc,
            self.offset,
            where.ctes,
            self.depth + 1,
            self.resolving | {id(cte)},
        )


def from_nodes(select: exp.Select, scope: Scope) -> list[Node]:
    """The FROM items of a SELECT, each a join tree (JOIN binds tighter than a comma)."""
    nodes: list[Node] = []
    from_ = select.args.get("from_")
    if from_ is not None:
        nodes.append(_node(from_.this, scope))
        nodes.extend(_node(e, scope) for e in from_.expressions)
    for join in select.args.get("joins") or []:
        _add_join(nodes, join, scope)
    return nodes


def _add_join(nodes: list[Node], join: exp.Join, scope: Scope) -> None:
    right = _node(join.this, scope)
    method = (join.args.get("method") or "").upper()
    using = join.args.get("using")
    is_comma = not (
        join.args.get("kind")
        or join.args.get("side")
        or method
        or using
        or join.args.get("on") is not None
    )
    if is_comma or not nodes:
        nodes.append(right)
        return
    if method == "NATURAL":
        nodes[-1] = Join(nodes[-1], right, None, natural=True)
    elif using:
        nodes[-1] = Join(nodes[-1], right, [fold(u) for u in using])
    else:
        nodes[-1] = Join(nodes[-1], right, None)


def _node(src: exp.Expression, scope: Scope, leaf: bool = False) -> Node:
    """The relation (or join tree) a FROM item makes. `leaf`: ignore the joins a `(a JOIN b …)`
    hangs on its first table."""
    alias = src.args.get("alias")
    alias_name = fold(alias.this) if isinstance(alias, exp.TableAlias) and alias.this else None
    alias_cols = list(alias.columns) if isinstance(alias, exp.TableAlias) else []
    if isinstance(src, exp.Lateral):
        inner = src.this
        if alias_name is None and isinstance(inner.args.get("alias"), exp.TableAlias):
            return _node(inner, scope)
        if isinstance(inner, exp.Subquery):
            return _derived(src, inner.this, alias_name, alias_cols, scope)
        if isinstance(inner, exp.Func):
            cols = _function_columns(inner, alias_name)
            ordinality = bool(src.args.get("ordinality"))
            return _function(src, inner, alias_name, alias_cols, cols, ordinality)
        return Source(src, alias_name, None)
    if isinstance(src, exp.Subquery):
        body = src.this
        if isinstance(body, exp.Table | exp.Subquery) and body.args.get("joins"):
            return _paren_join(src, body, alias_name, alias_cols, scope)
        return _derived(src, body, alias_name, alias_cols, scope)
    if isinstance(src, exp.Values):
        width = _values_width(src)
        cols = [f"column{i}" for i in range(1, width + 1)] if width else None
        return Source(src, alias_name, _renamed(cols, alias_cols))
    if isinstance(src, exp.Unnest):
        cols = _unnest_columns(src, alias_name)
        return _function(
            src, src, alias_name or "unnest", alias_cols, cols, bool(src.args.get("offset"))
        )
    if isinstance(src, exp.Table):
        if src.args.get("rows_from") or (src.args.get("joins") and not leaf):
            return Source(src, alias_name, None)
        if isinstance(src.this, exp.Func):
            cols = _function_columns(src.this, alias_name)
            ordinality = bool(src.args.get("ordinality"))
            return _function(src, src.this, alias_name, alias_cols, cols, ordinality)
        if isinstance(src.this, exp.Identifier):
            return _table(src, alias_name, alias_cols, scope)
    return Source(src, alias_name, None)


def _table(src: exp.Table, alias_name: str | None, alias_cols: list, scope: Scope) -> Source:
    name = fold(src.this)
    if not src.args.get("db") and name in scope.ctes:
        cte, cte_scope = scope.ctes[name]
        inner = scope.entering(cte, cte_scope)
        cols = output_names(cte.this, inner) if inner is not None else None
        cte_alias = cte.args.get("alias")
        if isinstance(cte_alias, exp.TableAlias):
            cols = _renamed(cols, list(cte_alias.columns))
        return Source(src, alias_name or name, _renamed(cols, alias_cols), derived=cte.this)
    table, cols = table_columns(scope.catalog, src, scope.search_path, scope.doc, scope.offset)
    return Source(
        src,
        alias_name or name,
        _renamed(cols, alias_cols),
        table=table if alias_name is None else None,
        relation=True,
    )


def _derived(
    src: exp.Expression,
    body: exp.Expression,
    alias_name: str | None,
    alias_cols: list,
    scope: Scope,
) -> Source:
    inner = scope.deeper()
    cols = output_names(body, inner) if inner is not None else None
    return Source(src, alias_name, _renamed(cols, alias_cols), derived=body)


def _paren_join(
    src: exp.Subquery,
    body: exp.Table | exp.Subquery,
    alias_name: str | None,
    alias_cols: list,
    scope: Scope,
) -> Node:
    """`(a JOIN b …)`: without an alias the join itself; with one, a relation of its columns."""
    nodes: list[Node] = [_node(body, scope, leaf=True)]
    for join in body.args.get("joins") or []:
        _add_join(nodes, join, scope)
    tree = nodes[0] if len(nodes) == 1 else None
    if tree is None:
        return Source(src, alias_name, None)
    if alias_name is None and not alias_cols:
        return tree
    items = expansion(tree)
    cols = [name for _, name in items] if items is not None else None
    return Source(src, alias_name, _renamed(cols, alias_cols), inner=leaves(tree))


def _function(
    src: exp.Expression,
    func: exp.Expression,
    alias_name: str | None,
    alias_cols: list,
    cols: list[str] | None,
    ordinality: bool,
) -> Source:
    if alias_cols and all(isinstance(c, exp.ColumnDef) for c in alias_cols):
        # a column definition list `AS x(a int, b text)` names every output column
        if ordinality:
            return Source(src, alias_name or _function_name(func), None)
        defined = [fold(c.this) for c in alias_cols]
        return Source(src, alias_name or _function_name(func), defined)
    if cols is not None and ordinality:
        cols = [*cols, "ordinality"]
    return Source(src, alias_name or _function_name(func), _renamed(cols, alias_cols))


def _function_name(func: exp.Expression) -> str | None:
    if isinstance(func, exp.ExplodingGenerateSeries | exp.GenerateSeries):
        return "generate_series"
    if isinstance(func, exp.Unnest):
        return "unnest"
    if isinstance(func, exp.Anonymous) and isinstance(func.this, str):
        return func.this.lower()
    return None


_SCALAR_FUNCTIONS = ("generate_series", "generate_subscripts")


def _function_columns(func: exp.Expression, alias_name: str | None) -> list[str] | None:
    """The output columns of a function in FROM returning a scalar: one column, named after the
    alias (or the function); None for any function whose output is not known here."""
    if isinstance(func, exp.Unnest):
        return _unnest_columns(func, alias_name)
    name = _function_name(func)
    if name not in _SCALAR_FUNCTIONS:
        return None
    return [alias_name or name]


def _unnest_columns(node: exp.Unnest, alias_name: str | None) -> list[str] | None:
    """`unnest` of one array of plain literals (a scalar element type): one column."""
    if len(node.expressions) != 1:
        return None
    arg = node.expressions[0]
    if not isinstance(arg, exp.Array) or not arg.expressions:
        return None
    if not all(isinstance(e, exp.Literal) for e in arg.expressions):
        return None
    return [alias_name or "unnest"]


def _values_width(values: exp.Values) -> int | None:
    rows = values.expressions
    if not rows or not isinstance(rows[0], exp.Tuple):
        return None
    return len(rows[0].expressions) or None


def _renamed(cols: list[str] | None, aliases: list) -> list[str] | None:
    """A column-alias list renames the first columns and keeps the rest."""
    if cols is None or not aliases:
        return cols
    if len(aliases) > len(cols) or not all(isinstance(a, exp.Identifier) for a in aliases):
        return None
    return [fold(a) for a in aliases] + cols[len(aliases) :]


def leaves(node: Node) -> list[Source]:
    if isinstance(node, Source):
        return [node]
    return leaves(node.left) + leaves(node.right)


def expansion(node: Node) -> list[Item] | None:
    """The columns `*` takes from a FROM item, in PostgreSQL's order, or None when unknown."""
    if isinstance(node, Source):
        if node.columns is None:
            return None
        return [(node, c) for c in node.columns]
    left, right = expansion(node.left), expansion(node.right)
    if left is None or right is None:
        return None
    if node.using is None and not node.natural:
        return left + right
    left_names = [n for _, n in left]
    right_names = [n for _, n in right]
    if node.natural:
        merged = [n for n in left_names if n in right_names]
    else:
        merged = list(node.using or [])
    if len(set(merged)) != len(merged):
        return None
    for name in merged:
        if left_names.count(name) != 1 or right_names.count(name) != 1:
            return None  # PostgreSQL rejects the join
    rest = [i for i in left if i[1] not in merged] + [i for i in right if i[1] not in merged]
    return [(None, n) for n in merged] + rest


def visible_sources(nodes: list[Node]) -> list[Source]:
    """The relations a column reference of this query level can name."""
    return [leaf for node in nodes for leaf in leaves(node)]


def star_columns(
    star: exp.Expression, nodes: list[Node]
) -> tuple[list[Item] | None, list[Source]] | None:
    """What a `*` / `q.*` expands to (None when unknown) and the relations it covers; None when
    `q` names nothing of this query level."""
    if isinstance(star, exp.Star):
        covered = [r for s in visible_sources(nodes) for r in (s.inner or [s])]
        out: list[Item] = []
        for node in nodes:
            items = expansion(node)
            if items is None:
                return None, covered
            out.extend(items)
        return out, covered
    qualifier = fold(star.args.get("table"))
    schema = fold(star.args.get("db")) if star.args.get("db") else None
    matches = [
        s
        for s in visible_sources(nodes)
        if s.refname == qualifier and (schema is None or (s.table and s.table.schema == schema))
    ]
    if not matches:
        return None
    if len(matches) != 1 or matches[0].columns is None:
        return None, matches
    src = matches[0]
    return [(src, c) for c in src.columns or []], (src.inner or [src])


def output_names(query: exp.Expression, scope: Scope) -> list[str] | None:
    """The names of the columns a query returns, or None when they cannot be told for sure."""
    scope = scope.with_ctes(query)
    if isinstance(query, exp.Subquery):
        inner = scope.deeper()
        return output_names(query.this, inner) if inner is not None else None
    if isinstance(query, exp.SetOperation):
        inner = scope.deeper()
        return output_names(query.this, inner) if inner is not None else None
    if isinstance(query, exp.Values):
        width = _values_width(query)
        return [f"column{i}" for i in range(1, width + 1)] if width else None
    if not isinstance(query, exp.Select):
        return None
    nodes: list[Node] | None = None
    names: list[str] = []
    for proj in query.expressions:
        if is_star(proj):
            if nodes is None:
                nodes = from_nodes(query, scope)
            covered = star_columns(proj, nodes)
            if covered is None or covered[0] is None:
                return None
            names.extend(n for _, n in covered[0])
            continue
        name = _column_name(proj)
        if name is None:
            return None
        names.append(name)
    return names


def is_star(proj: exp.Expression) -> bool:
    return isinstance(proj, exp.Star) or (
        isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)
    )


_AGGREGATES: dict[type, str] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Min: "min",
    exp.Max: "max",
    exp.Avg: "avg",
}


def _column_name(proj: exp.Expression) -> str | None:
    """The name PostgreSQL gives an output column, for the expressions where it is plain."""
    if isinstance(proj, exp.Alias):
        return fold(proj.args.get("alias"))
    while isinstance(proj, exp.Paren):
        proj = proj.this
    if isinstance(proj, exp.Cast) and isinstance(proj.this, exp.Column):
        proj = proj.this
    if isinstance(proj, exp.Column) and isinstance(proj.this, exp.Identifier):
        return fold(proj.this)
    if isinstance(proj, exp.Literal):
        return "?column?"
    return _AGGREGATES.get(type(proj))


def write_columns(items: list[Item], nodes: list[Node], qualify: bool) -> list[str] | None:
    """Each column as a reference PostgreSQL resolves to exactly that column, or None."""
    every = []
    for node in nodes:
        node_items = expansion(node)
        every.extend(n for _, n in node_items) if node_items is not None else every.append(None)
    visible = visible_sources(nodes)
    out: list[str] = []
    for src, name in items:
        if src is None:
            # a merged USING / NATURAL column can only be written unqualified
            if None in every or every.count(name) != 1:
                return None
            out.append(quote_ident(name))
            continue
        if (src.columns or []).count(name) != 1:
            return None  # `q.name` would be ambiguous
        if not qualify:
            if None in every or every.count(name) != 1:
                return None
            out.append(quote_ident(name))
            continue
        qualifier = _qualifier(src, visible)
        if qualifier is None:
            return None
        out.append(f"{qualifier}.{quote_ident(name)}")
    return out


def _qualifier(src: Source, visible: list[Source]) -> str | None:
    """How a column of `src` is qualified so that PostgreSQL finds `src` and only it."""
    if src.refname is None:
        return None
    same = [s for s in visible if s.refname == src.refname]
    if len(same) == 1:
        return quote_ident(src.refname)
    # two schemas' tables of the same name, neither aliased: `schema.table.column`
    if src.table is None or any(s.table is None for s in same):
        return None
    keys = [s.table.key for s in same if s.table is not None]
    if len(set(keys)) != len(keys):
        return None
    return f"{quote_ident(src.table.schema)}.{quote_ident(src.table.name)}"


def body_scope(src: Source, scope: Scope) -> Scope:
    """The scope a derived relation's query is read in: a CTE's own, else the current one."""
    node = src.node
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
        name = fold(node.this)
        if not node.args.get("db") and name in scope.ctes:
            return scope.ctes[name][1]
    return scope
