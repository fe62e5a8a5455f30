"""
**What it does**

Flags a column named `<x>_id` when a table `<x>` or its plural (`<x>s`, `<x>es`, `y` → `ies`)
exists at the end of the history (in the column's schema, else on the search path) with a
single-column primary key of the same type (only one such table: when `customer` and `customers`
both fit, the rule cannot know which is meant), and no foreign key of the column's table includes
the column. The finding sits on the column's name where it is declared. A column that is its
own table's primary key, a column of the table its name points at (`reactions.reaction_id`: not
a self-reference), a column whose type differs from the key's, temporary tables, and partitions
and inheritance children (their parent carries the design, and is the one flagged) are not
flagged.

**Why is this bad?**

Without the constraint nothing stops an `orders.customer_id` that points at no customer: a
typo, a deleted row or a race leaves orphans that joins silently drop. The planner also uses
foreign keys (join removal, row estimates), and tools read them to draw and navigate the
schema.

**Example**

```sql
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL);
```

**Use instead**

```sql
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers);
```

**Fix safety**

Unsafe: the fix adds, after the statement, `ALTER TABLE … ADD FOREIGN KEY (…) REFERENCES … NOT
VALID`. `NOT VALID` checks new rows only, so adding it does not scan the table under lock, but
existing orphans stay until `ALTER TABLE … VALIDATE CONSTRAINT` finds them; and the rule only
guesses the reference from the name, so read it before applying (a partitioned table gets no
fix: PostgreSQL refuses `NOT VALID` foreign keys there; nor does a column whose referenced table
or its primary key comes only later in the history, as in a pg_dump, which adds every primary
key after all the tables).

**Needs**

The workspace schema.
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.catalog.model import Column, Table, qualified_name, quote_ident
from sql_lsp.rules.base import UNSAFE, Edit, Finding, Fix, Rule, RuleContext, changes_schema
from sql_lsp.rules.declared_columns import column_finding, declared_columns
from sql_lsp.rules.missing_fk_index import insertion_after

_KINDS = ("table", "partitioned table")
_SAME = {
    "integer": "int",
    "int4": "int",
    "serial": "int",
    "serial4": "int",
    "int8": "bigint",
    "bigserial": "bigint",
    "serial8": "bigint",
    "int2": "smallint",
    "smallserial": "smallint",
    "character varying": "varchar",
}


def canonical_type(type_: str | None) -> str | None:
    if type_ is None:
        return None
    t = " ".join(type_.lower().split())
    return _SAME.get(t, t)


def candidates(stem: str) -> list[str]:
    """The table names `<stem>_id` may refer to: the stem and its plurals."""
    out = [stem, stem + "s", stem + "es"]
    if stem.endswith("y") and len(stem) > 1:
        out.append(stem[:-1] + "ies")
    return out


def _primary_column(table: Table) -> Column | None:
    pk = next((i for i in table.indexes if i.primary), None)
    if pk is None or len(pk.keys) != 1 or pk.keys[0].column is None:
        return None
    return table.columns.get(pk.keys[0].column)


def referenced(ctx: RuleContext, table: Table, column: Column) -> tuple[Table, Column] | None:
    name = column.name
    if not name.endswith("_id") or len(name) <= 3:
        return None
    want = canonical_type(column.type)
    if want is None:
        return None
    found: list[tuple[Table, Column]] = []
    for candidate in candidates(name[:-3]):
        target = ctx.catalog.tables.get((table.schema, candidate)) or ctx.catalog.table(
            candidate, None, ctx.search_path
        )
        if target is None or target.kind not in _KINDS or target.schema == "pg_temp":
            continue
        key = _primary_column(target)
        if key is not None and canonical_type(key.type) == want:
            found.append((target, key))
    # two tables fit (`customer` and `customers`): the rule cannot know which one is meant
    return found[0] if len(found) == 1 else None


def _key_before(ctx: RuleContext, target: Table) -> bool:
    """Whether `target` and its primary key exist where the fix would add the foreign key
    (right after this statement): a pg_dump adds primary keys after every table."""
    pk = next((i for i in target.indexes if i.primary), None)
    o = pk.origin if pk is not None else None
    if o is None:
        return target.source == "database"
    ranks = ctx.catalog.doc_rank
    here, there = ranks.get(ctx.document.uri), ranks.get(o.doc)
    if here is None or there is None:
        return False
    return (there, o.stmt) <= (here, ctx.statement.catalog_ordinal)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for table, column in declared_columns(ctx):
        if table.schema == "pg_temp" or table.partition or table.parents:
            continue
        own = _primary_column(table)
        if own is not None and own.name == column.name:
            continue
        if any(column.name in fk.columns for fk in table.foreign_keys):
            continue
        found = referenced(ctx, table, column)
        if found is None:
            continue
        target, key = found
        if target is table:
            continue
        name = qualified_name(target.schema, target.name, ctx.search_path)
        finding = column_finding(
            ctx,
            table,
            column,
            f"looks like a reference to {name} ({quote_ident(key.name)}, same type) but no "
            "foreign key checks it: orphan rows go unnoticed; add REFERENCES "
            f"{name} ({quote_ident(key.name)})",
        )
        if table.kind != "table" or not _key_before(ctx, target):
            yield finding
            continue
        own_name = qualified_name(table.schema, table.name, ctx.search_path)
        alter = (
            f"ALTER TABLE {own_name} ADD FOREIGN KEY ({quote_ident(column.name)}) "
            f"REFERENCES {name} ({quote_ident(key.name)}) NOT VALID;"
        )
        at, text = insertion_after(ctx, alter)
        fix = Fix(
            f"Add foreign key {own_name} ({quote_ident(column.name)}) → {name}",
            (Edit(at, at, text),),
            UNSAFE,
        )
        yield ctx.finding(finding.start, finding.end, finding.message, (fix,))


RULE = Rule(
    id="missing-foreign-key",
    summary="A `<table>_id` column with no foreign key to that table",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    fix=UNSAFE,
    dialects=("postgres",),
    needs_tree=False,
    applies=changes_schema,
)
