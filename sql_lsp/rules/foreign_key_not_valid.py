"""
**What it does**

Flags `ALTER TABLE … ADD [CONSTRAINT name] FOREIGN KEY … REFERENCES …` without `NOT VALID` on a
table that the same file did not create before (a migration adding a foreign key to a table
that already holds rows). A file that creates the table and then adds its keys is not flagged,
nor is `NOT ENFORCED`, nor `ADD COLUMN … REFERENCES` (a new column holds only NULLs), nor a
statement inside a function body or `DO` block (it runs in one transaction, so a separate
`VALIDATE` there would release no lock).

**Why is this bad?**

Adding a validated foreign key checks every existing row of the table against the referenced
table, while holding a `SHARE ROW EXCLUSIVE` lock on both: no `INSERT`, `UPDATE` or `DELETE` on
either table can run until the whole table has been scanned. Adding the constraint `NOT VALID`
is instant (new rows are checked from then on); a later `VALIDATE CONSTRAINT` checks the old
rows under a lock that lets writes go on.

**Example**

```sql
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
```

**Use instead**

```sql
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp import pg
from sql_lsp.catalog.model import qualified_name
from sql_lsp.rules.base import Finding, Rule, RuleContext
from sql_lsp.rules.migration import created_earlier
from sql_lsp.rules.tokens import pg_tokens

_FOREIGN = re.compile(r"alter\s+table\b.*\bforeign\b", re.I | re.S)


def check(ctx: RuleContext) -> Iterator[Finding]:
    parsed = ctx.statement.parsed
    kind, fields = pg.node(parsed.pg if parsed is not None else None)
    if kind != "AlterTableStmt" or fields.get("objtype") not in (None, "OBJECT_TABLE"):
        return
    rel = fields.get("relation") or {}
    schema, name = rel.get("schemaname") or None, rel.get("relname", "")
    if rel.get("relpersistence") == "t" or created_earlier(ctx, schema, name):
        return
    # every table-level FOREIGN KEY of the statement, in order, and whether it is flagged
    keys = []
    for cmd in fields.get("cmds") or []:
        ckind, cfields = pg.node(cmd)
        if ckind != "AlterTableCmd" or cfields.get("subtype") != "AT_AddConstraint":
            continue
        dkind, constraint = pg.node(cfields.get("def"))
        if dkind == "Constraint" and constraint.get("contype") == "CONSTR_FOREIGN":
            validated = not constraint.get("skip_validation") and constraint.get(
                "is_enforced", True
            )
            keys.append((constraint, bool(validated)))
    if not any(flagged for _, flagged in keys):
        return
    toks = pg_tokens(ctx.statement.text)
    foreign = [
        i for i, t in enumerate(toks[:-1]) if t.name == "FOREIGN" and toks[i + 1].name == "KEY"
    ]
    if len(foreign) != len(keys):
        return  # the tokens do not read as expected: say nothing
    table = ctx.catalog.table(name, schema, ctx.search_path)
    shown = (
        qualified_name(table.schema, table.name, ctx.search_path)
        if table is not None
        else qualified_name(schema or ctx.search_path[0], name, ctx.search_path)
    )
    base = ctx.statement.start
    for (constraint, flagged), i in zip(keys, foreign, strict=True):
        if not flagged:
            continue
        ref = constraint.get("pktable") or {}
        ref_name = ref.get("relname", "?")
        if ref.get("schemaname"):
            ref_name = f"{ref['schemaname']}.{ref_name}"
        yield ctx.finding(
            base + toks[i].start,
            base + toks[i + 1].end + 1,
            f"adding this foreign key to existing table {shown} checks all its rows while "
            f"blocking writes to {shown} and {ref_name}; add it NOT VALID, then VALIDATE "
            "CONSTRAINT in a separate statement",
        )


RULE = Rule(
    id="foreign-key-not-valid",
    summary="A foreign key added to an existing table without `NOT VALID`, blocking writes",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    dialects=("postgres",),
    needs_tree=False,
    applies=lambda text: _FOREIGN.match(text) is not None,
)
