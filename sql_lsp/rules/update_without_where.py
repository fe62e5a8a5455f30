"""
**What it does**

Flags an `UPDATE` with no `WHERE` clause: the top-level statement or one inside a `WITH`
clause (`WITH moved AS (UPDATE … RETURNING …) SELECT …`). `UPDATE … WHERE CURRENT OF cursor`
has a condition and is not flagged, nor is the `UPDATE` action of `MERGE` or of
`ON CONFLICT … DO UPDATE` (they change only the matched rows), nor MySQL's multi-table
`UPDATE a JOIN b ON … SET …`, nor an `UPDATE` of a temporary table
created earlier in the same file (the script's own scratch space).

**Why is this bad?**

Without `WHERE`, every row of the table is rewritten: one forgotten or lost line (a copy-paste
that stopped before the `WHERE`, a psql session that ran the selection only) changes the whole
table, takes a row lock on every row, writes a new version of each (doubling the table's size
until vacuum) and fires the triggers of every row. Even when all rows are meant, saying so with
`WHERE true` (or a condition that skips the rows already right) documents the intent.

**Example**

```sql
UPDATE users SET active = false;
```

**Use instead**

```sql
UPDATE users SET active = false WHERE id = 42;
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import fold
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.migration import created_earlier
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

_UPDATE = re.compile(r"(?:with\b.*\b)?update\b", re.I | re.S)


def whole_table_statements(
    ctx: RuleContext, kind: type[exp.Update] | type[exp.Delete]
) -> Iterator[tuple[exp.Expression, str, int, int]]:
    """The `UPDATE`s / `DELETE`s of the statement that change every row of an existing table:
    (node, the table as written, start, end of the `UPDATE t` / `DELETE FROM t` head)."""
    tree = ctx.tree
    if tree is None:
        return
    keyword = TokenType.UPDATE if kind is exp.Update else TokenType.DELETE
    for node in ctx.find_all(kind):
        if node.args.get("where") is not None or isinstance(node.parent, exp.When):
            continue
        table = node.this
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            continue
        if table.args.get("joins") or node.args.get("tables"):
            continue  # MySQL's multi-table form: the join decides which rows change
        schema = fold(table.args.get("db")) if table.args.get("db") else None
        if created_earlier(ctx, schema, fold(table.this), temporary=True):
            continue
        span = ctx.locate(table)
        if span is None:
            continue
        toks = tokens(ctx)
        i = index_at(ctx, span[0]) - 1
        while is_type(at(toks, i), TokenType.ONLY, TokenType.FROM):
            i -= 1
        head = at(toks, i)
        if head is None or not is_type(head, keyword):
            continue
        name_end = ctx.locate(table.this)
        written_end = name_end[1] if name_end is not None else span[1]
        name = ctx.text[span[0] : written_end]
        yield node, name, span_of(ctx, head)[0], span[1]


def check(ctx: RuleContext) -> Iterator[Finding]:
    for _node, name, start, end in whole_table_statements(ctx, exp.Update):
        yield ctx.finding(
            start,
            end,
            f"UPDATE of {name} has no WHERE clause: it rewrites every row of the table",
        )


RULE = Rule(
    id="update-without-where",
    summary="An `UPDATE` with no `WHERE` clause, which rewrites every row of the table",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    applies=lambda text: _UPDATE.match(text) is not None,
    words=("update",),
)
