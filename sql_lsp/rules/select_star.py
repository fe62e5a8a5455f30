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

from sqlglot import exp

from sql_lsp.catalog.model import fold, qualified_name
from sql_lsp.query_model.relations import (
    Node,
    Scope,
    Source,
    body_scope,
    from_nodes,
    is_star,
    star_columns,
    visible_sources,
    write_columns,
)
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext

# -- the rule ----------------------------------------------------------------------------------


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if isinstance(tree, exp.Select) and not any(is_star(p) for p in tree.expressions):
        return  # the common case: `count(*)` and the like
    scope = Scope(ctx.catalog, tuple(ctx.search_path), ctx.document.uri, ctx.history_point())
    seen: set[int] = set()
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind in ("VIEW", "TABLE") and isinstance(tree.expression, exp.Query):
            yield from _visit(ctx, tree.expression, scope, seen)
    elif isinstance(tree, exp.Query):
        yield from _visit(ctx, tree, scope, seen)


def _visit(
    ctx: RuleContext, query: exp.Expression, scope: Scope, seen: set[int]
) -> Iterator[Finding]:
    """`query`'s columns reach the client: flag its stars over tables, follow stars over CTEs
    and subqueries. Each query is visited once, however many stars reach it."""
    if id(query) in seen:
        return
    seen.add(id(query))
    if isinstance(query, exp.Select) and not any(is_star(p) for p in query.expressions):
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
    nodes: list[Node] | None = None
    for proj in query.expressions:
        if not is_star(proj):
            continue
        if nodes is None:
            nodes = from_nodes(query, scope)
        covered = star_columns(proj, nodes)
        if covered is None:
            # `x.*` over something this query level does not have: still a star over a table
            yield _finding(ctx, proj, ["the source"], None)
            continue
        items, sources = covered
        tables: list[Source] = []
        for src in sources:
            if src.derived is not None:
                yield from _visit(ctx, src.derived, body_scope(src, scope), seen)
            elif src.relation:
                tables.append(src)
        if tables:
            columns = None
            if items:
                columns = write_columns(items, nodes, qualify=len(visible_sources(nodes)) > 1)
            names = [_table_name(ctx, s) for s in tables]
            yield _finding(ctx, proj, names, columns)


def _table_name(ctx: RuleContext, src: Source) -> str:
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
