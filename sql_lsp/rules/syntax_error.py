"""
**What it does**

Reports a statement that cannot be read: a typo in a keyword, a clause left empty, an unclosed
parenthesis, an unterminated string, dollar quote or comment. The finding sits on the offending
token of that statement only; every other statement of the file is still analysed.

**Why is this bad?**

The statement will fail when it runs, and until it parses no other rule can look at it.

**Example**

```sql
SELECT id, email FROM users WHERE;
```

**Use instead**

```sql
SELECT id, email FROM users WHERE id = 1;
```

**Notes**

The parser is lenient and does not know every PostgreSQL statement: statements it does not
understand (PL/pgSQL bodies, `DO` blocks, `VACUUM`, `LISTEN`…) are left alone rather than
reported, so this rule never flags valid SQL it merely cannot read.
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.rules.base import Finding, Rule, RuleContext


def check(ctx: RuleContext) -> Iterator[Finding]:
    error = ctx.statement.error
    if error is None:
        return
    stmt = ctx.statement
    start = stmt.start + error.start
    end = stmt.start + max(error.end, error.start)
    if end <= start:  # point at something visible: the last token, or the statement start
        end = min(start + 1, stmt.end) if start < stmt.end else start
        if end <= start:
            start, end = max(stmt.start, stmt.end - 1), stmt.end
    yield ctx.finding(start, end, error.message)


RULE = Rule(
    id="syntax-error",
    summary="A statement that cannot be parsed",
    check=check,
    docs=__doc__ or "",
    severity="error",
    needs="syntax",
)
