"""
**What it does**

Flags `ALTER TABLE … ALTER COLUMN … TYPE` on a table that the same file did not create before,
when the change makes PostgreSQL rewrite the table. The type before the change comes from the
history-aware catalog. Not flagged: the changes PostgreSQL makes without a rewrite (`varchar(n)`
to `varchar(m)` with `m >= n`, to unbounded `varchar` or to `text`; `varchar` to `text` and back;
`numeric(p, s)` to `numeric(p2, s)` with `p2 >= p`, or to unconstrained `numeric`; the same type
again), and any change the rule cannot judge: a column whose current type is not known, a type
outside the common built-in ones (domains, enums, `inet`/`cidr`…, which have their own binary
coercions), and `timestamp` to `timestamptz` (no rewrite when the session's `TimeZone` is UTC).
A temporary table is not flagged, nor `ALTER TYPE … ALTER ATTRIBUTE … TYPE` (a composite type has
no rows) or `ALTER FOREIGN TABLE` (its rows live elsewhere), nor a statement inside a function body or `DO` block (the table
may be one the body has just made). When the workspace does not know the table at all, the rule
judges by the new type alone and flags only the types that no other built-in type becomes
without a rewrite (`smallint`, `int`, `bigint`, `real`, `double precision`, `boolean`, `date`,
`time`, `interval`, `uuid`, `json`, `jsonb`, `bytea`): the change rewrites the table unless the
column already has that type. The finding sits on `ALTER COLUMN … TYPE`.

**Why is this bad?**

A rewrite copies every row into a new file and rebuilds every index of the table while holding
an `ACCESS EXCLUSIVE` lock: no query, not even a `SELECT`, runs on the table until it is done,
which on a large table means minutes of downtime, and it needs disk space for a second copy.

**Example**

```sql
ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
```

**Use instead**

```sql
-- add the new column, backfill it in batches, then swap in a short transaction
ALTER TABLE orders ADD COLUMN quantity_new bigint;
```

**Needs**

The workspace schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp import pg
from sql_lsp.catalog.model import qualified_name, quote_ident
from sql_lsp.rules.base import Finding, Rule, RuleContext, alters
from sql_lsp.rules.migration import created_earlier

# the built-in types (in the catalog's spelling) whose casts between each other are known
_KNOWN = frozenset(
    [
        "smallint",
        "int",
        "bigint",
        "decimal",
        "real",
        "text",
        "varchar",
        "char",
        "boolean",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "uuid",
        "json",
        "jsonb",
        "bytea",
        "double precision",
    ]
)
# the targets no other type converts to without a rewrite (but the type itself, or a domain
# over it), by PostgreSQL's internal names
_BUILTIN = {
    "int2": "smallint",
    "int4": "int",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "date": "date",
    "time": "time",
    "timetz": "timetz",
    "interval": "interval",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "jsonb",
    "bytea": "bytea",
}
_TYPE = re.compile(r"\s*([a-z ]+?)\s*(?:\(\s*([\d\s,]+)\))?\s*")


def _split(type_text: str) -> tuple[str, tuple[int, ...]] | None:
    m = _TYPE.fullmatch(type_text.lower())
    if m is None:
        return None
    base = m.group(1)
    mods = tuple(int(x) for x in m.group(2).split(",")) if m.group(2) else ()
    return base, mods


def rewrites(before: str, after: str) -> bool | None:
    """Does changing a column from `before` to `after` rewrite the table? None: cannot tell."""
    old, new = _split(before), _split(after)
    if old is None or new is None:
        return None
    (ob, om), (nb, nm) = old, new
    if ob not in _KNOWN or nb not in _KNOWN:
        return None
    if (ob, om) == (nb, nm):
        return False
    if {ob, nb} == {"timestamp", "timestamptz"}:
        return None  # no rewrite when the session's TimeZone is UTC
    if ob in ("varchar", "text") and nb in ("varchar", "text"):
        if nb == "text" or not nm:
            return False
        return ob == "text" or not om or nm[0] < om[0]
    if ob == nb == "decimal":
        if not nm:
            return False
        if not om:
            return True
        old_scale = om[1] if len(om) > 1 else 0
        new_scale = nm[1] if len(nm) > 1 else 0
        return not (nm[0] >= om[0] and new_scale == old_scale)
    return True


def _span(ctx: RuleContext, column: str) -> tuple[int, int]:
    quoted = '"' + re.escape(column.replace('"', '""')) + '"'
    ident = f"(?:(?i:{re.escape(column)})|{quoted})" if quote_ident(column) == column else quoted
    pattern = rf"alter\s+(?:column\s+)?{ident}\s+(?:set\s+data\s+)?type\b"
    m = re.search(pattern, ctx.statement.text, re.I)
    base = ctx.statement.start
    if m is None:
        return base, base + len(ctx.statement.text.split("\n", 1)[0])
    return base + m.start(), base + m.end()


def check(ctx: RuleContext) -> Iterator[Finding]:
    ordinal = ctx.statement.catalog_ordinal
    changes = ctx.catalog.type_changes.get((ctx.document.uri, ordinal), []) if ordinal >= 0 else []
    parsed = ctx.statement.parsed
    kind, fields = pg.node(parsed.pg if parsed is not None else None)
    if kind != "AlterTableStmt" or fields.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
        return  # ALTER TYPE … ALTER ATTRIBUTE, ALTER FOREIGN TABLE: no rows of their own
    rel = fields.get("relation") or {}
    if rel.get("relpersistence") == "t":
        return
    if created_earlier(ctx, rel.get("schemaname") or None, rel.get("relname", "")):
        return
    if (
        ctx.catalog.table(rel.get("relname", ""), rel.get("schemaname") or None, ctx.search_path)
        is None
    ):
        yield from _unknown(ctx, fields)
        return
    seen: set[str] = set()
    for schema, table, column, before, after in changes:
        if schema == "pg_temp" or column in seen or before is None or after is None:
            continue
        seen.add(column)
        if not rewrites(before, after):
            continue
        yield _finding(ctx, qualified_name(schema, table, ctx.search_path), column, before, after)


def _unknown(ctx: RuleContext, fields: dict) -> Iterator[Finding]:
    """A table the workspace does not know: judged by the new type alone."""
    rel = fields.get("relation") or {}
    schema, name = rel.get("schemaname") or None, rel.get("relname", "")
    shown = qualified_name(schema, name, ctx.search_path) if schema else quote_ident(name)
    for cmd in fields.get("cmds") or []:
        _, cf = pg.node(cmd)
        dkind, df = pg.node(cf.get("def"))
        if cf.get("subtype") != "AT_AlterColumnType" or dkind != "ColumnDef":
            continue
        names = pg.strings((df.get("typeName") or {}).get("names"))
        if not names or (len(names) > 1 and names[0] != "pg_catalog"):
            continue
        after = _BUILTIN.get(names[-1])
        if after is None or (df.get("typeName") or {}).get("arrayBounds"):
            continue
        yield _finding(ctx, shown, cf.get("name", ""), None, after)


def _finding(ctx: RuleContext, table: str, column: str, before: str | None, after: str) -> Finding:
    start, end = _span(ctx, column)
    change = f"from {before} to {after}" if before else f"to {after}"
    return ctx.finding(
        start,
        end,
        f"changing {table}.{quote_ident(column)} {change} rewrites the whole table and its "
        "indexes under an ACCESS EXCLUSIVE lock (no reads or writes until done)",
    )


RULE = Rule(
    id="column-type-rewrite",
    summary="`ALTER COLUMN … TYPE` that rewrites an existing table",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=alters,
)
