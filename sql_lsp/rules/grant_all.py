"""
**What it does**

Flags `GRANT ALL [PRIVILEGES] ON …` (tables, sequences, schemas, databases, functions, `ALL
TABLES IN SCHEMA …`) and `ALTER DEFAULT PRIVILEGES … GRANT ALL ON …`. Granting named privileges,
column privileges and role membership (`GRANT admin TO bob`) is not flagged, nor is `REVOKE ALL`.

**Why is this bad?**

`ALL` is every privilege the object type has, now and in future versions: on a table that is
`TRUNCATE`, `REFERENCES` and `TRIGGER` as well as reading and writing (and `MAINTAIN` since
PostgreSQL 17); on a schema it is `CREATE`, so the grantee can add objects that other roles'
`search_path` will find. An application role rarely needs more than `SELECT`, `INSERT`, `UPDATE`
and `DELETE`; least privilege limits what a leaked password or an injected query can do.

**Example**

```sql
GRANT ALL ON TABLE orders TO app;
```

**Use instead**

```sql
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE orders TO app;
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sql_lsp import pg
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.tokens import pg_tokens
from sql_lsp.statements import blank_meta_lines

GRANT_HEAD = re.compile(r"(?:grant|alter\s+default\s+privileges)\b", re.I)
_OBJECTS = {
    "OBJECT_TABLE": "TABLE",
    "OBJECT_SEQUENCE": "SEQUENCE",
    "OBJECT_SCHEMA": "SCHEMA",
    "OBJECT_DATABASE": "DATABASE",
    "OBJECT_FUNCTION": "FUNCTION",
    "OBJECT_PROCEDURE": "PROCEDURE",
    "OBJECT_ROUTINE": "ROUTINE",
    "OBJECT_TYPE": "TYPE",
    "OBJECT_DOMAIN": "DOMAIN",
    "OBJECT_LANGUAGE": "LANGUAGE",
    "OBJECT_FOREIGN_SERVER": "FOREIGN SERVER",
    "OBJECT_FDW": "FOREIGN DATA WRAPPER",
    "OBJECT_LARGEOBJECT": "LARGE OBJECT",
    "OBJECT_TABLESPACE": "TABLESPACE",
}


def grant_of(ctx: RuleContext) -> dict[str, Any] | None:
    """The GrantStmt fields of a `GRANT` (or `ALTER DEFAULT PRIVILEGES … GRANT`), from
    PostgreSQL's own parse tree; None for anything else."""
    parsed = ctx.statement.parsed
    if parsed is None or parsed.error is not None:
        return None
    tree = parsed.pg
    if tree is None:
        memo = parsed.memo
        if "grant" not in memo:
            _, json_text = pg.check(pg.neutralize(blank_meta_lines(parsed.text)))
            nodes = pg.statements(json_text) if json_text else []
            memo["grant"] = nodes[0] if len(nodes) == 1 else None
        tree = memo["grant"]
    kind, fields = pg.node(tree)
    if kind == "AlterDefaultPrivilegesStmt":
        fields = fields.get("action") or {}
    elif kind != "GrantStmt":
        return None
    return fields if fields.get("is_grant") else None


def _names(objects: list[Any]) -> list[str]:
    out = []
    for obj in objects:
        kind, fields = pg.node(obj)
        if kind == "RangeVar":
            schema = fields.get("schemaname")
            out.append(f"{schema}.{fields.get('relname')}" if schema else fields.get("relname", ""))
        elif kind == "String":
            out.append(fields.get("sval", ""))
        elif kind == "ObjectWithArgs":
            out.append(".".join(pg.strings(fields.get("objname"))))
        elif kind == "List":
            out.append(".".join(pg.strings(fields.get("items"))))
    return out


def scan(ctx: RuleContext) -> list[Any]:
    """PostgreSQL's tokens of the statement (offsets relative to it)."""
    return pg_tokens(ctx.statement.text)


def check(ctx: RuleContext) -> Iterator[Finding]:
    grant = grant_of(ctx)
    if grant is None or grant.get("privileges"):
        return  # named privileges (or column privileges)
    toks = scan(ctx)
    for i, tok in enumerate(toks[:-1]):
        if tok.name != "GRANT" or toks[i + 1].name != "ALL":
            continue
        last = toks[i + 1]
        if i + 2 < len(toks) and toks[i + 2].name == "PRIVILEGES":
            last = toks[i + 2]
        start = ctx.statement.start + toks[i + 1].start
        end = ctx.statement.start + last.end + 1
        kind = _OBJECTS.get(grant.get("objtype", ""), "object").lower()
        names = ", ".join(_names(grant.get("objects") or []))
        if grant.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
            what = f"every {kind} in schema {names}"
        elif grant.get("targtype") == "ACL_TARGET_DEFAULTS":
            what = f"every {kind} created from now on"
        else:
            what = f"{kind} {names}" if names else kind
        written = "GRANT ALL PRIVILEGES" if last is not toks[i + 1] else "GRANT ALL"
        yield ctx.finding(
            start,
            end,
            f"{written} grants every privilege on {what}, including ones the grantee does not "
            "need; grant only the privileges it uses",
        )
        return


RULE = Rule(
    id="grant-all",
    summary="`GRANT ALL` privileges, more than any role needs",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    dialects=("postgres",),
    needs_tree=False,
    applies=lambda text: GRANT_HEAD.match(text) is not None,
)
