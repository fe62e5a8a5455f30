"""
**What it does**

Flags a table or view that a query or DML statement reads or writes (`FROM`, `JOIN`, `UPDATE`,
`INSERT INTO`, `DELETE FROM`) and that the catalog does not have, with the close match (a
misspelling: one or two edits away, not the name with a `_` part added or removed):
``no table `usres`; did you mean `users`?``.

Precision first, so it says nothing whenever the catalog cannot know:

* no table is known at all (no `CREATE TABLE` in the workspace and no database);
* without a database, a name with no close match: the workspace may not declare every table
  (tables made by an ORM, a function, a `DO` block or an extension);
* a table the history knew at some point (created later, or dropped: a migration applied in
  another order), a name this file creates itself (`CREATE TEMP TABLE`, `SELECT … INTO`), a CTE,
  a table function;
* `pg_catalog` and `information_schema` names (and unqualified `pg_*`), a schema the catalog
  does not know, a `search_path` naming a schema the catalog does not know, a name that exists in
  another schema (the search path at run time may reach it);
* a name that may be a sequence (the catalog holds tables and views, not sequences): one ending in
  `_seq`, or a statement reading `last_value` / `is_called`;
* any statement with a psql variable.

**Why is this bad?**

PostgreSQL rejects the statement when it runs (`relation "usres" does not exist`): in a
migration, halfway through a deployment; in application code, on the first request that takes
that path.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
SELECT id, email FROM usres;
```

**Use instead**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
SELECT id, email FROM users;
```

**Fix safety**

Offered only when exactly one table on the search path is close to the name: the fix writes that
table's name instead. A statement that named a missing table never ran, so the fix changes no
behaviour that worked; it is safe.

**Needs**

The workspace schema (or a database).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.catalog.model import fold, quote_ident
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.unknown_column import closest, has_psql_variable

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
# the catalog holds tables and views, not sequences: a name that may be one is left alone
_SEQUENCE_NAME = re.compile(r"(?:^|_)seq(?:uence)?s?$|_id_seq")
_SEQUENCE_COLUMNS = re.compile(r"(?i)\b(?:last_value|is_called|log_cnt)\b")


def _references(ctx: RuleContext) -> Iterator[exp.Table]:
    """Tables read or written by a query or DML statement (not DDL)."""
    if not isinstance(ctx.tree, exp.Query | exp.Insert | exp.Update | exp.Delete):
        return
    for node in ctx.find_all(exp.Table):
        if isinstance(node.this, exp.Identifier) and not node.args.get("catalog"):
            yield node


def _created_here(text: str, name: str) -> bool:
    """Does the document create `name` itself (a temp table, SELECT … INTO, a view …)?"""
    word = re.escape(name)
    # an unquoted name folds to lower case; a quoted one matches as written
    target = rf"(?i:{word})\b" if name == name.lower() else rf'"{word}"'
    head = r"(?i:\b(?:table|into|view)\s+(?:if\s+not\s+exists\s+)?)(?:[\w\"]+\s*\.\s*)?\"?"
    for m in re.finditer(head + target, text):
        before = text[max(0, m.start() - 12) : m.start()].split()
        if not before or before[-1].lower() not in ("insert", "merge"):
            return True  # not `INSERT INTO name`, which only writes to it
    return False


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    catalog = ctx.catalog
    if tree is None or isinstance(tree, exp.Command) or not catalog.tables:
        return
    if has_psql_variable(ctx.statement.text):
        return
    schemas, known_names = catalog.names()
    if any(s not in schemas for s in ctx.search_path):
        return  # a search_path the catalog cannot follow
    ctes: set[str] | None = None  # the statement's CTE names, when first needed
    for node in _references(ctx):
        name = fold(node.this)
        if name in known_names:
            continue  # exists, existed, or exists in another schema
        schema = fold(node.args.get("db")) if node.args.get("db") else None
        if schema is None:
            if ctes is None:
                ctes = {
                    fold(c.args["alias"].this) for c in ctx.find_all(exp.CTE) if c.args.get("alias")
                }
            if name in ctes or name.startswith("pg_"):
                continue
        if schema is not None and (schema in SYSTEM_SCHEMAS or schema not in schemas):
            continue
        if ctx.table(node) is not None:
            continue
        if _created_here(ctx.document.text, name) or _SEQUENCE_NAME.search(name):
            continue
        if _SEQUENCE_COLUMNS.search(ctx.statement.text):
            continue
        path = (schema,) if schema else ctx.search_path
        visible = sorted({t.name for t in catalog.tables.values() if t.schema in path})
        suggestion = closest(name, visible)
        if suggestion is None and ctx.database is None:
            continue
        span = ctx.locate(node.this)
        if span is None:
            continue
        start, end = span
        message = f"no table `{quote_ident(name)}`"
        fixes: tuple[Fix, ...] = ()
        if suggestion is not None:
            message += f"; did you mean `{quote_ident(suggestion)}`?"
            new = quote_ident(suggestion)
            fixes = (Fix(f"Change to {new}", (Edit(start, end, new),), SAFE),)
        yield ctx.finding(start, end, message, fixes)


RULE = Rule(
    id="unknown-table",
    summary="A table or view that the catalog does not have",
    check=check,
    docs=__doc__ or "",
    severity="error",
    needs="catalog",
    fix="safe",
    dialects=("postgres",),
)
