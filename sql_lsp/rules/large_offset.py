"""
**What it does**

Flags an `OFFSET` given as an integer literal of 1,000 or more (`LIMIT 20 OFFSET 100000`,
`OFFSET 5000 ROWS FETCH NEXT 20 ROWS ONLY`, MySQL's `LIMIT 5000, 20`). Parameters
(`OFFSET $1`) and expressions are not flagged: their value is not known.

**Why is this bad?**

`OFFSET n` does not skip rows, it produces them and throws them away: the database reads,
joins and sorts the first `n` rows of the result before returning the ones asked for. Each page
costs more than the previous one, so deep pages of a large table get slow, and rows inserted or
deleted between two requests shift the pages (rows are shown twice or never).

**Example**

```sql
SELECT id, title FROM posts ORDER BY id LIMIT 20 OFFSET 100000;
```

**Use instead**

```sql
-- keyset pagination: continue after the last key of the previous page
SELECT id, title FROM posts WHERE id > 100020 ORDER BY id LIMIT 20;
```

**Options**

`threshold` (default 1000): the smallest literal `OFFSET` that is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

DEFAULT_THRESHOLD = 1000
_OFFSET = re.compile(r"\boffset\b|\blimit\s+\d+\s*,", re.I)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    threshold = ctx.number_option("threshold", DEFAULT_THRESHOLD)
    for node in ctx.find_all(exp.Offset):
        value = node.expression
        if not isinstance(value, exp.Literal) or value.is_string:
            continue
        try:
            rows = int(value.this)
        except ValueError:
            continue
        if rows < threshold:
            continue
        span = ctx.locate(value)
        if span is None:
            continue
        toks = tokens(ctx)
        i = index_at(ctx, span[0])
        start = span[0]
        if is_type(at(toks, i - 1), TokenType.OFFSET):
            start = span_of(ctx, toks[i - 1])[0]
        message = (
            f"OFFSET {rows} produces and discards {rows:,} rows before the first one returned, "
            "and each later page costs more; paginate with a keyset condition "
            "(WHERE key > last key seen ORDER BY key LIMIT n)"
        )
        yield ctx.finding(start, span[1], message)


RULE = Rule(
    id="large-offset",
    summary="A literal `OFFSET` of 1,000 rows or more, which reads and discards them all",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    options={"threshold": DEFAULT_THRESHOLD},
    applies=lambda text: _OFFSET.search(text) is not None,
    words=("offset", "limit"),
)
