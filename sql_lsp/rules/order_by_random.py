"""
**What it does**

Flags `ORDER BY random()` (MySQL: `RAND()`) in a query that reads a table, to pick random rows
(`ORDER BY random() LIMIT 10`) or to shuffle them. It does not flag `random()` in a window or
an aggregate's `ORDER BY`, nor a query over functions, `VALUES` or CTEs only.

**Why is this bad?**

To order by a random value, the database must read every row the query selects, compute
`random()` for each and sort them all, only to keep the first few: the cost grows with the
table, not with the number of rows wanted, and no index can help. On a large table this is a
full scan and a sort (often spilling to disk) for every call.

**Example**

```sql
SELECT id, title FROM posts ORDER BY random() LIMIT 5;
```

**Use instead**

```sql
-- read about 1% of the table's pages, then pick among those rows
SELECT id, title FROM posts TABLESAMPLE SYSTEM (1) LIMIT 5;
```

(or pick random keys in the application and fetch them by primary key, or keep a random sort
key in an indexed column).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import fold
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

_RANDOM = re.compile(r"\brand(?:om)?\s*\(", re.I)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    ctes = {fold(c.alias_or_name) for c in ctx.find_all(exp.CTE)}
    for node in ctx.find_all(exp.Rand):
        ordered = node.parent
        order = ordered.parent if isinstance(ordered, exp.Ordered) else None
        query = order.parent if isinstance(order, exp.Order) else None
        if query is None or node.args.get("this") is not None:
            continue
        if not isinstance(query, exp.Select | exp.SetOperation):
            continue  # a window's or an aggregate's ORDER BY
        tables = _tables(query, ctes)
        if not tables:
            continue
        span = ctx.locate(node)
        if span is None:
            continue
        toks = tokens(ctx)
        i = index_at(ctx, span[0])
        if not (
            is_type(at(toks, i + 1), TokenType.L_PAREN)
            and is_type(at(toks, i + 2), TokenType.R_PAREN)
        ):
            continue
        end = span_of(ctx, toks[i + 2])[1]
        call = ctx.text[span[0] : end]
        names = ", ".join(dict.fromkeys(tables))
        message = (
            f"ORDER BY {call} sorts every row the query reads from {names}, whatever the "
            "LIMIT, and no index can help; sample with TABLESAMPLE or look up random keys"
        )
        yield ctx.finding(span[0], end, message)


def _tables(query: exp.Expression, ctes: set[str]) -> list[str]:
    """Names of the tables (not CTEs, functions or VALUES) that the query level reads."""
    if isinstance(query, exp.SetOperation):
        return _tables(query.this, ctes) + _tables(query.expression, ctes)
    if isinstance(query, exp.Subquery):
        return _tables(query.this, ctes)
    if not isinstance(query, exp.Select):
        return []
    from_ = query.args.get("from_")
    items = []
    if from_ is not None:
        items += [from_.this, *from_.expressions]
    items += [j.this for j in query.args.get("joins") or []]
    out = []
    for item in items:
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            name = fold(item.this)
            db = item.args.get("db")
            if db is not None:
                out.append(f"{fold(db)}.{name}")
            elif name not in ctes:
                out.append(name)
        elif isinstance(item, exp.Subquery):
            out += _tables(item.this, ctes)
    return out


RULE = Rule(
    id="order-by-random",
    summary="`ORDER BY random()` over a table, which reads and sorts every row",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    applies=lambda text: _RANDOM.search(text) is not None,
    words=("rand",),
)
