"""
**What it does**

Flags `CREATE ROLE` / `CREATE USER` / `ALTER ROLE` / `ALTER USER` with `PASSWORD 'literal'`
when the literal is a clear-text password. A password that is already hashed
(`'SCRAM-SHA-256$4096:…'`, `'md5'` followed by 32 hexadecimal digits), `PASSWORD NULL` and a
psql variable (`PASSWORD :'new_password'`) are not flagged.

**Why is this bad?**

A clear-text password in a SQL file lives in version control, in backups, in the shell history
of whoever ran it, and in PostgreSQL's own logs (`log_statement = 'ddl'` writes the statement out
as it was sent). Anyone who can read any of them can log in as the role.

**Example**

```sql
CREATE ROLE app LOGIN PASSWORD 'correct horse battery staple';
```

**Use instead**

```sql
-- hashed on the client: psql's \\password app, or a SCRAM verifier computed beforehand
CREATE ROLE app LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp import pg
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import pg_tokens

_HASHED = re.compile(r"SCRAM-SHA-256\$|md5[0-9a-f]{32}$")
_PASSWORD = re.compile(r"(?:create|alter)\s+(?:role|user)\b.*\bpassword\b", re.I | re.S)


def check(ctx: RuleContext) -> Iterator[Finding]:
    parsed = ctx.statement.parsed
    kind, fields = pg.node(parsed.pg if parsed is not None else None)
    if kind not in ("CreateRoleStmt", "AlterRoleStmt"):
        return
    plain = False
    for option in fields.get("options") or []:
        okind, ofields = pg.node(option)
        if okind != "DefElem" or ofields.get("defname") != "password":
            continue
        akind, afields = pg.node(ofields.get("arg"))
        if akind == "String" and not _HASHED.match(afields.get("sval", "")):
            plain = True
    if not plain:
        return
    text = ctx.statement.text
    toks = pg_tokens(text)
    for i, tok in enumerate(toks[:-1]):
        value = toks[i + 1]
        if tok.name != "PASSWORD" or value.name != "SCONST":
            continue
        if value.start > 0 and text[value.start - 1] == ":":
            continue  # a psql variable, :'name'
        literal = text[value.start : value.end + 1]
        if _HASHED.match(literal.strip("'")):
            continue
        start = ctx.statement.start + value.start
        yield ctx.finding(
            start,
            start + len(literal),
            f"the password of {_role(kind, fields)} is written in clear text: it stays in this "
            "file, its history and the server's logs; set a SCRAM-SHA-256 hash (psql's "
            "\\password computes one)",
        )


def _role(kind: str, fields: dict) -> str:
    if kind == "CreateRoleStmt":
        return f"role {fields.get('role', '?')}"
    spec = fields.get("role") or {}
    name = spec.get("rolename")
    if name:
        return f"role {name}"
    return spec.get("roletype", "ROLESPEC_").removeprefix("ROLESPEC_").lower()


RULE = Rule(
    id="plaintext-password",
    summary="`CREATE/ALTER ROLE … PASSWORD 'clear text'`, which leaks into files and logs",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    dialects=("postgres",),
    needs_tree=False,
    applies=lambda text: _PASSWORD.match(text) is not None,
    words=("password",),
)
