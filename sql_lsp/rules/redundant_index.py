"""
**What it does**

Flags a `CREATE INDEX` that another index of the same table already provides:

* an index identical to another one (same table, method, keys, predicate) — the one declared later
  is reported;
* an index whose keys are a strict leading prefix of another non-partial B-tree index's keys
  (`(user_id)` beside `(user_id, status, created_at)`; `(status)` is not a prefix and is fine);
* an index that repeats the index behind a PRIMARY KEY or UNIQUE constraint on the same columns.

A unique index is never redundant to a non-unique one: it enforces something. When two files
each create the table (two versions of one schema side by side), an index of one version is not
compared with the other version's.

**Why is this bad?**

Every index is written on every `INSERT` and on every `UPDATE` of its columns, takes disk and
memory, and is vacuumed. A redundant one costs all of that and speeds up no query: the planner can
use the other index for everything the redundant one could do.

**Example**

```sql
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, status text NOT NULL);
CREATE INDEX orders_user_id_status_idx ON orders (user_id, status);
CREATE INDEX orders_user_id_idx ON orders (user_id);
```

**Use instead**

```sql
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, status text NOT NULL);
CREATE INDEX orders_user_id_status_idx ON orders (user_id, status);
```

**Fix safety**

The fix deletes the redundant `CREATE INDEX` statement. Queries can still use the other index, but
the plans of some may change (a smaller index can be cheaper to scan), and a migration that was
already applied cannot be edited this way: it needs a human look, so the fix is unsafe.
`--fix --unsafe-fixes` leaves it out when another statement of the file names the index
(`COMMENT ON INDEX`, `ALTER INDEX … ATTACH PARTITION` as pg_dump writes for partitions,
`CLUSTER … USING`): without its `CREATE INDEX` that statement would fail.

**Needs**

The workspace schema (or a database).
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.catalog.model import Index, IndexKey, Table, qualified_name, quote_ident
from sql_lsp.rules.base import UNSAFE, Edit, Finding, Fix, Rule, RuleContext, creates


def _flipped(keys: tuple[IndexKey, ...]) -> tuple[IndexKey, ...]:
    return tuple(IndexKey(k.expr, k.column, not k.desc, k.opclass, k.collation) for k in keys)


def _same_keys(a: tuple[IndexKey, ...], b: tuple[IndexKey, ...]) -> bool:
    """Equal key lists; a B-tree scanned backwards serves the fully reversed order too."""
    return a == b or a == _flipped(b)


def _covers_include(index: Index, other: Index) -> bool:
    have = set(other.include) | {k.column for k in other.keys if k.column}
    return set(index.include) <= have


def _keys(index: Index) -> str:
    return "(" + ", ".join(k.text for k in index.keys) + ")"


def _versions(table: Table) -> set[str]:
    """The documents that each create `table` (more than one: versions of a schema side by
    side, of which only one runs)."""
    if not table.redefined_in or table.origin is None:
        return set()
    return {table.origin.doc, *table.redefined_in}


def _apart(index: Index, other: Index, versions: set[str]) -> bool:
    """Do the two indexes come from two different definitions of their table?"""
    a = index.origin.doc if index.origin is not None else None
    b = other.origin.doc if other.origin is not None else None
    return a != b and a in versions and b in versions


def redundant_to(index: Index, table: Table) -> tuple[Index, str] | None:
    """The index that makes `index` redundant and why, or None."""
    versions = _versions(table)
    for other in table.indexes:
        if other is index or not other.valid:
            continue
        if _apart(index, other, versions):
            continue  # of two definitions of the table side by side: neither is redundant
        if index.unique and not other.unique:
            continue  # a unique index enforces something the other does not
        if not _covers_include(index, other):
            continue
        if (
            index.method == other.method
            and index.predicate == other.predicate
            and _same_keys(index.keys, other.keys)
        ):
            if other.constraint or (other.unique and not index.unique) or other.seq < index.seq:
                if other.constraint:
                    return (
                        other,
                        f"the {other.constraint.upper()} constraint {quote_ident(other.name)} already indexes {_keys(other)}",
                    )
                return other, f"it is identical to {other.describe()}"
            continue
        n = len(index.keys)
        if (
            not index.unique
            and index.predicate is None
            and other.predicate is None
            and index.method == "btree"
            and other.method == "btree"
            and n < len(other.keys)
            and _same_keys(index.keys, other.keys[:n])
        ):
            return other, f"its keys are a leading prefix of {other.describe()}"
    return None


def check(ctx: RuleContext) -> Iterator[Finding]:
    for obj in ctx.declared():
        if not isinstance(obj, Index) or obj.constraint is not None:
            continue
        table = ctx.catalog.tables.get((obj.schema, obj.table))
        if table is None:
            continue
        found = redundant_to(obj, table)
        if found is None:
            continue
        _other, why = found
        name = qualified_name(table.schema, table.name, ctx.search_path)
        message = f"index {quote_ident(obj.name)} on {name} {_keys(obj)} is redundant: {why}"
        stmt = ctx.statement
        fixes = []
        # `drops`: --fix leaves the deletion out when the file names the index elsewhere
        # (COMMENT ON INDEX, ALTER INDEX, CLUSTER … USING), where the file would then fail
        fixes.append(
            Fix(
                f"Delete the redundant index {obj.name}",
                (_deletion(ctx),),
                UNSAFE,
                drops=(obj.name,),
            )
        )
        yield ctx.finding(stmt.start, stmt.end, message, fixes)


def _deletion(ctx: RuleContext) -> Edit:
    """Remove the statement, its semicolon and, when it has its lines to itself, those lines."""
    stmt = ctx.statement
    around = ctx.surroundings
    if around.own_line and around.tail_free:
        return Edit(around.line_start, around.next_line, "")
    return Edit(stmt.start, stmt.stop, "")


RULE = Rule(
    id="redundant-index",
    summary="An index that another index of the same table already provides",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    fix="unsafe",
    dialects=("postgres",),
    needs_tree=False,
    applies=creates,
)
