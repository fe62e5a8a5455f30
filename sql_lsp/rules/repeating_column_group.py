"""
**What it does**

Flags three or more columns of one table whose names are the same stem followed by consecutive
numbers (`phone1, phone2, phone3`, `tag_1 … tag_4`) and which have the same type, as the
table stands at the end of the history. One finding per group, on the name of its first column
where it is declared. Two numbered columns (`address_line1, address_line2`, `x1, x2`) are not
flagged, nor are numbers that are not consecutive, nor a stem without a letter.

**Why is this bad?**

A repeating group breaks first normal form: the table holds a fixed number of slots for what
is really a list. The fourth phone number needs a schema change, a query for "this number"
must test every column (`phone1 = $1 OR phone2 = $1 OR …`), no single index serves it, and
empty slots are NULLs scattered across rows.

**Example**

```sql
CREATE TABLE contacts (id bigint PRIMARY KEY, phone1 text, phone2 text, phone3 text);
```

**Use instead**

```sql
CREATE TABLE contacts (id bigint PRIMARY KEY);
CREATE TABLE contact_phones (
    contact_id bigint NOT NULL REFERENCES contacts,
    phone text NOT NULL,
    PRIMARY KEY (contact_id, phone)
);
```

**Needs**

The workspace schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp.catalog.model import Column, Table, quote_ident
from sql_lsp.rules.base import Finding, Rule, RuleContext, changes_schema
from sql_lsp.rules.declared_columns import column_finding, declared_columns

_NUMBERED = re.compile(r"(.*?[a-z].*?)(_?)(\d+)", re.I | re.S)
MIN_GROUP = 3


def groups(table: Table) -> list[list[Column]]:
    """Runs of >= 3 columns with one stem, consecutive numbers and one type, in number order."""
    by: dict[tuple[str, str, str], dict[int, Column]] = {}
    for column in table.columns.values():
        m = _NUMBERED.fullmatch(column.name)
        if m is None:
            continue
        key = (m.group(1).lower(), m.group(2), (column.type or "").lower())
        by.setdefault(key, {})[int(m.group(3))] = column
    out = []
    for numbered in by.values():
        run: list[Column] = []
        last = None
        for n in sorted(numbered):
            if last is not None and n != last + 1:
                if len(run) >= MIN_GROUP:
                    out.append(run)
                run = []
            run.append(numbered[n])
            last = n
        if len(run) >= MIN_GROUP:
            out.append(run)
    return out


def check(ctx: RuleContext) -> Iterator[Finding]:
    here = (ctx.document.uri, ctx.statement.catalog_ordinal)
    seen: set[tuple[str, str]] = set()
    for table, _ in declared_columns(ctx):
        if table.key in seen or table.schema == "pg_temp":
            continue
        seen.add(table.key)
        for run in groups(table):
            first = run[0]
            o = first.origin
            if o is None or (o.doc, o.stmt) != here:
                continue
            names = ", ".join(quote_ident(c.name) for c in run)
            yield column_finding(
                ctx,
                table,
                first,
                f"starts a repeating group ({names}): one column per value breaks first normal "
                "form (fixed slots, every query tests each column); use a child table with one "
                "row per value, or an array",
            )


RULE = Rule(
    id="repeating-column-group",
    summary="Numbered columns of one type (`phone1, phone2, phone3`): a repeating group",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=changes_schema,
)
