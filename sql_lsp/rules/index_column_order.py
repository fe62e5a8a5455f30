"""
**What it does**

Flags a `WHERE` condition that an index could serve (`c = …`, `c < …`, `c BETWEEN … AND …`,
`c IN (…)` with a value that is not a column of the query) on a column `c` that is the second
or a later key of a composite B-tree index of its table, when no index of the table (the primary
key and UNIQUE constraints included) has `c` as its first key and no condition of the query on
that table uses the composite index's first key. The rule is silent when the column's table or
its indexes are not known.

**Why is this bad?**

A composite B-tree index is ordered by its first key, then by the second within equal first
keys, and so on: like a phone book sorted by last name, it cannot find everyone called "Ada"
without reading it whole. A query filtering only on a later key cannot use the index to find
its rows (at best it scans the whole index), so it reads the table instead. Either the index's
keys are in the wrong order for the queries that use it, or the column needs its own index.

**Example**

```sql
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL);
CREATE INDEX orders_customer_status_idx ON orders (customer_id, status);

SELECT id FROM orders WHERE status = 'open';
```

**Use instead**

```sql
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL);
CREATE INDEX orders_customer_status_idx ON orders (customer_id, status);
CREATE INDEX orders_status_idx ON orders (status);

SELECT id FROM orders WHERE status = 'open';
```

**Needs**

The workspace schema or a database: the indexes of the column's table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.catalog.model import Catalog, Index, Table, fold
from sql_lsp.query_model import QUERIES, filter_conditions, resolve, resolve_column, where_conjuncts
from sql_lsp.rules.base import Finding, Rule, RuleContext

_WHERE = re.compile(r"\bwhere\b", re.I)
_SARGABLE = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)
_ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    later = ctx.catalog.derived("later-keys", _later_keys)
    if not later:
        return
    for query in ctx.find_all(*QUERIES):
        for term in where_conjuncts(query):
            column = _filtered_column(term, later)
            if column is None:
                continue
            resolved = resolve_column(ctx.table, column, query)
            if resolved is None:
                continue
            table, name = resolved
            if any(i.keys and i.keys[0].column == name for i in table.indexes):
                continue
            index = _composite_with(table, name)
            if index is None or _uses(ctx, query, table, index.keys[0].column):
                continue
            span = ctx.locate(column)
            if span is None:
                continue
            position = next(k for k, key in enumerate(index.keys, 1) if key.column == name)
            ordinal = _ORDINALS.get(position, f"#{position}")
            keys = ", ".join(k.text for k in index.keys)
            message = (
                f"`{name}` is only the {ordinal} key of index `{index.name}` ({keys}) and no "
                f"index of `{table.name}` starts with it, so this condition cannot use an index; "
                f"index `{name}` on its own, or put it first"
            )
            yield ctx.finding(span[0], span[1], message)


def _filtered_column(term: exp.Expression, names: frozenset[str]) -> exp.Column | None:
    """The column a sargable condition filters on, compared with values that are no column,
    when its name is one of `names`."""
    if not isinstance(term, _SARGABLE):
        return None
    if isinstance(term, exp.In):
        if term.args.get("query") is not None or not term.expressions:
            return None
        sides, others = [term.this], list(term.expressions)
    elif isinstance(term, exp.Between):
        sides, others = [term.this], [term.args.get("low"), term.args.get("high")]
    else:
        sides, others = [term.this], [term.expression]
        if not isinstance(term.this, exp.Column):
            sides, others = [term.expression], [term.this]
    column = sides[0]
    if not isinstance(column, exp.Column) or fold(column.this) not in names:
        return None
    if any(o is None or o.find(exp.Column, exp.Query) is not None for o in others):
        return None
    return column


def _later_keys(catalog: Catalog) -> frozenset[str]:
    """Names of the columns that are a later key of some composite btree index (a filter on
    any other column cannot be what this rule is about)."""
    return frozenset(
        k.column
        for table in catalog.tables.values()
        for index in table.indexes
        if index.method == "btree" and len(index.keys) > 1 and index.keys[0].column is not None
        for k in index.keys[1:]
        if k.column is not None
    )


def _composite_with(table: Table, name: str) -> Index | None:
    for index in table.indexes:
        if index.method != "btree" or len(index.keys) < 2 or index.keys[0].column is None:
            continue
        if any(k.column == name for k in index.keys[1:]):
            return index
    return None


def _uses(ctx: RuleContext, query: exp.Expression, table: Table, name: str | None) -> bool:
    """Does any condition of the query name the column `name` of `table`?"""
    for term in filter_conditions(query):
        for column in term.find_all(exp.Column):
            if fold(column.this) != name:
                continue
            found = resolve(ctx.table, column, query)
            if found is None or found.key == table.key:
                return True  # unknown counts as used: say nothing
    return False


RULE = Rule(
    id="index-column-order",
    summary="A filter on a column that is only a later key of a composite index",
    check=check,
    docs=__doc__ or "",
    severity="info",
    needs="catalog",
    applies=lambda text: _WHERE.search(text) is not None,
    words=("where",),
)
