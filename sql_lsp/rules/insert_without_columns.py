"""
**What it does**

Flags `INSERT INTO t VALUES …` and `INSERT INTO t SELECT …` with no column list. It does not
flag `INSERT … DEFAULT VALUES`, nor an `INSERT` into a table created earlier in the same file
whose columns have not changed since (a schema file that loads its own seed data: the column
order is the one declared a few lines above).

**Why is this bad?**

Without a column list the values are matched to the table's columns by position, so the
statement depends on the column order of the day it was written. When a column is added,
dropped or the table is rebuilt in a different order, it fails, or worse, keeps working and puts
values in the wrong columns (two `text` or two `integer` columns swap silently). The reader
cannot tell which value goes where without looking up the table.

**Example**

```sql
INSERT INTO users VALUES (1, 'ada@example.com', 'Ada');
```

**Use instead**

```sql
INSERT INTO users (id, email, name) VALUES (1, 'ada@example.com', 'Ada');
```

**Fix safety**

When the schema knows the table's columns as they stand at this statement (earlier migrations
applied, later ones not) and every row supplies exactly that many values, the fix inserts the
column list, in table order. The values go to the same columns as before, so the fix is safe.
With fewer values than columns (the rest get their defaults), a `SELECT *` or an unknown table,
there is no fix.

**Needs**

Nothing for the finding; the workspace schema (or a database) for the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import fold, qualified_name, quote_ident
from sql_lsp.rules.base import Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.migration import creation, declared_columns
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

_INSERT = re.compile(r"(?:with\b.*\b)?insert\b", re.I | re.S)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for node in ctx.find_all(exp.Insert):
        target = node.this
        if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
            continue  # a column list (exp.Schema), a function target, …
        source = node.expression
        if source is None or node.args.get("default"):
            continue
        finding = _finding(ctx, target, source)
        if finding is not None:
            yield finding


def _finding(ctx: RuleContext, target: exp.Table, source: exp.Expression) -> Finding | None:
    table = ctx.table(target)
    schema = fold(target.args.get("db")) if target.args.get("db") else None
    name = fold(target.this)
    columns = ctx.columns_at(table) if table is not None else None
    created = creation(ctx, schema, name)
    if created is not None and (columns is None or declared_columns(created) in (columns, None)):
        return None  # the table was declared just above, with these columns
    span = ctx.locate(target)
    if span is None:
        return None
    toks = tokens(ctx)
    i = index_at(ctx, span[0])
    if not (
        is_type(at(toks, i - 1), TokenType.INTO) and is_type(at(toks, i - 2), TokenType.INSERT)
    ):
        return None
    start, end = span_of(ctx, toks[i - 2])[0], span[1]
    shown = (
        qualified_name(table.schema, table.name, ctx.search_path)
        if table is not None
        else ctx.text[span[0] : (ctx.locate(target.this) or span)[1]]
    )
    message = (
        f"INSERT INTO {shown} without a column list depends on the order of its columns: a "
        "column added, dropped or reordered makes it fail or fill the wrong columns; list them"
    )
    fixes = []
    width = _width(source)
    if columns and width == len(columns):
        listed = ", ".join(quote_ident(c) for c in columns)
        noun = "column" if len(columns) == 1 else "columns"
        fixes.append(
            Fix(f"List the {len(columns)} {noun} of {shown}", (Edit(end, end, f" ({listed})"),))
        )
    return ctx.finding(start, end, message, fixes)


def _width(source: exp.Expression) -> int | None:
    """How many values each row supplies, when that is certain."""
    while isinstance(source, exp.Subquery):
        source = source.this
    if isinstance(source, exp.SetOperation):
        return _width(source.this)
    if isinstance(source, exp.Values):
        widths = {
            len(row.expressions) if isinstance(row, exp.Tuple) else 1 for row in source.expressions
        }
        return widths.pop() if len(widths) == 1 else None
    if isinstance(source, exp.Select):
        if any(
            isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
            for p in source.expressions
        ):
            return None
        return len(source.expressions)
    return None


RULE = Rule(
    id="insert-without-columns",
    summary="`INSERT INTO t VALUES` / `SELECT` without a column list, which depends on column order",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="safe",
    applies=lambda text: _INSERT.match(text) is not None,
    words=("insert",),
)
