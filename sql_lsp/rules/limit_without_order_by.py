"""
**What it does**

Flags `LIMIT`, `OFFSET` or `FETCH FIRST … ROWS` in a `SELECT` that has no `ORDER BY` at the same
query level. It does not flag what cannot return different rows or where any rows will do:
`LIMIT 0`, `LIMIT ALL`; a subquery under `EXISTS`, `IN`, `ANY` or `ALL`; a select list of
constants only (`SELECT 1 … LIMIT 1`); an aggregate without `GROUP BY` (one row); a query on one
table whose `WHERE` fixes every column of a unique key (at most one row); a batch inside an
`UPDATE` or `DELETE`, and a `FOR UPDATE SKIP LOCKED` queue pick, where any rows are meant.
A `LIMIT` that applies to a whole `UNION` is not checked.

**Why is this bad?**

SQL tables have no order: without `ORDER BY`, `LIMIT 10` returns *some* ten rows, whichever the
plan produces first. Which ones changes with the plan (a new index, fresh statistics, a
parallel scan, a synchronized sequential scan started by another query) and with the data, so
"the latest ten", pagination or a test that expects particular rows works until it silently
doesn't: pages overlap and skip rows.

**Example**

```sql
SELECT id, title FROM posts WHERE user_id = 7 LIMIT 10;
```

**Use instead**

```sql
SELECT id, title FROM posts WHERE user_id = 7 ORDER BY id DESC LIMIT 10;
```

**Needs**

Nothing; with the workspace schema, a query filtered on a unique key is recognised as
returning at most one row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from sql_lsp.catalog.model import fold
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, span_of, tokens

_LIMITING = re.compile(r"\b(?:limit|offset|fetch)\b", re.I)
_SKIP_LOCKED = re.compile(r"\bskip\s+locked\b", re.I)
_KEYWORDS = (TokenType.LIMIT, TokenType.OFFSET, TokenType.FETCH)
_SET_OPS = (TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT)
_ANY_ROWS = (exp.Exists, exp.In, exp.Any, exp.All)
_CONSTANT = (exp.Literal, exp.Null, exp.Boolean)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None or isinstance(tree, exp.Update | exp.Delete | exp.Merge):
        return
    for select in ctx.find_all(exp.Select):
        if select.args.get("order") is not None or not _limited(select):
            continue
        if _any_rows_will_do(ctx, select):
            continue
        span = _keyword_span(ctx, select)
        if span is None:
            continue
        start, end = span
        clause = ctx.text[start:end]
        yield ctx.finding(
            start,
            end,
            f"{clause} without ORDER BY returns whichever rows the plan produces first: which "
            "ones can change from run to run; add an ORDER BY on a unique key",
        )


def _limited(select: exp.Select) -> bool:
    limit = select.args.get("limit")
    offset = select.args.get("offset")
    if isinstance(limit, exp.Limit):
        value = limit.expression
        if isinstance(value, exp.Literal) and not value.is_string and value.this == "0":
            return False  # LIMIT 0: no row at all
        if isinstance(value, exp.Null) or (
            isinstance(value, exp.Var) and value.name.upper() == "ALL"
        ):
            limit = None
    if isinstance(offset, exp.Offset):
        value = offset.expression
        if isinstance(value, exp.Literal) and not value.is_string and value.this == "0":
            offset = None
    return limit is not None or offset is not None


def _any_rows_will_do(ctx: RuleContext, select: exp.Select) -> bool:
    parent = select.parent
    while isinstance(parent, exp.Subquery | exp.Paren):
        parent = parent.parent
    if isinstance(parent, _ANY_ROWS):
        return True
    if select.args.get("from_") is None:
        return True
    projections = select.expressions
    if all(isinstance(p.unalias(), _CONSTANT) for p in projections):
        return True
    if select.args.get("group") is None and any(
        p.find(exp.AggFunc) is not None and p.find(exp.Window) is None for p in projections
    ):
        return True
    if select.args.get("locks") and _SKIP_LOCKED.search(ctx.statement.text):
        return True
    return _at_most_one_row(ctx, select)


def _at_most_one_row(ctx: RuleContext, select: exp.Select) -> bool:
    """One table, and the WHERE fixes every column of one of its unique keys."""
    from_ = select.args.get("from_")
    where = select.args.get("where")
    if where is None or from_.expressions or select.args.get("joins"):
        return False
    source = from_.this
    if not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
        return False
    table = ctx.table(source)
    if table is None:
        return False
    fixed: set[str] = set()
    for cond in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if not isinstance(cond, exp.EQ):
            continue
        for col, other in ((cond.this, cond.expression), (cond.expression, cond.this)):
            if isinstance(col, exp.Column) and isinstance(
                other, exp.Literal | exp.Parameter | exp.Placeholder
            ):
                fixed.add(fold(col.this))
    for index in table.indexes:
        if index.unique and not index.partial and index.valid:
            columns = [k.column for k in index.keys]
            if columns and all(c is not None and c in fixed for c in columns):
                return True
    return False


def _keyword_span(ctx: RuleContext, select: exp.Select) -> tuple[int, int] | None:
    """The span of the first LIMIT / OFFSET / FETCH keyword of `select` and its count."""
    if not select.expressions:
        return None
    first = ctx.locate(select.expressions[0])
    distinct = select.args.get("distinct")
    on = ctx.locate(distinct) if distinct is not None else None
    if on is not None and first is not None and on[0] < first[0]:
        first = on  # DISTINCT ON (…): its expressions come first
    if first is None:
        return None
    toks = tokens(ctx)
    i = index_at(ctx, first[0]) - 1
    while i >= 0 and toks[i].token_type in (
        TokenType.L_PAREN,
        TokenType.DISTINCT,
        TokenType.ON,
        TokenType.ALL,
    ):
        i -= 1
    if at(toks, i) is None or toks[i].token_type != TokenType.SELECT:
        return None
    depth = 0
    for k in range(i + 1, len(toks)):
        tt = toks[k].token_type
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and tt in _SET_OPS:
            return None
        elif depth == 0 and tt in _KEYWORDS:
            return span_of(ctx, toks[k])[0], _clause_end(ctx, toks, k)
    return None


def _clause_end(ctx: RuleContext, toks: list[Token], k: int) -> int:
    """End of `LIMIT n` / `OFFSET n` / `FETCH FIRST n`: the keyword and its count."""
    j = k + 1
    if toks[k].token_type == TokenType.FETCH:
        while at(toks, j) is not None and toks[j].text.upper() in ("FIRST", "NEXT"):
            j += 1
    nxt = at(toks, j)
    if nxt is not None and nxt.token_type == TokenType.PARAMETER:  # `$1`: `$` then `1`
        number = at(toks, j + 1)
        if number is not None and number.start == nxt.end + 1:
            return span_of(ctx, number)[1]
    if nxt is not None and nxt.token_type in (
        TokenType.NUMBER,
        TokenType.PARAMETER,
        TokenType.PLACEHOLDER,
        TokenType.VAR,
    ):
        return span_of(ctx, nxt)[1]
    return span_of(ctx, toks[j - 1])[1]


RULE = Rule(
    id="limit-without-order-by",
    summary="`LIMIT` / `OFFSET` / `FETCH` without `ORDER BY`, which returns arbitrary rows",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    applies=lambda text: _LIMITING.search(text) is not None,
    words=("limit", "offset", "fetch"),
)
