"""
**What it does**

Flags a scalar subquery in a select list that refers to a column of the outer query's sources
(`(SELECT count(*) FROM orders o WHERE o.user_id = u.id)` in `SELECT u.id, … FROM users u`).
Subqueries in `WHERE`, `EXISTS (…)`, `IN (…)`, uncorrelated subqueries and subqueries that read
no table (`(SELECT u.a || u.b)`, or only functions of the row's values:
`(SELECT m[1] FROM regexp_matches(u.name, '…') m)`, `unnest`, `VALUES`) are not flagged; only references written with the outer
source's name or alias count.

**Why is this bad?**

The subquery runs once per row of the outer query: an N+1 inside one statement. On a thousand
rows it is a thousand index lookups (or scans), where a join or a `LATERAL` subquery over the
same tables lets the planner choose a hash or merge join and read each table once.

**Example**

```sql
SELECT u.id, (SELECT count(*) FROM orders o WHERE o.user_id = u.id) AS orders
FROM users u;
```

**Use instead**

```sql
SELECT u.id, count(o.id) AS orders
FROM users u LEFT JOIN orders o ON o.user_id = u.id
GROUP BY u.id;
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import fold
from sql_lsp.query_model import own_aliases
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

_SUBSELECT = re.compile(r"\(\s*select\b", re.I)
_NOT_SCALAR = (exp.In, exp.Exists, exp.Any, exp.All, exp.Array)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for query in ctx.find_all(exp.Select):
        outer = set(own_aliases(query))
        if not outer:
            continue
        for projection in query.expressions:
            for sub in projection.find_all(exp.Subquery):
                if not isinstance(sub.this, exp.Select) or isinstance(sub.parent, _NOT_SCALAR):
                    continue
                if sub.this.args.get("from_") is None or not _reads_a_table(sub.this):
                    # `(SELECT u.x)`, `(SELECT m[1] FROM regexp_matches(u.x, …) m)`: no table
                    # is read, only the row's own values; a join would not save anything
                    continue
                if sub.find_ancestor(exp.Select) is not query:
                    continue  # inside a nested query: judged with that query
                name = _correlation(sub, outer)
                if name is None:
                    continue
                span = _parenthesised(ctx, sub)
                if span is None:
                    continue
                message = (
                    f"This subquery runs once per row of the outer query (it refers to "
                    f"`{name}`); join the table, or use a LATERAL subquery, instead"
                )
                yield ctx.finding(span[0], span[1], message)


def _reads_a_table(select: exp.Select) -> bool:
    """Does `select` read a table, view or CTE (not only functions, `unnest` or `VALUES`)?"""
    return any(isinstance(t.this, exp.Identifier) for t in select.find_all(exp.Table))


def _parenthesised(ctx: RuleContext, sub: exp.Subquery) -> tuple[int, int] | None:
    """Span of the subquery from its `(` to its `)`, read from the tokens around it."""
    span = ctx.locate(sub)
    if span is None:
        return None
    toks = tokens(ctx)
    i = index_at(ctx, span[0])
    depth = 0
    while i >= 0:
        tt = toks[i].token_type
        if tt == TokenType.R_PAREN:
            depth += 1
        elif tt == TokenType.L_PAREN:
            if depth == 0 and is_type(at(toks, i + 1), TokenType.SELECT, TokenType.WITH):
                break
            depth -= 1
        i -= 1
    if i < 0:
        return None
    start = i
    depth = 0
    for j in range(start, len(toks)):
        tt = toks[j].token_type
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return span_of(ctx, toks[start])[0], span_of(ctx, toks[j])[1]
    return None


def _correlation(sub: exp.Subquery, outer: set[str]) -> str | None:
    """The first outer source a column inside `sub` names, when no source inside it has the
    same name."""
    inner: set[str] = set()
    for node in sub.find_all(exp.Select, exp.Update, exp.Delete):
        inner.update(own_aliases(node))
    for cte in sub.find_all(exp.CTE):
        if cte.alias:
            inner.add(fold(cte.alias))
    for column in sub.find_all(exp.Column):
        qualifier = column.args.get("table")
        if qualifier is None or column.args.get("db"):
            continue
        name = fold(qualifier)
        if name in outer and name not in inner:
            return qualifier.name
    return None


RULE = Rule(
    id="correlated-subquery",
    summary="A scalar subquery in the select list that runs once per row of the outer query",
    check=check,
    docs=__doc__ or "",
    severity="info",
    needs="syntax",
    applies=lambda text: _SUBSELECT.search(text) is not None,
)
