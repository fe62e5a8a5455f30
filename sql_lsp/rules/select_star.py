"""
**What it does**

Flags `*` and `t.*` in a select list whose columns reach the client, a view or a table created
with `CREATE TABLE … AS`: the top-level query, each branch of a `UNION`, and a CTE or subquery
whose own `*` is passed on by an outer `*`. It does not flag `count(*)`, `EXISTS (SELECT * …)`,
a `*` inside `IN (…)`, or a `*` over CTEs, subqueries and functions whose columns are listed
explicitly.

**Why is this bad?**

`SELECT *` ships every column over the network, including wide ones nobody reads (`jsonb`
blobs, `text` bodies), and it defeats index-only scans. Worse, the result changes shape when a
column is added, dropped or reordered: application code that maps columns by position breaks, and
a view defined with `*` silently freezes the column list of the day it was created.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);

SELECT * FROM users WHERE id = 1;
```

**Use instead**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);

SELECT id, email, name FROM users WHERE id = 1;
```

**Fix safety**

The fix replaces the `*` with the columns PostgreSQL expands it to, in the same order and with
the same names, so the query returns exactly what it returned before; it is safe. It follows
PostgreSQL's rules: a table's columns in table order; a column-alias list (`FROM t AS x(a)`)
renames the first columns and keeps the others; `JOIN … USING (c)` and `NATURAL JOIN` give the
merged columns once, first, then the other columns of each side; CTEs and subqueries (with or
without column lists, `LATERAL` too), `VALUES` lists, views, and `generate_series` / `unnest` of
scalars in `FROM`. When the query reads several relations every column is qualified with its
relation's name (`schema.table.column` when two schemas' tables of the same name are joined);
names are quoted where PostgreSQL needs it (upper case, spaces, key words).

There is no fix when the result cannot be proven the same: a relation whose columns are not
known (a table missing from the schema, a table to which the database adds columns the
workspace does not declare, a function whose output columns are not known, `ROWS FROM`), a
merged `USING` column whose name another relation of the query also has, a relation
with two columns of the same name, or a reference PostgreSQL would call ambiguous.

**Severity**

`warning` for a query whose rows reach a client; `info` for `CREATE VIEW`,
`CREATE MATERIALIZED VIEW` and `CREATE TABLE … AS`, with their own message. The risk there is a
different one: PostgreSQL expands the `*` once, when the view or table is created, and stores
the column list, so nothing changes shape under a running application; what surprises people
is that a column added to the table later never shows up in the view. pg_dump and Rails'
`structure.sql` always write views with their columns listed (the corpus of public schemas
holds no view with `*`), so a `*` in a view is hand-written DDL that deserves a note rather than
a warning. A severity set in the configuration (`rules.select-star = "error"`) applies to both.

**Needs**

Nothing for the finding; the workspace schema (or a database) for the fix. History-aware: in a
migration (a file that changes the schema), `*` expands to the columns as they stand at that
statement, after the files before it and the statements before it in the same file; a file of
queries sees the final schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlglot import exp

from sql_lsp.catalog.model import Catalog, Table, fold, qualified_name, quote_ident
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext


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


# -- the query model: the relations a FROM clause makes and the columns `*` expands to ----------


@dataclass(eq=False)
class _Source:
    """One relation of a FROM clause (a range-table entry, in PostgreSQL's words)."""

    node: exp.Expression  # the FROM item
    refname: str | None  # how the query refers to it; None when it cannot be referred to
    columns: list[str] | None  # its columns in order (alias list applied), None when unknown
    table: Table | None = None  # the catalog table, when it is one written without an alias
    derived: exp.Expression | None = None  # the query behind a CTE reference or a subquery
    relation: bool = False  # a table or view (known or not), not a CTE, subquery or function
    inner: list[_Source] = field(default_factory=list)  # the relations of an aliased join


@dataclass(eq=False)
class _Join:
    left: _Source | _Join
    right: _Source | _Join
    using: list[str] | None  # the merged columns of USING / NATURAL, None for other joins
    natural: bool = False


_Node = _Source | _Join
# one column of a `*` expansion: the relation it comes from (None: a merged join column), name
_Item = tuple[_Source | None, str]
_MAX_DEPTH = 50


@dataclass
class _Scope:
    """What names mean where a query is: CTEs in reach, the catalog, the statement's place."""

    catalog: Catalog
    search_path: tuple[str, ...]
    doc: str
    offset: int
    ctes: dict[str, tuple[exp.CTE, _Scope]] = field(default_factory=dict)
    depth: int = 0
    resolving: frozenset[int] = frozenset()  # the CTEs whose columns are being worked out

    def with_ctes(self, query: exp.Expression) -> _Scope:
        with_ = query.args.get("with_")
        if not isinstance(with_, exp.With):
            return self
        scope = _Scope(
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
                before = _Scope(
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

    def deeper(self) -> _Scope | None:
        if self.depth >= _MAX_DEPTH:
            return None
        return _Scope(
            self.catalog,
            self.search_path,
            self.doc,
            self.offset,
            self.ctes,
            self.depth + 1,
            self.resolving,
        )

    def entering(self, cte: exp.CTE, where: _Scope) -> _Scope | None:
        """The scope a CTE's body is read in (`where`, its definition's), from here; None when
        the CTE is already being read (a reference to itself) or the nesting is too deep."""
        if id(cte) in self.resolving or self.depth >= _MAX_DEPTH:
            return None
        return _Scope(
            self.catalog,
            self.search_path,
            self.doc,
            self.offset,
            where.ctes,
            self.depth + 1,
            self.resolving | {id(cte)},
        )


def _from_nodes(select: exp.Select, scope: _Scope) -> list[_Node]:
    """The FROM items of a SELECT, each a join tree (JOIN binds tighter than a comma)."""
    nodes: list[_Node] = []
    from_ = select.args.get("from_")
    if from_ is not None:
        nodes.append(_node(from_.this, scope))
        nodes.extend(_node(e, scope) for e in from_.expressions)
    for join in select.args.get("joins") or []:
        _add_join(nodes, join, scope)
    return nodes


def _add_join(nodes: list[_Node], join: exp.Join, scope: _Scope) -> None:
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
        nodes[-1] = _Join(nodes[-1], right, None, natural=True)
    elif using:
        nodes[-1] = _Join(nodes[-1], right, [fold(u) for u in using])
    else:
        nodes[-1] = _Join(nodes[-1], right, None)


def _node(src: exp.Expression, scope: _Scope, leaf: bool = False) -> _Node:
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
        return _Source(src, alias_name, None)
    if isinstance(src, exp.Subquery):
        body = src.this
        if isinstance(body, exp.Table | exp.Subquery) and body.args.get("joins"):
            return _paren_join(src, body, alias_name, alias_cols, scope)
        return _derived(src, body, alias_name, alias_cols, scope)
    if isinstance(src, exp.Values):
        width = _values_width(src)
        cols = [f"column{i}" for i in range(1, width + 1)] if width else None
        return _Source(src, alias_name, _renamed(cols, alias_cols))
    if isinstance(src, exp.Unnest):
        cols = _unnest_columns(src, alias_name)
        return _function(
            src, src, alias_name or "unnest", alias_cols, cols, bool(src.args.get("offset"))
        )
    if isinstance(src, exp.Table):
        if src.args.get("rows_from") or (src.args.get("joins") and not leaf):
            return _Source(src, alias_name, None)
        if isinstance(src.this, exp.Func):
            cols = _function_columns(src.this, alias_name)
            ordinality = bool(src.args.get("ordinality"))
            return _function(src, src.this, alias_name, alias_cols, cols, ordinality)
        if isinstance(src.this, exp.Identifier):
            return _table(src, alias_name, alias_cols, scope)
    return _Source(src, alias_name, None)


def _table(src: exp.Table, alias_name: str | None, alias_cols: list, scope: _Scope) -> _Source:
    name = fold(src.this)
    if not src.args.get("db") and name in scope.ctes:
        cte, cte_scope = scope.ctes[name]
        inner = scope.entering(cte, cte_scope)
        cols = _output_names(cte.this, inner) if inner is not None else None
        cte_alias = cte.args.get("alias")
        if isinstance(cte_alias, exp.TableAlias):
            cols = _renamed(cols, list(cte_alias.columns))
        return _Source(src, alias_name or name, _renamed(cols, alias_cols), derived=cte.this)
    table, cols = table_columns(scope.catalog, src, scope.search_path, scope.doc, scope.offset)
    return _Source(
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
    scope: _Scope,
) -> _Source:
    inner = scope.deeper()
    cols = _output_names(body, inner) if inner is not None else None
    return _Source(src, alias_name, _renamed(cols, alias_cols), derived=body)


def _paren_join(
    src: exp.Subquery,
    body: exp.Table | exp.Subquery,
    alias_name: str | None,
    alias_cols: list,
    scope: _Scope,
) -> _Node:
    """`(a JOIN b …)`: without an alias the join itself; with one, a relation of its columns."""
    nodes: list[_Node] = [_node(body, scope, leaf=True)]
    for join in body.args.get("joins") or []:
        _add_join(nodes, join, scope)
    tree = nodes[0] if len(nodes) == 1 else None
    if tree is None:
        return _Source(src, alias_name, None)
    if alias_name is None and not alias_cols:
        return tree
    items = _items(tree)
    cols = [name for _, name in items] if items is not None else None
    return _Source(src, alias_name, _renamed(cols, alias_cols), inner=_leaves(tree))


def _function(
    src: exp.Expression,
    func: exp.Expression,
    alias_name: str | None,
    alias_cols: list,
    cols: list[str] | None,
    ordinality: bool,
) -> _Source:
    if alias_cols and all(isinstance(c, exp.ColumnDef) for c in alias_cols):
        # a column definition list `AS x(a int, b text)` names every output column
        if ordinality:
            return _Source(src, alias_name or _function_name(func), None)
        defined = [fold(c.this) for c in alias_cols]
        return _Source(src, alias_name or _function_name(func), defined)
    if cols is not None and ordinality:
        cols = [*cols, "ordinality"]
    return _Source(src, alias_name or _function_name(func), _renamed(cols, alias_cols))


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


def _leaves(node: _Node) -> list[_Source]:
    if isinstance(node, _Source):
        return [node]
    return _leaves(node.left) + _leaves(node.right)


def _items(node: _Node) -> list[_Item] | None:
    """The columns `*` takes from a FROM item, in PostgreSQL's order, or None when unknown."""
    if isinstance(node, _Source):
        if node.columns is None:
            return None
        return [(node, c) for c in node.columns]
    left, right = _items(node.left), _items(node.right)
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


def _visible(nodes: list[_Node]) -> list[_Source]:
    """The relations a column reference of this query level can name."""
    return [leaf for node in nodes for leaf in _leaves(node)]


def _covered(
    star: exp.Expression, nodes: list[_Node]
) -> tuple[list[_Item] | None, list[_Source]] | None:
    """What a `*` / `q.*` expands to (None when unknown) and the relations it covers; None when
    `q` names nothing of this query level."""
    if isinstance(star, exp.Star):
        covered = [r for s in _visible(nodes) for r in (s.inner or [s])]
        out: list[_Item] = []
        for node in nodes:
            items = _items(node)
            if items is None:
                return None, covered
            out.extend(items)
        return out, covered
    qualifier = fold(star.args.get("table"))
    schema = fold(star.args.get("db")) if star.args.get("db") else None
    matches = [
        s
        for s in _visible(nodes)
        if s.refname == qualifier and (schema is None or (s.table and s.table.schema == schema))
    ]
    if not matches:
        return None
    if len(matches) != 1 or matches[0].columns is None:
        return None, matches
    src = matches[0]
    return [(src, c) for c in src.columns or []], (src.inner or [src])


def _output_names(query: exp.Expression, scope: _Scope) -> list[str] | None:
    """The names of the columns a query returns, or None when they cannot be told for sure."""
    scope = scope.with_ctes(query)
    if isinstance(query, exp.Subquery):
        inner = scope.deeper()
        return _output_names(query.this, inner) if inner is not None else None
    if isinstance(query, exp.SetOperation):
        inner = scope.deeper()
        return _output_names(query.this, inner) if inner is not None else None
    if isinstance(query, exp.Values):
        width = _values_width(query)
        return [f"column{i}" for i in range(1, width + 1)] if width else None
    if not isinstance(query, exp.Select):
        return None
    nodes: list[_Node] | None = None
    names: list[str] = []
    for proj in query.expressions:
        if _is_star(proj):
            if nodes is None:
                nodes = _from_nodes(query, scope)
            covered = _covered(proj, nodes)
            if covered is None or covered[0] is None:
                return None
            names.extend(n for _, n in covered[0])
            continue
        name = _column_name(proj)
        if name is None:
            return None
        names.append(name)
    return names


def _is_star(proj: exp.Expression) -> bool:
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


# -- writing the expansion ---------------------------------------------------------------------


def _write(items: list[_Item], nodes: list[_Node], qualify: bool) -> list[str] | None:
    """Each column as a reference PostgreSQL resolves to exactly that column, or None."""
    every = []
    for node in nodes:
        node_items = _items(node)
        every.extend(n for _, n in node_items) if node_items is not None else every.append(None)
    visible = _visible(nodes)
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


def _qualifier(src: _Source, visible: list[_Source]) -> str | None:
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


# -- the rule ----------------------------------------------------------------------------------


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if isinstance(tree, exp.Select) and not any(_is_star(p) for p in tree.expressions):
        return  # the common case: `count(*)` and the like
    scope = _Scope(ctx.catalog, tuple(ctx.search_path), ctx.document.uri, ctx.history_point())
    seen: set[int] = set()
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind in ("VIEW", "TABLE") and isinstance(tree.expression, exp.Query):
            yield from _visit(ctx, tree.expression, scope, seen)
    elif isinstance(tree, exp.Query):
        yield from _visit(ctx, tree, scope, seen)


def _visit(
    ctx: RuleContext, query: exp.Expression, scope: _Scope, seen: set[int]
) -> Iterator[Finding]:
    """`query`'s columns reach the client: flag its stars over tables, follow stars over CTEs
    and subqueries. Each query is visited once, however many stars reach it."""
    if id(query) in seen:
        return
    seen.add(id(query))
    if isinstance(query, exp.Select) and not any(_is_star(p) for p in query.expressions):
        return
    inner = scope.deeper()
    if inner is None:
        return
    scope = inner.with_ctes(query)
    if isinstance(query, exp.Subquery):
        yield from _visit(ctx, query.this, scope, seen)
        return
    if isinstance(query, exp.SetOperation):
        yield from _visit(ctx, query.this, scope, seen)
        yield from _visit(ctx, query.expression, scope, seen)
        return
    if not isinstance(query, exp.Select):
        return
    nodes: list[_Node] | None = None
    for proj in query.expressions:
        if not _is_star(proj):
            continue
        if nodes is None:
            nodes = _from_nodes(query, scope)
        covered = _covered(proj, nodes)
        if covered is None:
            # `x.*` over something this query level does not have: still a star over a table
            yield _finding(ctx, proj, ["the source"], None)
            continue
        items, sources = covered
        tables: list[_Source] = []
        for src in sources:
            if src.derived is not None:
                yield from _visit(ctx, src.derived, _body_scope(src, scope), seen)
            elif src.relation:
                tables.append(src)
        if tables:
            columns = None
            if items:
                columns = _write(items, nodes, qualify=len(_visible(nodes)) > 1)
            names = [_table_name(ctx, s) for s in tables]
            yield _finding(ctx, proj, names, columns)


def _body_scope(src: _Source, scope: _Scope) -> _Scope:
    """The scope a derived relation's query is read in: a CTE's own, else the current one."""
    node = src.node
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
        name = fold(node.this)
        if not node.args.get("db") and name in scope.ctes:
            return scope.ctes[name][1]
    return scope


def _table_name(ctx: RuleContext, src: _Source) -> str:
    node = src.node
    if src.table is not None:
        return qualified_name(src.table.schema, src.table.name, ctx.search_path)
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
        table = ctx.table(node)
        if table is not None:
            return qualified_name(table.schema, table.name, ctx.search_path)
        schema = fold(node.args.get("db")) if node.args.get("db") else ctx.search_path[0]
        return qualified_name(schema, fold(node.this), ctx.search_path)
    return "the source"


def _finding(
    ctx: RuleContext, proj: exp.Expression, names: list[str], columns: list[str] | None
) -> Finding:
    span = ctx.locate(proj)
    start, end = span if span else (ctx.statement.start, ctx.statement.end)
    star_text = ctx.text[start:end]
    what = ", ".join(dict.fromkeys(names))
    fixes = []
    if columns and star_text.endswith("*"):  # not `TABLE t`, which has no `*` to replace
        title = f"Replace {star_text} with {len(columns)} column{'s' if len(columns) != 1 else ''}"
        fixes.append(Fix(title, (Edit(start, end, ", ".join(columns)),), SAFE))
    frozen = _frozen(ctx.tree)
    if frozen is not None:
        message = (
            f"{star_text} in {frozen} is expanded once, when it is created: columns added to "
            f"{what} later will not appear in it; list the columns"
        )
        return Finding(RULE.id, start, end, message, "info", tuple(fixes))
    message = f"{star_text} selects every column of {what}; list the columns the query needs"
    return ctx.finding(start, end, message, fixes)


def _frozen(tree: exp.Expression | None) -> str | None:
    """ "a view" / "a materialized view" / "CREATE TABLE … AS" when the statement stores its
    columns at creation time, else None."""
    if not isinstance(tree, exp.Create):
        return None
    kind = (tree.args.get("kind") or "").upper()
    if kind == "VIEW":
        materialized = any(
            isinstance(p, exp.MaterializedProperty)
            for p in (tree.args.get("properties") or exp.Properties()).expressions
        )
        return "a materialized view" if materialized else "a view"
    return "CREATE TABLE … AS" if kind == "TABLE" else None


RULE = Rule(
    id="select-star",
    summary="`SELECT *` whose columns reach the client, a view or CREATE TABLE AS",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="safe",
    applies=lambda text: "*" in text,
)
