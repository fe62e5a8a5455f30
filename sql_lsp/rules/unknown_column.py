"""
**What it does**

Flags a column that the table it is read from does not have, as the table stands at that
statement (a migration sees the columns that the statements before it left), with the close
match when there is one (a misspelling: one or two edits away): ``users` has no column `emial`; did you mean `email`?``.

It checks a column qualified by a table or alias of its own query (`u.emial`), and an unqualified
column of a query that reads one table only. It says nothing whenever the catalog cannot know:
a table it does not know or whose columns it cannot derive (views it could not read, tables that
inherit), sources that are subqueries, CTEs or functions, columns of an enclosing query, system
columns (`ctid`, `xmin`…), output names of the select list in `ORDER BY` / `GROUP BY`, a whole-row
reference (`SELECT u FROM users u`), `excluded.` and `NEW` / `OLD`, and any statement with a psql
variable.

**Why is this bad?**

PostgreSQL rejects the statement when it runs (`column u.emial does not exist`): in a migration,
halfway through a deployment; in application code, on the first request that takes that path.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
SELECT u.emial FROM users u;
```

**Use instead**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
SELECT u.email FROM users u;
```

**Fix safety**

Offered only when exactly one column of that table is close to the name: the fix writes that
column's name instead. A statement that named a missing column never ran, so the fix changes no
behaviour that worked; it is safe.

**Needs**

The workspace schema (or a database).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.catalog.model import Table, fold, quote_ident
from sql_lsp.query_model.scopes import output_aliases, own_columns, plain_tables, scopes
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext

SYSTEM_COLUMNS = frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid", "oid"})
# words PostgreSQL reads as values, not columns, that a tree may hold as columns
NOT_COLUMNS = frozenset(
    {
        "current_user",
        "session_user",
        "user",
        "current_role",
        "current_catalog",
        "current_schema",
        "localtime",
        "localtimestamp",
        "current_date",
        "current_time",
        "current_timestamp",
        "default",
        "true",
        "false",
        "null",
        "excluded",
        "new",
        "old",
    }
)
_PSQL_VARIABLE = re.compile(r"(?<![:\w]):(?=['\"A-Za-z_{])")


def has_psql_variable(text: str) -> bool:
    """Does the statement use a psql variable (`:name`, `:'name'`, `:"name"`)?"""
    return ":" in text and _PSQL_VARIABLE.search(text) is not None


def closest(name: str, candidates: list[str]) -> str | None:
    """The one candidate that `name` looks like a misspelling of, or None when there is none
    or more than one: at most one edit away for short names, two for longer ones (a swap of two
    neighbouring letters counts as one), and not the name with a `_` part added or removed
    (`orders_log` is another table, not a misspelt `orders`)."""
    limit = 1 if len(name) <= 4 else 2
    scored = []
    for c in candidates:
        if c == name or abs(len(c) - len(name)) > limit or _extends(name, c):
            continue
        d = _distance(name, c, limit)
        if d <= limit:
            scored.append((d, c))
    if not scored:
        return None
    best = min(d for d, _ in scored)
    near = [c for d, c in scored if d == best]
    return near[0] if len(near) == 1 else None


def _extends(a: str, b: str) -> bool:
    return (
        a.startswith(b + "_") or b.startswith(a + "_") or a.endswith("_" + b) or b.endswith("_" + a)
    )


def _distance(a: str, b: str, limit: int) -> int:
    """Edit distance with swaps of neighbouring letters (optimal string alignment); anything
    over `limit` is reported as limit + 1."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[len(b)], limit + 1)


def _known_columns(ctx: RuleContext, table: Table) -> tuple[str, ...] | None:
    if not table.columns_known or table.parents or table.like_sources:
        return None
    if "view" in table.kind:
        return None
    return ctx.columns_at(table)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None or isinstance(tree, exp.Command) or has_psql_variable(ctx.statement.text):
        return
    if not ctx.catalog.tables:
        return
    parsed = ctx.statement.parsed
    assert parsed is not None
    for scope in scopes(parsed):
        tables = plain_tables(scope)
        if not tables:
            continue
        outputs = output_aliases(scope)
        single = len(tables) == 1 and scope.parent is None
        known: dict[int, tuple[Table | None, tuple[str, ...] | None]] = {}
        for col in own_columns(scope):
            yield from _check_column(ctx, col, tables, outputs, single, known)


def _check_column(
    ctx: RuleContext,
    col: exp.Column,
    tables: dict[str, exp.Table],
    outputs: set[str],
    single: bool,
    known: dict[int, tuple[Table | None, tuple[str, ...] | None]],
) -> Iterator[Finding]:
    """Findings of one column of a scope; `known` keeps each source's table and columns."""
    ident = col.this
    if not isinstance(ident, exp.Identifier) or col.args.get("db") is not None:
        return
    name = fold(ident)
    if name in SYSTEM_COLUMNS:
        return
    qualifier = col.args.get("table")
    if qualifier is not None:
        node = tables.get(fold(qualifier))
        if node is None:
            return  # an enclosing query's source, or something the catalog does not hold
    else:
        if not single or name in outputs or name in NOT_COLUMNS or name in tables:
            return
        if not ident.quoted and name != ident.this.lower():
            return
        node = next(iter(tables.values()))
    entry = known.get(id(node))
    if entry is None:
        table = ctx.table(node)
        entry = known[id(node)] = (table, _known_columns(ctx, table) if table else None)
    table, names = entry
    if table is None or names is None or name in names:
        return
    span = ctx.locate(ident)
    if span is None:
        return
    start, end = span
    suggestion = closest(name, list(names))
    table_name = quote_ident(table.name)
    message = f"`{table_name}` has no column `{quote_ident(name)}`"
    fixes: tuple[Fix, ...] = ()
    if suggestion is not None:
        message += f"; did you mean `{quote_ident(suggestion)}`?"
        fixes = (
            Fix(
                f"Change to {quote_ident(suggestion)}",
                (Edit(start, end, quote_ident(suggestion)),),
                SAFE,
            ),
        )
    yield ctx.finding(start, end, message, fixes)


RULE = Rule(
    id="unknown-column",
    summary="A column that the table it is read from does not have",
    check=check,
    docs=__doc__ or "",
    severity="error",
    needs="catalog",
    fix="safe",
    dialects=("postgres",),
)
