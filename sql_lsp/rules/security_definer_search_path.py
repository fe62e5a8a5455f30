"""
**What it does**

Flags `CREATE FUNCTION` / `CREATE PROCEDURE … SECURITY DEFINER` without a
`SET search_path = …` clause (`SET search_path FROM CURRENT` counts; `SET search_path TO
DEFAULT` does not, and neither does a `SET` run inside the body). `ALTER FUNCTION … SECURITY
DEFINER` is not checked: the function may have its setting from its creation.

**Why is this bad?**

A `SECURITY DEFINER` routine runs with the privileges of its owner, but resolves unqualified
names (tables, functions, operators such as `=`) through the *caller's* `search_path`. A caller
who can create objects in any schema can put that schema first and have the routine call their
own `lower()` or `=` with the owner's rights: a privilege escalation PostgreSQL's documentation
warns about. Fixing the `search_path` of the routine (with `pg_temp` last) closes it.

**Example**

```sql
CREATE FUNCTION delete_account(account_id bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER
AS $$ DELETE FROM accounts WHERE id = account_id $$;
```

**Use instead**

```sql
CREATE FUNCTION delete_account(account_id bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = app, pg_temp
AS $$ DELETE FROM accounts WHERE id = account_id $$;
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp import pg
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import pg_tokens

_DEFINER = re.compile(r"\bsecurity\s+definer\b", re.I)
_CREATE = re.compile(r"create\b", re.I)


def check(ctx: RuleContext) -> Iterator[Finding]:
    parsed = ctx.statement.parsed
    kind, fields = pg.node(parsed.pg if parsed is not None else None)
    if kind != "CreateFunctionStmt":
        return
    definer = False
    fixed = False
    for option in fields.get("options") or []:
        okind, ofields = pg.node(option)
        if okind != "DefElem":
            continue
        name = ofields.get("defname")
        akind, afields = pg.node(ofields.get("arg"))
        if name == "security":
            definer = akind == "Boolean" and bool(afields.get("boolval"))
        elif (
            name == "set"
            and akind == "VariableSetStmt"
            and afields.get("name") == "search_path"
            and afields.get("kind") in ("VAR_SET_VALUE", "VAR_SET_CURRENT")
        ):
            fixed = True
    if not definer or fixed:
        return
    text = ctx.statement.text
    toks = pg_tokens(text)
    for i, tok in enumerate(toks[:-1]):
        if tok.name == "SECURITY" and toks[i + 1].name == "DEFINER":
            start = ctx.statement.start + tok.start
            end = ctx.statement.start + toks[i + 1].end + 1
            what = "procedure" if fields.get("is_procedure") else "function"
            routine = ".".join(pg.strings(fields.get("funcname")))
            yield ctx.finding(
                start,
                end,
                f"SECURITY DEFINER {what} {routine} has no SET search_path: it runs with its "
                "owner's privileges but finds tables, functions and operators through the "
                "caller's search_path; add SET search_path = <its schemas>, pg_temp",
            )
            return


RULE = Rule(
    id="security-definer-search-path",
    summary="A `SECURITY DEFINER` function or procedure without `SET search_path`",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    dialects=("postgres",),
    needs_tree=False,
    applies=lambda text: _CREATE.match(text) is not None and _DEFINER.search(text) is not None,
    words=("definer",),
)
