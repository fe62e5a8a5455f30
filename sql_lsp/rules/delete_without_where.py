"""
**What it does**

Flags a `DELETE` with no `WHERE` clause: the top-level statement or one inside a `WITH` clause
(`WITH gone AS (DELETE FROM … RETURNING …) INSERT …`). `DELETE … WHERE CURRENT OF cursor` has a
condition and is not flagged, nor is the `DELETE` action of `MERGE`, nor MySQL's multi-table
`DELETE a FROM a JOIN b ON …`, nor `TRUNCATE` (which says
what it does), nor a `DELETE` from a temporary table created earlier in the same file (the
script's own scratch space).

**Why is this bad?**

Without `WHERE`, every row of the table is deleted: one forgotten or lost line (a copy-paste
that stopped before the `WHERE`, a psql session that ran the selection only) empties the table.
When emptying it is the intent, `TRUNCATE` says so, is much faster and leaves no dead rows
behind; a `DELETE` of every row scans the table, locks every row, fires every row's triggers
and leaves the table's size to vacuum.

**Example**

```sql
DELETE FROM sessions;
```

**Use instead**

```sql
DELETE FROM sessions WHERE expires_at < now();
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.update_without_where import whole_table_statements

_DELETE = re.compile(r"(?:with\b.*\b)?delete\b", re.I | re.S)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for _node, name, start, end in whole_table_statements(ctx, exp.Delete):
        yield ctx.finding(
            start,
            end,
            f"DELETE FROM {name} has no WHERE clause: it deletes every row of the table "
            "(use TRUNCATE if that is the intent)",
        )


RULE = Rule(
    id="delete-without-where",
    summary="A `DELETE` with no `WHERE` clause, which deletes every row of the table",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    applies=lambda text: _DELETE.match(text) is not None,
    words=("delete",),
)
