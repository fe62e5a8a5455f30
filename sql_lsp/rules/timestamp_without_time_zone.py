"""
**What it does**

Flags a column of type `timestamp` (`timestamp without time zone`, with or without a precision)
at the place it is declared, in `CREATE TABLE` or `ALTER TABLE … ADD COLUMN`. The type is the
column's type at the end of the history (a later `ALTER COLUMN … TYPE timestamptz` clears it).
Arrays, views and temporary tables are not flagged, nor is a column whose name says it holds a
calendar date (its last word, words separated by `_`, is `date`, `day`, `on`, `birthday` or
`dob`, as in `birth_date`, `hire_date`, `sent_on`): there `date` is the fix, and converting such
values to `timestamptz` would shift them across zones, so the rule cannot know what to advise.

**Why is this bad?**

A `timestamp` stores a wall-clock reading with no time zone: the same value means different
instants for clients in different zones, `now()` is silently converted to the server's zone on
insert, and comparisons across a daylight-saving change are off by an hour. `timestamptz` stores
an instant (in UTC) and converts to each session's `TimeZone` on output, at no extra storage
cost. Keep `timestamp` only for values that really are local wall-clock times (a store's opening
hour); this rule's default severity is `info` for that reason.

**Example**

```sql
CREATE TABLE sessions (id bigint PRIMARY KEY, started_at timestamp NOT NULL DEFAULT now());
```

**Use instead**

```sql
CREATE TABLE sessions (id bigint PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now());
```

**Needs**

The workspace schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp.rules.base import Finding, Rule, RuleContext, changes_schema
from sql_lsp.rules.declared_columns import column_finding, declared_columns

_TIMESTAMP = re.compile(r"timestamp(?:\s*\(\s*\d+\s*\))?(?:\s+without\s+time\s+zone)?", re.I)
_DATE_WORDS = frozenset({"date", "day", "on", "birthday", "dob"})


def check(ctx: RuleContext) -> Iterator[Finding]:
    for table, column in declared_columns(ctx):
        if column.type is None or _TIMESTAMP.fullmatch(column.type.strip()) is None:
            continue
        if column.name.lower().rsplit("_", 1)[-1] in _DATE_WORDS:
            continue
        yield column_finding(
            ctx,
            table,
            column,
            "is a timestamp without time zone: its values mean different instants in different "
            "time zones; use timestamptz",
        )


RULE = Rule(
    id="timestamp-without-time-zone",
    summary="A `timestamp` (without time zone) column",
    check=check,
    docs=__doc__ or "",
    severity="info",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=changes_schema,
)
