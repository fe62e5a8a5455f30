"""
**What it does**

Flags a table (or subquery) listed after a comma in `FROM` that no condition of the `WHERE`
clause, or of the `ON` clauses of the query's joins, relates to the other tables:
`FROM orders o, customers c WHERE o.total > 100`. It does not flag `LATERAL` items, functions
(`unnest(…)`, `generate_series(…)`), `VALUES` lists, subqueries and CTEs that return a single
row (`(SELECT max(x) …)`, `WITH params AS (SELECT … )` without `FROM`), nor an explicit
`CROSS JOIN`. When a column of the `WHERE` clause cannot be attributed to a table (unqualified
and not found in the schema), the rule says nothing.

**Why is this bad?**

`FROM a, b` with no condition between them is a cross join: every row of `a` paired with every
row of `b`. With 10,000 orders and 1,000 customers that is 10 million rows, usually the result of
a forgotten join condition, and the duplicates it produces are often hidden by a `DISTINCT`.
When the product is intended, `CROSS JOIN` says so.

**Example**

```sql
SELECT o.id, c.name FROM orders o, customers c WHERE o.total > 100;
```

**Use instead**

```sql
SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 100;
```
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import fold
from sql_lsp.query_model import conjuncts, from_items, source_name
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, is_type, tokens


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    selects = []  # the queries with a comma item in FROM, found in one walk
    for join in ctx.find_all(exp.Join):
        select = join.parent
        plain = not any(join.args.get(k) for k in ("on", "using", "kind", "side", "method"))
        if plain and isinstance(select, exp.Select) and all(select is not s for s in selects):
            selects.append(select)
    if not selects:
        return
    ctes = {fold(c.alias_or_name): c.this for c in ctx.find_all(exp.CTE)}
    for select in selects:
        from_ = select.args.get("from_")
        joins = select.args.get("joins") or []
        if from_ is None or not joins:
            continue
        yield from _check_select(ctx, select, from_.this, joins, ctes)


def _check_select(
    ctx: RuleContext,
    select: exp.Select,
    first: exp.Expression,
    joins: list[exp.Join],
    ctes: dict[str, exp.Expression],
) -> Iterator[Finding]:
    items = [first, *(j.this for j in joins)]
    names = [source_name(item) for item in items]
    if None in names or len(set(names)) != len(names):
        return
    toks = tokens(ctx)
    comma_items = []
    for join in joins:
        item = join.this
        if join.args.get("on") or join.args.get("using") or join.args.get("kind"):
            continue
        if not _many_rows(item, ctes):
            continue
        span = ctx.locate(item)
        if span is None:
            continue
        if not is_type(at(toks, index_at(ctx, span[0]) - 1), TokenType.COMMA):
            continue  # not a comma item (CROSS JOIN, NATURAL JOIN, …)
        comma_items.append((item, span))
    if not comma_items:
        return
    groups = _connections(ctx, select, items, names, joins)
    if groups is None:
        return
    first = next(item for item in items if _many_rows(item, ctes))
    root = _find(groups, source_name(first) or "")
    for item, span in comma_items:
        name = source_name(item)
        if item is first or name is None or _find(groups, name) == root:
            continue
        # a comma item may be related to a later one that is related to the first: only items
        # outside the first item's group are reported
        yield ctx.finding(
            span[0],
            span[1],
            f"{_shown(ctx, item, span)} is listed in FROM with no condition relating it to "
            f"{_shown(ctx, first, ctx.locate(first))}: a cross join of every row with every "
            "row; add the join condition (or write CROSS JOIN)",
        )


def _shown(ctx: RuleContext, item: exp.Expression, span: tuple[int, int] | None) -> str:
    if isinstance(item, exp.Table) and span is not None:
        return ctx.text[span[0] : span[1]]
    return f"subquery {source_name(item)}"


def _many_rows(item: exp.Expression, ctes: dict[str, exp.Expression]) -> bool:
    """A table, or a subquery / CTE that may return several rows."""
    if isinstance(item, exp.Table):
        if not isinstance(item.this, exp.Identifier):
            return False  # a function
        if item.args.get("db") is None and fold(item.this) in ctes:
            return not _single_row(ctes[fold(item.this)])
        return True
    if isinstance(item, exp.Subquery):
        return not _single_row(item.this)
    return False  # LATERAL, UNNEST, VALUES, …


def _single_row(query: exp.Expression) -> bool:
    if isinstance(query, exp.Values):
        return len(query.expressions) == 1
    if not isinstance(query, exp.Select):
        return False
    if query.args.get("from_") is None:
        return True
    limit = query.args.get("limit")
    if isinstance(limit, exp.Limit) and limit.expression.name == "1":
        return True
    return query.args.get("group") is None and any(
        p.find(exp.AggFunc) is not None and p.find(exp.Window) is None for p in query.expressions
    )


def _connections(
    ctx: RuleContext,
    select: exp.Select,
    items: list[exp.Expression],
    names: list[str | None],
    joins: list[exp.Join],
) -> dict[str, str] | None:
    """Union-find over the FROM items, joined by every condition that mentions several of
    them; None when a column cannot be attributed to an item."""
    parent = {n: n for n in names if n is not None}
    conditions: list[exp.Expression] = []
    where = select.args.get("where")
    if where is not None:
        conditions += conjuncts(where.this)
    for join in joins:
        on = join.args.get("on")
        if on is not None:
            conditions += conjuncts(on)
        using = join.args.get("using")
        if using:
            return None  # USING relates the joined item to an unnamed earlier one
    columns = _item_columns(ctx, items, names)
    for cond in conditions:
        touched = set()
        for col in cond.find_all(exp.Column):
            owner = _owner(ctx, col, select, parent, columns)
            if owner is _UNKNOWN:
                return None
            if owner is not None:
                touched.add(owner)
        touched_list = sorted(touched)
        for other in touched_list[1:]:
            _union(parent, touched_list[0], other)
    return parent


_UNKNOWN = "\0unknown"


def _owner(
    ctx: RuleContext,
    col: exp.Column,
    select: exp.Select,
    items: dict[str, str],
    columns: dict[str, set[str] | None],
) -> str | None:
    """The FROM item of `select` a column of one of its conditions belongs to; None for
    another scope's column; _UNKNOWN when that cannot be told."""
    table = col.args.get("table")
    if table is not None:
        name = fold(table)
        scope = col.find_ancestor(exp.Select)
        if scope is not select and name in _scope_names(scope):
            return None  # a nested subquery's own table
        return name if name in items else None
    column = fold(col.this)
    scope = col.find_ancestor(exp.Select)
    if scope is not select:
        inner = _scope_tables(ctx, scope)
        if inner is None:
            return _UNKNOWN
        if any(column in cols for cols in inner):
            return None  # the nested subquery's own column
    owners = [n for n, cols in columns.items() if cols is not None and column in cols]
    if len(owners) == 1:
        return owners[0]
    if not owners and all(cols is not None for cols in columns.values()):
        return None  # an enclosing query's column
    return _UNKNOWN


def _scope_names(scope: exp.Expression | None) -> set[str]:
    if not isinstance(scope, exp.Select):
        return set()
    items = from_items(scope)
    return {n for n in (source_name(i) for i in items) if n is not None}


def _scope_tables(ctx: RuleContext, scope: exp.Expression | None) -> list[set[str]] | None:
    """The column sets of a nested subquery's tables; None when one is not known."""
    if not isinstance(scope, exp.Select):
        return None
    items = from_items(scope)
    out = []
    for item in items:
        if not (isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier)):
            return None
        table = ctx.table(item)
        if table is None or not table.columns_known:
            return None
        out.append(set(table.columns))
    return out


def _item_columns(
    ctx: RuleContext, items: list[exp.Expression], names: list[str | None]
) -> dict[str, set[str] | None]:
    out: dict[str, set[str] | None] = {}
    for item, name in zip(items, names, strict=True):
        if name is None:
            continue
        cols: set[str] | None = None
        alias = item.args.get("alias")
        if alias is not None and alias.columns:
            cols = {fold(c) for c in alias.columns}
        elif isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            table = ctx.table(item)
            if table is not None and table.columns_known:
                cols = set(table.columns)
        elif (
            isinstance(item, exp.Subquery)
            and isinstance(item.this, exp.Select)
            and not any(isinstance(p, exp.Star) for p in item.this.expressions)
        ):
            cols = {fold(p.alias_or_name) for p in item.this.expressions}
        out[name] = cols
    return out


def _find(parent: dict[str, str], name: str) -> str:
    while parent[name] != name:
        parent[name] = parent[parent[name]]
        name = parent[name]
    return name


def _union(parent: dict[str, str], a: str, b: str) -> None:
    parent[_find(parent, a)] = _find(parent, b)


RULE = Rule(
    id="implicit-cross-join",
    summary="`FROM a, b` with no condition relating them: an unintended cross join",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    applies=lambda text: "," in text,
)
