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

For PostgreSQL the verdict is PostgreSQL's own: the statement is given to PostgreSQL 18's parser
(libpg_query, through pglast) and reported exactly when that parser rejects it, with its message
(`syntax error at or near "FROM"`) on the token it names. psql meta-commands (also `\\if` lines
inside a statement), `COPY … FROM stdin` data, psql variables (`:name`, `:'name'`, `:{?name}`)
and `$1` / `%s` / `%(name)s` / `?` placeholders are accepted. Only the grammar is checked: a
table that does not exist is not a syntax error. For the other dialects sqlglot's parser is
used, and only statements it reads reliably are reported.
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
