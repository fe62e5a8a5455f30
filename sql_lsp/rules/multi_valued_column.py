"""
**What it does**

Flags a `text`, `varchar` or `char` column (the type at the end of the history) whose name says
it holds a list: it ends in `_ids` or `_list`, or it is `tags` or `categories`. Arrays
(`text[]`), `jsonb`, `tsvector` and other types are not flagged. The finding sits on the
column's name where it is declared.

**Why is this bad?**

A list packed into a string (`'3,17,42'`) cannot be checked by a foreign key, indexed for "rows
with id 17", counted or joined without parsing it in every query (`string_to_array`, `LIKE
'%,17,%'`, which no index serves), and nothing stops a malformed or duplicate entry.

**Example**

```sql
CREATE TABLE posts (id bigint PRIMARY KEY, tag_ids text);
```

**Use instead**

```sql
CREATE TABLE posts (id bigint PRIMARY KEY);
CREATE TABLE post_tags (
    post_id bigint NOT NULL REFERENCES posts,
    tag_id bigint NOT NULL REFERENCES tags,
    PRIMARY KEY (post_id, tag_id)
);
```

An array (`tag_ids bigint[]` with a GIN index) when no foreign key is needed.

**Needs**

The workspace schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp.rules.base import Finding, Rule, RuleContext, changes_schema
from sql_lsp.rules.declared_columns import column_finding, declared_columns

_STRING = re.compile(
    r"(?:text|citext|varchar|char|bpchar|character(?:\s+varying)?|nvarchar)(?:\s*\(\s*\d+\s*\))?",
    re.I,
)
_NAMES = frozenset({"tags", "categories"})


def list_name(name: str) -> bool:
    lower = name.lower()
    if lower in _NAMES:
        return True
    return any(lower.endswith(s) and len(lower) > len(s) for s in ("_ids", "_list"))


def check(ctx: RuleContext) -> Iterator[Finding]:
    for table, column in declared_columns(ctx):
        if column.type is None:  # (declared_columns leaves temporary tables out)
            continue
        if _STRING.fullmatch(column.type.strip()) is None or not list_name(column.name):
            continue
        yield column_finding(
            ctx,
            table,
            column,
            f"holds a list in {column.type}: no foreign key checks it and no index serves a "
            "search for one value; use an array or a join table",
        )


RULE = Rule(
    id="multi-valued-column",
    summary="A string column that holds a list (`tag_ids text`)",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=changes_schema,
)
