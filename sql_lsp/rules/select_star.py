"""
**What it does**

Flags `*` and `t.*` in a select list whose columns reach the client, a view or a table created
with `CREATE TABLE … AS`: the top-level query, each branch of a `UNION`, and a CTE or subquery
whose own `*` is passed on by an outer `*`. It does not flag `count(*)`, `EXISTS (SELECT * …)`,
a `*` inside `IN (…)`, or a `*` over CTEs and subqueries whose columns are listed explicitly.

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

When the columns of every table the `*` covers are known from the workspace schema (or the
database), the fix replaces the `*` with the explicit list, in table order, qualified with the
table alias when the query reads several tables. The query returns exactly the same columns, so
the fix is safe. `NATURAL` and `USING` joins merge columns and get no fix.

**Needs**

Nothing for the finding; the workspace schema (or a database) for the fix.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.catalog.ddl import output_columns
from sql_lsp.catalog.model import fold, qualified_name, quote_ident
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind in ("VIEW", "TABLE") and isinstance(tree.expression, exp.Query):
            yield from _visit(ctx, tree.expression, {})
    elif isinstance(tree, exp.Query):
        yield from _visit(ctx, tree, {})


def _ctes(query: exp.Expression, outer: dict[str, exp.Expression]) -> dict[str, exp.Expression]:
    with_ = query.args.get("with_")
    if with_ is None:
        return outer
    scope = dict(outer)
    for cte in with_.expressions:
        scope[fold(cte.alias_or_name)] = cte.this
    return scope


def _visit(
    ctx: RuleContext, query: exp.Expression, ctes: dict[str, exp.Expression]
) -> Iterator[Finding]:
    """`query`'s columns reach the client: flag its stars over tables, follow stars over CTEs."""
    ctes = _ctes(query, ctes)
    if isinstance(query, exp.Subquery):
        yield from _visit(ctx, query.this, ctes)
        return
    if isinstance(query, exp.SetOperation):
        yield from _visit(ctx, query.this, ctes)
        yield from _visit(ctx, query.expression, ctes)
        return
    if not isinstance(query, exp.Select):
        return
    sources = _sources(query)
    for proj in query.expressions:
        qualifier: str | None = None
        if isinstance(proj, exp.Star):
            pass
        elif isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
            qualifier = fold(proj.args.get("table"))
        else:
            continue
        covered = [s for s in sources if qualifier is None or _alias(s) == qualifier]
        tables = []
        for src in covered:
            inner = _derived_query(src, ctes)
            if inner is not None:
                yield from _visit(ctx, inner, ctes)
            elif isinstance(src, exp.Table) and isinstance(src.this, exp.Identifier):
                tables.append(src)
        if qualifier is not None and not covered:
            tables.append(None)  # `x.*` over something we cannot see: still a star over a table
        if tables:
            yield _finding(ctx, proj, query, sources, covered, tables, ctes)


def _sources(select: exp.Select) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    from_ = select.args.get("from_")
    if from_ is not None:
        out.append(from_.this)
        out.extend(from_.expressions)
    for join in select.args.get("joins") or []:
        out.append(join.this)
    return out


def _alias(src: exp.Expression) -> str:
    return fold(src.alias_or_name)


def _derived_query(src: exp.Expression, ctes: dict[str, exp.Expression]) -> exp.Expression | None:
    """The query behind a CTE reference or a subquery in FROM, else None."""
    if isinstance(src, exp.Subquery):
        return src.this
    if (
        isinstance(src, exp.Table)
        and isinstance(src.this, exp.Identifier)
        and not src.args.get("db")
    ):
        return ctes.get(fold(src.this))
    return None


def _finding(
    ctx: RuleContext,
    proj: exp.Expression,
    query: exp.Select,
    sources: list[exp.Expression],
    covered: list[exp.Expression],
    tables: list[exp.Table | None],
    ctes: dict[str, exp.Expression],
) -> Finding:
    span = ctx.locate(proj)
    start, end = span if span else (ctx.statement.start, ctx.statement.end)
    star_text = ctx.text[start:end]
    names = [
        qualified_name(*_table_key(ctx, t), ctx.search_path) if t is not None else "?"
        for t in tables
    ]
    what = ", ".join(dict.fromkeys(names)) if names != ["?"] else "the source"
    message = f"{star_text} selects every column of {what}; list the columns the query needs"
    fixes = []
    columns = _expansion(ctx, query, sources, covered, ctes)
    if columns:
        title = f"Replace {star_text} with {len(columns)} column{'s' if len(columns) != 1 else ''}"
        fixes.append(Fix(title, (Edit(start, end, ", ".join(columns)),), SAFE))
    return ctx.finding(start, end, message, fixes)


def _table_key(ctx: RuleContext, t: exp.Table) -> tuple[str, str]:
    table = ctx.table(t)
    if table is not None:
        return table.schema, table.name
    schema = fold(t.args.get("db")) if t.args.get("db") else ctx.search_path[0]
    return schema, fold(t.this)


def _expansion(
    ctx: RuleContext,
    query: exp.Select,
    sources: list[exp.Expression],
    covered: list[exp.Expression],
    ctes: dict[str, exp.Expression],
) -> list[str] | None:
    """The explicit column list that replaces the star, or None when it cannot be told."""
    for join in query.args.get("joins") or []:
        if join.args.get("using") or join.args.get("method"):
            return None
    qualify = len(sources) > 1
    out: list[str] = []
    for src in covered:
        alias_node = src.args.get("alias")
        if alias_node is not None and alias_node.columns:
            cols = [fold(c) for c in alias_node.columns]
        else:
            inner = _derived_query(src, ctes)
            if inner is not None:
                cols = output_columns(inner, ctx.catalog, ctx.search_path)
            elif isinstance(src, exp.Table) and isinstance(src.this, exp.Identifier):
                table = ctx.table(src)
                cols = list(table.columns) if table is not None and table.columns_known else None
            else:
                cols = None
        if not cols:
            return None
        prefix = _qualifier_text(ctx, src) + "." if qualify else ""
        out.extend(prefix + quote_ident(c) for c in cols)
    return out or None


def _qualifier_text(ctx: RuleContext, src: exp.Expression) -> str:
    """How the query refers to a source: its alias, else its name as written."""
    alias = src.args.get("alias")
    if alias is not None and alias.this is not None:
        return quote_ident(fold(alias.this))
    span = ctx.locate(src)
    if span is not None and isinstance(src, exp.Table):
        return ctx.text[span[0] : span[1]]
    return quote_ident(_alias(src))


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
