"""
**What it does**

Flags `expr NOT IN (SELECT …)`: a `NOT IN` whose list is a subquery, in any clause. `NOT IN`
with a list of values (`status NOT IN ('done', 'failed')`) is not flagged.

**Why is this bad?**

As soon as the subquery returns one NULL, `x NOT IN (…)` is never true (it is NULL or false
for every row), so the query silently returns nothing; and a NULL `x` never matches either. It
is also slow: PostgreSQL cannot plan `NOT IN (SELECT …)` as an anti-join. It runs the subquery
once into a hash table when that fits in `work_mem`, and otherwise scans the subquery's result
again for every outer row. `NOT EXISTS` has neither problem: it has the meaning usually wanted
(no matching row) and is planned as an anti-join.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);

SELECT u.id FROM users u WHERE u.id NOT IN (SELECT user_id FROM orders);
```

**Use instead**

```sql
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);

SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders WHERE orders.user_id = u.id);
```

**Fix safety**

The fix rewrites `x NOT IN (SELECT c FROM t [WHERE p])` as
`NOT EXISTS (SELECT 1 FROM t WHERE [(p) AND] t.c = x)`. It is offered when the subquery reads
one table (no join, grouping, `LIMIT`, set operation or `WITH`), selects one of its columns, and
both columns are known from the schema, the outer one from exactly one table of the outer query.
The two forms agree whenever neither side is NULL, so the fix is **safe** when both `c` and `x`
are `NOT NULL` columns (and `x` is not on the optional side of an outer join); otherwise the fix
is **unsafe**: with NULLs, `NOT EXISTS` returns the rows that `NOT IN` silently dropped, which is
usually what was meant, but changes the result.

**Needs**

Nothing for the finding; the workspace schema (or a database) for the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import Column, fold
from sql_lsp.rules.base import SAFE, UNSAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

_NOT_IN = re.compile(r"\bnot\s+in\b", re.I)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for node in ctx.find_all(exp.In):
        query = node.args.get("query")
        if not isinstance(node.parent, exp.Not) or query is None:
            continue
        finding = _finding(ctx, node, query)
        if finding is not None:
            yield finding


def _finding(ctx: RuleContext, node: exp.In, query: exp.Expression) -> Finding | None:
    left = ctx.locate(node.this)
    if left is None:
        return None
    toks = tokens(ctx)
    i = index_at(ctx, left[1] - 1)
    start = left[0]
    if isinstance(node.this, exp.Tuple):  # `(a, b) NOT IN (…)`: the tuple's parentheses
        first = index_at(ctx, left[0])
        if not (
            is_type(at(toks, i + 1), TokenType.R_PAREN)
            and is_type(at(toks, first - 1), TokenType.L_PAREN)
        ):
            return None
        i += 1
        start = span_of(ctx, toks[first - 1])[0]
    if not (
        is_type(at(toks, i + 1), TokenType.NOT)
        and is_type(at(toks, i + 2), TokenType.IN)
        and is_type(at(toks, i + 3), TokenType.L_PAREN)
    ):
        return None
    close = _closing(toks, i + 3)
    if close is None:
        return None
    end = span_of(ctx, toks[close])[1]
    fix = _fix(ctx, node, query, start, end)
    inner = _inner_column(ctx, query)
    if inner is not None and inner[3].not_null:
        message = (
            "NOT IN (SELECT …) cannot be planned as an anti-join (the subquery is hashed in "
            "memory, or rescanned for every row); use NOT EXISTS"
        )
    else:
        message = (
            "NOT IN (SELECT …) is never true once the subquery returns a NULL, and cannot be "
            "planned as an anti-join; use NOT EXISTS"
        )
    return ctx.finding(start, end, message, [fix] if fix is not None else [])


def _closing(toks: list, i: int) -> int | None:
    """Index of the `)` that closes the `(` at token `i`."""
    depth = 0
    for k in range(i, len(toks)):
        tt = toks[k].token_type
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return k
    return None


def _inner_column(
    ctx: RuleContext, query: exp.Expression
) -> tuple[exp.Select, exp.Table, exp.Column, Column] | None:
    """The subquery, its one table, the column it selects and that column in the catalog,
    when the subquery is simple enough to rewrite."""
    inner = query.this if isinstance(query, exp.Subquery) else query
    if not isinstance(inner, exp.Select):
        return None
    if any(inner.args.get(k) for k in ("joins", "group", "having", "limit", "offset", "with_")):
        return None
    if any(inner.args.get(k) for k in ("laterals", "qualify", "windows", "fetch", "locks")):
        return None
    from_ = inner.args.get("from_")
    if len(inner.expressions) != 1 or from_ is None or from_.expressions:
        return None
    source = from_.this
    projection = inner.expressions[0]
    if isinstance(projection, exp.Alias):
        projection = projection.this
    if not isinstance(source, exp.Table) or not isinstance(projection, exp.Column):
        return None
    inner_name = _reference(source)
    qualifier = projection.args.get("table")
    if qualifier is not None and fold(qualifier) != inner_name:
        return None
    column = _column(ctx, source, projection)
    return (inner, source, projection, column) if column is not None else None


def _fix(ctx: RuleContext, node: exp.In, query: exp.Expression, start: int, end: int) -> Fix | None:
    outer_col = node.this
    found = _inner_column(ctx, query)
    if found is None or not isinstance(outer_col, exp.Column):
        return None
    inner, source, projection, inner_column = found
    inner_name = _reference(source)
    outer = _outer_source(ctx, node, outer_col)
    if outer is None:
        return None
    outer_source, outer_column, nullable_side = outer
    outer_name = _reference(outer_source)
    if outer_name == inner_name:
        return None  # the outer qualifier would be shadowed inside the subquery
    text = ctx.text
    source_span = ctx.locate(source)
    if source_span is None:
        return None
    from_text = text[source_span[0] : source_span[1]]
    condition = f"{_written(ctx, source)}.{_ident(ctx, projection)} = "
    condition += f"{_written(ctx, outer_source)}.{_ident(ctx, outer_col)}"
    where = inner.args.get("where")
    if where is not None:
        where_span = ctx.locate(where.this)
        if where_span is None:
            return None
        condition = f"({text[where_span[0] : where_span[1]]}) AND {condition}"
    replacement = f"NOT EXISTS (SELECT 1 FROM {from_text} WHERE {condition})"
    safe = inner_column.not_null and outer_column.not_null and not nullable_side
    return Fix(
        "Rewrite NOT IN (SELECT …) as NOT EXISTS",
        (Edit(start, end, replacement),),
        SAFE if safe else UNSAFE,
    )


def _reference(source: exp.Table) -> str:
    """The name a query refers to a FROM item by: its alias, else its table name."""
    return fold(source.alias) if source.alias else fold(source.this)


def _written(ctx: RuleContext, source: exp.Table) -> str:
    """The alias or table name as written in the query."""
    ident = source.args["alias"].this if source.alias else source.this
    span = ctx.locate(ident)
    return ctx.text[span[0] : span[1]] if span else ident.sql(dialect="postgres")


def _ident(ctx: RuleContext, col: exp.Column) -> str:
    span = ctx.locate(col.this)
    return ctx.text[span[0] : span[1]] if span else col.this.sql(dialect="postgres")


def _column(ctx: RuleContext, source: exp.Table, col: exp.Column) -> Column | None:
    table = ctx.table(source) if isinstance(source.this, exp.Identifier) else None
    if table is None or not table.columns_known:
        return None
    return table.columns.get(fold(col.this))


def _outer_source(
    ctx: RuleContext, node: exp.In, col: exp.Column
) -> tuple[exp.Table, Column, bool] | None:
    """The FROM item of the enclosing query that `col` belongs to, its catalog column, and
    whether that item is on the optional side of an outer join. None when it cannot be told."""
    select = node.find_ancestor(exp.Select, exp.Subquery, exp.Update, exp.Delete)
    if not isinstance(select, exp.Select):
        return None
    from_ = select.args.get("from_")
    if from_ is None:
        return None
    joins = select.args.get("joins") or []
    items = [from_.this, *from_.expressions, *(j.this for j in joins)]
    if not all(isinstance(s, exp.Table) and isinstance(s.this, exp.Identifier) for s in items):
        return None
    qualifier = col.args.get("table")
    if qualifier is not None:
        matches = [s for s in items if _reference(s) == fold(qualifier)]
    else:
        matches = []
        for s in items:
            table = ctx.table(s)
            if table is None or not table.columns_known:
                return None  # it might be that table's column
            if fold(col.this) in table.columns:
                matches.append(s)
    if len(matches) != 1:
        return None
    source = matches[0]
    column = _column(ctx, source, col)
    if column is None:
        return None
    nullable = False
    for j in joins:
        side = (j.side or "").upper()
        if side == "FULL" or (side == "LEFT" and j.this is source):
            nullable = True
        if side == "RIGHT" and j.this is not source:
            nullable = True
    return source, column, nullable


RULE = Rule(
    id="not-in-subquery",
    summary="`NOT IN (SELECT …)`, which a NULL makes match nothing and which is not an anti-join",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="sometimes",
    dialects=("postgres",),
    applies=lambda text: _NOT_IN.search(text) is not None,
    words=("not",),
)
