"""
**What it does**

Says when a statement that PostgreSQL accepts was too large (over 200 kB) or too deeply nested
for the other rules to analyse. Only its syntax was checked; no other rule looked inside it. The
finding is information, not a problem with the SQL, and sits on the statement's first word.

**Why is this bad?**

It is not: generated statements (a 50,000-value `IN` list, a 5,000-level expression) are valid
SQL. Analysing them would cost seconds per keystroke, so the editor would stop answering; the
finding says why the statement gets no other diagnostics rather than staying silent about it.

**Example**

```sql
SELECT * FROM t WHERE id IN (1, 2, 3, /* … 50,000 values … */ 50000);
```

**Use instead**

Nothing needs to change. To have it analysed, split the statement or pass the values as one
array parameter:

```sql
SELECT id FROM t WHERE id = ANY($1);
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp.rules.base import Finding, Rule, RuleContext

_WORD = re.compile(r"\w+")


def check(ctx: RuleContext) -> Iterator[Finding]:
    parsed = ctx.statement.parsed
    if parsed is None or parsed.note is None or parsed.error is not None:
        return
    stmt = ctx.statement
    m = _WORD.search(ctx.text, stmt.start, stmt.end)
    start, end = (m.start(), m.end()) if m else (stmt.start, stmt.end)
    yield ctx.finding(start, end, f"not analysed: {parsed.note}; only its syntax was checked")


RULE = Rule(
    id="analysis-skipped",
    summary="A valid statement too large or too deep for the rules to analyse",
    check=check,
    docs=__doc__ or "",
    severity="info",
    needs="syntax",
    needs_tree=False,
)
