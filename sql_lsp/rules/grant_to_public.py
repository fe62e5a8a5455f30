"""
**What it does**

Flags `GRANT … TO PUBLIC` (and `ALTER DEFAULT PRIVILEGES … GRANT … TO PUBLIC`). `REVOKE … FROM
PUBLIC` is the remedy and is not flagged.

**Why is this bad?**

`PUBLIC` is every role of the cluster, including the ones created later and the ones of other
applications sharing the server. A privilege granted to `PUBLIC` cannot be withheld from any of
them without revoking it again. `GRANT CREATE ON SCHEMA public TO PUBLIC` (the default before
PostgreSQL 15) lets any role plant functions or tables that other roles' `search_path` resolves
first.

**Example**

```sql
GRANT SELECT ON TABLE customers TO PUBLIC;
```

**Use instead**

```sql
CREATE ROLE readers NOLOGIN;
GRANT SELECT ON TABLE customers TO readers;
GRANT readers TO app;
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp import pg
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.grant_all import GRANT_HEAD, grant_of, scan

_PUBLIC = re.compile(r"\bpublic\b", re.I)


def check(ctx: RuleContext) -> Iterator[Finding]:
    grant = grant_of(ctx)
    if grant is None:
        return
    roles = [pg.node(g)[1] for g in grant.get("grantees") or []]
    if not any(r.get("roletype") == "ROLESPEC_PUBLIC" for r in roles):
        return
    toks = scan(ctx)
    text = ctx.statement.text
    # the grantee list follows the last TO of the statement
    to = max((i for i, t in enumerate(toks) if t.name == "TO"), default=-1)
    if to < 0:
        return
    for tok in toks[to + 1 :]:
        word = text[tok.start : tok.end + 1]
        if tok.name == "IDENT" and word.strip('"').lower() == "public":
            start = ctx.statement.start + tok.start
            yield ctx.finding(
                start,
                start + len(word),
                "granting to PUBLIC gives the privilege to every role of the server, present "
                "and future; grant it to a role that only the intended users are members of",
            )
            return


RULE = Rule(
    id="grant-to-public",
    summary="`GRANT … TO PUBLIC`, which gives the privilege to every role",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    dialects=("postgres",),
    needs_tree=False,
    applies=lambda text: GRANT_HEAD.match(text) is not None and _PUBLIC.search(text) is not None,
)
