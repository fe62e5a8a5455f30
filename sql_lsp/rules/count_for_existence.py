"""
**What it does**

Flags a scalar subquery that counts rows only to compare the count with zero:
`(SELECT count(*) FROM … WHERE …) > 0` (also `>= 1`, `<> 0`, `!= 0`, and `= 0`, `< 1`,
`<= 0`, either way round), and `SELECT count(*) > 0 FROM …`. Counts compared with other numbers,
`count(column)` and grouped counts are not flagged.

**Why is this bad?**

`count(*)` has to find and count *every* matching row — all the orders of a customer, all the
rows of a big table — only for the answer to be reduced to "any or none". `EXISTS` says what is
meant and stops at the first matching row; in a `WHERE` clause PostgreSQL can also plan it as a
semi-join (or an anti-join for `NOT EXISTS`) instead of running the subquery once per row.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);

SELECT u.id FROM users u
WHERE (SELECT count(*) FROM orders o WHERE o.user_id = u.id) > 0;
```

**Use instead**

```sql
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);

SELECT u.id FROM users u
WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id);
```

**Fix safety**

For a scalar subquery, the fix replaces the comparison with `EXISTS (SELECT 1 FROM …)` (or
`NOT EXISTS` for `= 0`), keeping the subquery's `FROM` and `WHERE`. An ungrouped
`count(*)` returns exactly one row, never NULL, so the comparison is true exactly when a row
exists: the fix is safe. It is offered when the subquery has no `GROUP BY`, `HAVING`, `DISTINCT`,
`LIMIT`/`OFFSET` or set operation, and not for an unnamed column of the select list (the
column would be renamed from `?column?` to `exists`). `SELECT count(*) > 0 FROM …` gets no fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

_COUNT = re.compile(r"\bcount\s*\(", re.I)
_ZERO_ONE = re.compile(r"[<>=]\s*[01]\b|\b[01]\s*[<>=!]")
# (operator, literal) with the count on the left -> True: "exists", False: "does not exist"
_EXISTS = {
    (exp.GT, "0"): True,
    (exp.GTE, "1"): True,
    (exp.NEQ, "0"): True,
    (exp.EQ, "0"): False,
    (exp.LT, "1"): False,
    (exp.LTE, "0"): False,
}
_MIRROR = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE}
_COMPARISONS = (exp.GT, exp.GTE, exp.NEQ, exp.EQ, exp.LT, exp.LTE)
# parents under which `NOT EXISTS (…)` needs no parentheses
_BOOLEAN_PLACES = (exp.Where, exp.Having, exp.And, exp.Or, exp.Paren, exp.Join, exp.If, exp.Not)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for node in ctx.find_all(*_COMPARISONS):
        if isinstance(node.parent, exp.Update | exp.OnConflict | exp.SetItem):
            continue
        counted, number, op = node.this, node.expression, type(node)
        if isinstance(counted, exp.Literal):
            counted, number, op = number, counted, _MIRROR.get(op, op)
        if not isinstance(number, exp.Literal) or number.is_string:
            continue
        exists = _EXISTS.get((op, number.this))
        if exists is None:
            continue
        if isinstance(counted, exp.Subquery) and _counts_rows(counted.this):
            finding = _subquery_finding(ctx, node, counted, number, exists)
        elif isinstance(counted, exp.Count) and _own_count(node, counted):
            finding = _select_finding(ctx, node, counted, number)
        else:
            continue
        if finding is not None:
            yield finding


def _is_count_star(node: exp.Expression) -> bool:
    if not isinstance(node, exp.Count) or node.args.get("distinct"):
        return False
    arg = node.this
    return isinstance(arg, exp.Star) or (isinstance(arg, exp.Literal) and not arg.is_string)


def _counts_rows(query: exp.Expression) -> bool:
    """An ungrouped `SELECT count(*) FROM …`: exactly one row, never NULL."""
    if not isinstance(query, exp.Select) or len(query.expressions) != 1:
        return False
    if any(query.args.get(k) for k in ("group", "having", "distinct", "limit", "offset")):
        return False
    if query.args.get("from_") is None or query.args.get("with_"):
        return False
    return _is_count_star(query.expressions[0].unalias())


def _own_count(node: exp.Expression, count: exp.Expression) -> bool:
    """`SELECT count(*) > 0 FROM …` with no GROUP BY: the comparison is a projection."""
    if not _is_count_star(count):
        return False
    parent = node.parent
    if isinstance(parent, exp.Alias):
        parent = parent.parent
    return (
        isinstance(parent, exp.Select)
        and parent.args.get("from_") is not None
        and not parent.args.get("group")
        and len(parent.expressions) == 1
    )


def _message(written: str, exists: bool) -> str:
    what = "EXISTS" if exists else "NOT EXISTS"
    return (
        f"`{written}` counts every matching row only to test whether there is one; "
        f"use {what} (…), which stops at the first"
    )


def _subquery_finding(
    ctx: RuleContext,
    node: exp.Expression,
    subquery: exp.Subquery,
    number: exp.Literal,
    exists: bool,
) -> Finding | None:
    select = subquery.this
    count = select.expressions[0].unalias()
    count_span = ctx.locate(count)
    number_span = ctx.locate(number)
    if count_span is None or number_span is None:
        return None
    toks = tokens(ctx)
    i = index_at(ctx, count_span[0])
    if not (
        is_type(at(toks, i - 1), TokenType.SELECT) and is_type(at(toks, i - 2), TokenType.L_PAREN)
    ):
        return None
    open_ = i - 2
    close = _closing(toks, open_)
    if close is None:
        return None
    sub_start = span_of(ctx, toks[open_])[0]
    sub_end = span_of(ctx, toks[close])[1]
    start, end = min(sub_start, number_span[0]), max(sub_end, number_span[1])
    text = ctx.text
    inner = text[sub_start : count_span[0]] + "1" + text[count_span[1] : sub_end]
    replacement = ("EXISTS " if exists else "NOT EXISTS ") + inner
    if not exists and not isinstance(node.parent, _BOOLEAN_PLACES):
        replacement = f"({replacement})"
    short = text[count_span[0] : count_span[1]]
    op = text[slice(*_between(ctx, toks, sub_end, number_span))]
    fixes = []
    if not isinstance(node.parent, exp.Select):  # an unnamed column would change its name
        title = f"Replace the count with {'EXISTS' if exists else 'NOT EXISTS'}"
        fixes.append(Fix(title, (Edit(start, end, replacement),), SAFE))
    after = number_span[0] >= sub_end
    shown = f"{short} {op} {number.this}" if after else f"{number.this} {op} {short}"
    return ctx.finding(start, end, _message(shown, exists), fixes)


def _between(
    ctx: RuleContext, toks: list[Token], sub_end: int, number: tuple[int, int]
) -> tuple[int, int]:
    """The span of the operator between the subquery and the number."""
    if number[0] >= sub_end:
        k = index_at(ctx, sub_end)
    else:
        k = index_at(ctx, number[1])
    tok = at(toks, k)
    return span_of(ctx, tok) if tok is not None else (number[0], number[0])


def _select_finding(
    ctx: RuleContext, node: exp.Expression, count: exp.Expression, number: exp.Literal
) -> Finding | None:
    count_span = ctx.locate(count)
    number_span = ctx.locate(number)
    if count_span is None or number_span is None:
        return None
    start = min(count_span[0], number_span[0])
    end = max(count_span[1], number_span[1])
    written = ctx.text[start:end]
    op, value = type(node), number.this
    if number_span[0] < count_span[0]:
        op = _MIRROR.get(op, op)
    return ctx.finding(start, end, _message(written, bool(_EXISTS.get((op, value)))))


def _closing(toks: list[Token], i: int) -> int | None:
    depth = 0
    for k in range(i, len(toks)):
        tt = toks[k].token_type
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return k
    return None


RULE = Rule(
    id="count-for-existence",
    summary="`count(*)` compared with 0 to test whether a row exists, instead of `EXISTS`",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="safe",
    applies=lambda text: _COUNT.search(text) is not None and _ZERO_ONE.search(text) is not None,
    words=("count",),
)
