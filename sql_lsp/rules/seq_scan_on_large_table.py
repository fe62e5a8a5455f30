"""
**What it does**

Flags a statement whose `EXPLAIN` plan reads a large table from start to end to keep only the
rows matching a filter: a `Seq Scan` with a `Filter` over a relation of more than `minRows`
(default 10,000) estimated rows. The finding sits on the table's reference in the statement and
names the relation, its estimated size and the filter.

It works from the plans sql-lsp already has (the language server plans the open documents in the
background; `sql-lsp check --database-url` plans the checked files): typing never sends anything
to the database. It says nothing when an index leading with the filtered columns already exists
(the planner chose the scan knowing it) or is declared in the workspace but not yet in the
database (a pending migration).

**Why is this bad?**

A sequential scan costs time proportional to the whole table, however few rows the statement
needs, and the table only grows. On a busy database it also evicts useful pages from the cache.
An index on the filtered columns lets PostgreSQL read just the matching rows.

**Example**

```sql
-- events has ~50,000 rows and no index on kind
SELECT id, created_at FROM events WHERE kind = 'click';
```

**Use instead**

```sql
CREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);
SELECT id, created_at FROM events WHERE kind = 'click';
```

**Fix safety**

When the filter's columns can be read from the plan (plain columns compared with `=`, `IN`, or a
range, joined by `AND`; equality columns first, then one range column), the fix inserts
`CREATE INDEX CONCURRENTLY <table>_<columns>_idx ON <table> (<columns>);` after the statement.
`CONCURRENTLY` keeps writes going while a large table is indexed (it cannot run inside a
transaction block). The fix is unsafe: building an index on a large table is a decision for a
human, and the statement usually belongs in a migration rather than next to the query. When
HypoPG has priced the index (`explain.hypopg`), the fix title shows the cost change, and no fix is
offered if the planner would not use it or it saves less than `explain.minImprovementPercent`.

**Needs**

A database (`database.url`), for plans and table sizes.

**Options**

`minRows` (`min_rows` in TOML; default 10000): only relations with more estimated rows count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from sql_lsp.catalog.model import (
    Table,
    default_index_name,
    fold,
    qualified_name,
    quote_ident,
)
from sql_lsp.explain.plan import DEFAULT_SEQ_SCAN_ROWS, Plan, SeqScan, seq_scans_with_filter
from sql_lsp.rules.base import UNSAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.missing_fk_index import insertion_after

MAX_KEYS = 3
_EQUALITY = (exp.EQ, exp.In)
_RANGE = (exp.GT, exp.GTE, exp.LT, exp.LTE)


@dataclass(frozen=True)
class Suggestion:
    """An index that would serve a sequential scan's filter."""

    table: Table
    columns: tuple[str, ...]

    def create_index(self, name: str, search_path: tuple[str, ...]) -> str:
        """`CREATE INDEX CONCURRENTLY name ON table (columns)`, without `;`: what the fix
        inserts, and the key under which HypoPG's pricing of it is looked up."""
        target = qualified_name(self.table.schema, self.table.name, search_path)
        cols = ", ".join(quote_ident(c) for c in self.columns)
        return f"CREATE INDEX CONCURRENTLY {quote_ident(name)} ON {target} ({cols})"


def filter_columns(filter_text: str) -> tuple[str, ...]:
    """Index key columns for a plan's Filter: equality columns in order, then one range column.
    Empty when the filter offers none (an OR, functions around the columns, ...)."""
    try:
        tree = sqlglot.parse_one(filter_text, read="postgres")
    except Exception:  # a filter sqlglot cannot read: no suggestion
        return ()
    equal: list[str] = []
    ranged: list[str] = []
    for part in _conjuncts(tree):
        if isinstance(part, exp.Between):
            column = _column(part.this)
            if column and _constant(part.args.get("low")) and _constant(part.args.get("high")):
                ranged.append(column)
            continue
        if not isinstance(part, (*_EQUALITY, *_RANGE)):
            continue
        if isinstance(part, exp.In):
            column = _column(part.this)
            ok = part.args.get("query") is None and all(_constant(v) for v in part.expressions)
        else:
            left, right = part.this, part.expression
            column = _column(left) if _constant(right) else None
            if column is None and _constant(left):
                column = _column(right)
            ok = column is not None
        if not ok or column is None:
            continue
        if isinstance(part, _EQUALITY):
            equal.append(column)
        else:
            ranged.append(column)
    keys = list(dict.fromkeys(equal))
    for column in ranged:
        if column not in keys:
            keys.append(column)
            break
    return tuple(keys[:MAX_KEYS])


def _conjuncts(node: exp.Expression) -> Iterator[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        yield from _conjuncts(node.this)
        yield from _conjuncts(node.expression)
    else:
        yield node


def _column(node: exp.Expression | None) -> str | None:
    """The column a comparison side is, allowing PostgreSQL's `(col)::text` on varchar."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.TEXT):
        node = node.this
        while isinstance(node, exp.Paren):
            node = node.this
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
        return fold(node.this)
    return None


def _constant(node: exp.Expression | None) -> bool:
    """No column, no subquery: the same value for every row."""
    if node is None:
        return False
    return not any(isinstance(n, exp.Column | exp.Query | exp.Subquery) for n in node.walk())


def suggestion(scan: SeqScan, table: Table | None) -> Suggestion | None:
    """The index to suggest for a scan, or None when none can be derived."""
    if table is None:
        return None
    columns = filter_columns(scan.filter)
    if not columns or any(c not in table.columns for c in columns):
        return None
    return Suggestion(table, columns)


def _indexed(ctx: RuleContext, table: Table, columns: tuple[str, ...]) -> bool:
    """An index (workspace or database) already leads with the first suggested column."""
    live = ctx.database.catalog if ctx.database is not None else None
    indexes = list(table.indexes)
    ws = ctx.catalog.tables.get(table.key)
    if ws is not None and ws is not table:
        indexes += ws.indexes
    other = live.tables.get(table.key) if live is not None else None
    if other is not None and other is not table:
        indexes += other.indexes
    for index in indexes:
        if not index.valid or index.partial or index.method not in ("btree", "hash", "brin"):
            continue
        if index.keys and index.keys[0].column == columns[0]:
            return True
    return False


def index_candidates(ctx: RuleContext) -> list[str]:
    """The `CREATE INDEX` statements the fixes would insert for the statement (without `;`),
    to price with `LiveState.what_if(statement text, create_index)`."""
    return [
        s.create_index(_index_name(ctx, s), ctx.search_path)
        for _, _, s in _scans(ctx)
        if s is not None and not _indexed(ctx, s.table, s.columns)
    ]


def _index_name(ctx: RuleContext, sug: Suggestion) -> str:
    taken = {i.name for i in ctx.catalog.indexes()}
    base = name = default_index_name(sug.table.name, sug.columns, "idx")
    n = 1
    while name in taken:
        name = f"{base}{n}"
        n += 1
    return name


def _plan(ctx: RuleContext) -> Plan | None:
    facts = ctx.database
    return facts.plan(ctx.statement.text) if facts is not None else None


def _scans(ctx: RuleContext) -> Iterator[tuple[SeqScan, exp.Table | None, Suggestion | None]]:
    plan = _plan(ctx)
    if plan is None:
        return
    min_rows = ctx.number_option("min_rows", DEFAULT_SEQ_SCAN_ROWS)
    live = ctx.database.catalog if ctx.database is not None else None
    seen: set[tuple] = set()
    for scan in seq_scans_with_filter(plan, min_rows):
        key = (scan.relation, scan.alias, scan.filter)
        if key in seen:
            continue
        seen.add(key)
        node = _reference(ctx, scan)
        table = ctx.table(node) if node is not None else None
        if table is None:
            table = ctx.catalog.table(scan.relation, scan.schema, ctx.search_path)
        if table is None and live is not None:
            table = live.table(scan.relation, scan.schema, ctx.database.search_path)
        yield scan, node, suggestion(scan, table)


def _reference(ctx: RuleContext, scan: SeqScan) -> exp.Table | None:
    tree = ctx.tree
    if tree is None:
        return None
    named = [
        t
        for t in ctx.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier) and fold(t.this) == scan.relation
    ]
    for t in named:
        alias = fold(t.args["alias"].this) if t.alias else fold(t.this)
        if scan.alias is None or alias == scan.alias:
            return t
    return named[0] if named else None


def check(ctx: RuleContext) -> Iterator[Finding]:
    for scan, node, sug in _scans(ctx):
        if sug is not None and _indexed(ctx, sug.table, sug.columns):
            continue  # the planner knows the index and chose the scan, or a migration adds it
        start, end = _span(ctx, node)
        name = (
            qualified_name(sug.table.schema, sug.table.name, ctx.search_path)
            if sug is not None
            else quote_ident(scan.relation)
        )
        message = (
            f"sequential scan of {name} (~{scan.relation_rows:,} rows) with filter "
            f"{scan.filter}: every execution reads the whole table"
        )
        fixes = [fix] if sug is not None and (fix := _fix(ctx, sug)) is not None else []
        yield ctx.finding(start, end, message, fixes)


def _fix(ctx: RuleContext, sug: Suggestion) -> Fix | None:
    index_name = _index_name(ctx, sug)
    target = qualified_name(sug.table.schema, sug.table.name, ctx.search_path)
    cols = ", ".join(quote_ident(c) for c in sug.columns)
    title = f"Create index on {target} ({cols})"
    create = sug.create_index(index_name, ctx.search_path)
    priced = ctx.database.what_if(ctx.statement.text, create) if ctx.database else None
    if priced is not None:  # a database is there: its driver is loaded already
        from sql_lsp.explain.whatif import WhatIf, with_cost, worth_it

        if isinstance(priced, WhatIf):
            if not worth_it(priced, ctx.config.explain.min_improvement_percent):
                return None
            title = with_cost(title, priced)
    at, text = insertion_after(ctx, create + ";")
    return Fix(title, (Edit(at, at, text),), UNSAFE)


def _span(ctx: RuleContext, node: exp.Table | None) -> tuple[int, int]:
    """The table's name as written (with its schema), else the statement's first word."""
    if node is not None:
        whole = ctx.locate(node)
        name = ctx.locate(node.this)
        if whole is not None and name is not None:
            return whole[0], name[1]
        if name is not None:
            return name
    stmt = ctx.statement
    m = re.search(r"\S+", stmt.text)
    if m is None:
        return stmt.start, stmt.start
    first = re.match(r"[A-Za-z_]+", m.group(0))
    length = len(first.group(0)) if first else len(m.group(0))
    return stmt.start + m.start(), stmt.start + m.start() + length


RULE = Rule(
    id="seq-scan-on-large-table",
    summary="A statement whose plan reads a large table from end to end to filter it",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="database",
    fix="unsafe",
    dialects=("postgres",),
    options={"min_rows": DEFAULT_SEQ_SCAN_ROWS},
)
