"""
**What it does**

Flags `col LIKE '%…'` and `col ILIKE '%…'` where the pattern is a string literal starting with
`%`, the column is a column of a table of the schema, and no trigram index (`gin_trgm_ops` or
`gist_trgm_ops`, from `pg_trgm`) covers that column. The rule is silent when the column's table
is not known, is a view or a CTE, when the pattern is not a literal or is only `%`, and when the
column has a trigram index.

**Why is this bad?**

A B-tree index can serve `LIKE 'abc%'` (a range of its ordered keys) but not a pattern that
starts with a wildcard: the match may begin anywhere, so PostgreSQL reads every row of the
table and tests each one. The query is fast on a small table and slow on a large one.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);

SELECT id FROM users WHERE email LIKE '%@example.com';
```

**Use instead**

```sql
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);

SELECT id FROM users WHERE email LIKE '%@example.com';
```

**Needs**

The workspace schema or a database: the column's table and its indexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.catalog.model import Table
from sql_lsp.query_model import owner_query, resolve_column
from sql_lsp.rules.base import Finding, Rule, RuleContext

_LIKE_PERCENT = re.compile(r"like\s+(e)?'%", re.I)
_TRIGRAM = ("gin_trgm_ops", "gist_trgm_ops")
_TABLES = ("table", "partitioned table")


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for like in ctx.find_all(exp.Like, exp.ILike):
        pattern = like.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            continue
        if not pattern.this.startswith("%") or not pattern.this.strip("%"):
            continue  # `LIKE '%'` filters nothing an index could find
        column = like.this
        while isinstance(column, exp.Paren):
            column = column.this
        if not isinstance(column, exp.Column):
            continue
        owner = owner_query(like)
        if owner is None:
            continue
        resolved = resolve_column(ctx.table, column, owner)
        if resolved is None:
            continue
        table, name = resolved
        if table.kind not in _TABLES:
            continue  # a view's columns are indexed (or not) on the tables beneath it
        if _trigram_indexed(table, name):
            continue
        span = ctx.locate(like)
        if span is None:
            continue
        operator = "ILIKE" if isinstance(like, exp.ILike) else "LIKE"
        message = (
            f"A pattern that starts with `%` cannot use a B-tree index: `{operator}` reads every "
            f"row of `{table.name}`; a trigram index (`USING gin ({name} gin_trgm_ops)`) "
            f"serves it"
        )
        yield ctx.finding(span[0], span[1], message)


def _trigram_indexed(table: Table, name: str) -> bool:
    """Does a trigram index have a key on the column (or an expression over it)?"""
    word = re.compile(rf"\b{re.escape(name)}\b", re.I)
    for index in table.indexes:
        for key in index.keys:
            if key.opclass is None or key.opclass.lower().split(".")[-1] not in _TRIGRAM:
                continue
            if key.column == name or (key.column is None and word.search(key.expr)):
                return True
    return False


RULE = Rule(
    id="leading-wildcard-like",
    summary="LIKE / ILIKE with a pattern starting with `%` on a column no trigram index serves",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    applies=lambda text: _LIKE_PERCENT.search(text) is not None,
    words=("like",),
)
