"""
**What it does**

Flags MySQL's index definitions inside `CREATE TABLE` in a PostgreSQL file:
`INDEX idx_email (email)`, `KEY idx_email (email)`, `UNIQUE KEY …`, `UNIQUE INDEX …`, with or
without a name. PostgreSQL has no such clause. Depending on the form, its parser either rejects
the statement (the `syntax-error` rule reports PostgreSQL's message on it; this rule adds what
it means and the fix) or, worse, accepts `KEY idx (email)` / `INDEX idx (email)` as a *column*
named `key` / `index` of a type `idx(email)`, and the statement fails only when it runs.

**Why is this bad?**

The table is not created (or not with the columns intended) and the index does not exist. In
PostgreSQL an index is a separate object, created with `CREATE INDEX` after the table; index
names share one namespace per schema with tables and other indexes.

**Example**

```sql
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    KEY idx_users_email (email)
);
```

**Use instead**

```sql
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL
);
CREATE INDEX idx_users_email ON users (email);
```

**Fix safety**

The fix removes the index clauses from `CREATE TABLE` and adds one `CREATE [UNIQUE] INDEX`
per clause right after the statement, with the same name (a generated one when there is none,
or when the name is already taken by another table or index of the schema) and the same
columns. It is offered only when the index lists plain columns (no MySQL prefix lengths such
as `name(10)`, no `USING`) and when PostgreSQL's parser accepts the resulting statements; it
then creates the table and the index MySQL would have created, so it is safe.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sql_lsp import pg
from sql_lsp.catalog.model import default_index_name, quote_ident
from sql_lsp.document import Document
from sql_lsp.rules.base import SAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.missing_fk_index import insertion_after
from sql_lsp.rules.tokens import pg_tokens
from sql_lsp.statements import blank_meta_lines

_HEAD = re.compile(r"\s*create\s+(?:\w+\s+){0,2}table\b", re.I)
_KEYWORD = re.compile(r"\b(?:key|index)\b", re.I)
_NAME_KINDS = ("UNRESERVED_KEYWORD", "COL_NAME_KEYWORD")


def _is_name(tok: Any) -> bool:
    """An identifier, or a key word that can be a column name."""
    return tok.name == "IDENT" or (tok.kind in _NAME_KINDS and tok.name not in ("INDEX", "KEY"))


@dataclass
class _Clause:
    start: int  # of the clause, relative to the statement
    end: int
    remove: tuple[int, int]  # what to cut, with its comma
    unique: bool
    name: str | None  # as written
    columns: list[str]  # as written, with ASC/DESC
    plain: bool = True  # only columns (no prefix lengths, expressions, USING): can be moved


def check(ctx: RuleContext) -> Iterator[Finding]:
    text = ctx.statement.text
    toks = pg_tokens(text)
    table = _table_name(text, toks)
    if table is None:
        return
    open_ = table[2]
    clauses = list(_clauses(text, toks, open_))
    if not clauses:
        return
    first = clauses[0]
    written = text[first.start : first.end]
    rejected = ctx.statement.error is not None
    keyword = written.split()[1 if first.unique else 0].lower()
    what = "PostgreSQL rejects it" if rejected else f"PostgreSQL reads it as a column {keyword}"
    more = f" (and {len(clauses) - 1} more)" if len(clauses) > 1 else ""
    message = (
        f"MySQL index definition `{written}`{more} inside CREATE TABLE: {what}; create the index "
        "with CREATE INDEX after the table"
    )
    fix = _fix(ctx, text, table[0], clauses)
    base = ctx.statement.start
    yield ctx.finding(base + first.start, base + first.end, message, [fix] if fix else [])


def _table_name(text: str, toks: list[Any]) -> tuple[str, int, int] | None:
    """(table name as written, its end offset, index of the `(` token) of a CREATE TABLE."""
    if not _HEAD.match(text) or not toks or toks[0].name != "CREATE":
        return None
    i = next((k for k, t in enumerate(toks[:6]) if t.name == "TABLE"), -1)
    if i < 0:
        return None
    i += 1
    if i + 2 < len(toks) and [t.name for t in toks[i : i + 3]] == ["IF_P", "NOT", "EXISTS"]:
        i += 3
    start = i
    while i < len(toks) and (_is_name(toks[i]) or toks[i].name == "ASCII_46"):
        i += 1
    if i == start or i >= len(toks) or toks[i].name != "ASCII_40":
        return None
    return text[toks[start].start : toks[i - 1].end + 1], toks[i - 1].end + 1, i


def _clauses(text: str, toks: list[Any], open_: int) -> Iterator[_Clause]:
    """The MySQL index clauses among the items of the table's column list."""
    depth = 0
    items: list[tuple[int, int]] = []  # token index ranges of the top-level items
    item_start = open_ + 1
    commas: list[int] = []
    for k in range(open_, len(toks)):
        name = toks[k].name
        if name == "ASCII_40":
            depth += 1
        elif name == "ASCII_41":
            depth -= 1
            if depth == 0:
                items.append((item_start, k))
                break
        elif name == "ASCII_44" and depth == 1:
            items.append((item_start, k))
            commas.append(k)
            item_start = k + 1
    for n, (a, b) in enumerate(items):
        clause = _clause(text, toks[a:b])
        if clause is None:
            continue
        if n > 0:  # cut from the comma before it
            cut = (toks[commas[n - 1]].start, toks[b - 1].end + 1)
        elif n + 1 < len(items):  # the first item: cut up to the next item
            cut = (toks[a].start, toks[items[n + 1][0]].start)
        else:
            cut = (0, 0)  # the only item: removing it leaves no table
        clause.remove = cut
        yield clause


def _clause(text: str, item: list[Any]) -> _Clause | None:
    names = [t.name for t in item]
    i = 0
    unique = bool(names) and names[0] == "UNIQUE"
    if unique:
        i = 1
    if i >= len(names) or names[i] not in ("INDEX", "KEY"):
        return None
    i += 1
    name = None
    if i < len(item) and _is_name(item[i]):
        name = text[item[i].start : item[i].end + 1]
        i += 1
    if i >= len(names) or names[i] != "ASCII_40" or names[-1] != "ASCII_41":
        return None
    columns: list[str] = []
    current: list[str] = []
    plain = True
    for t in item[i + 1 : -1]:
        if t.name == "ASCII_44" and current:
            columns.append(" ".join(current))
            current = []
        elif _is_name(t) and not current:
            current.append(text[t.start : t.end + 1])
        elif t.name in ("ASC", "DESC") and len(current) == 1:
            current.append(text[t.start : t.end + 1].upper())
        else:
            plain = False  # prefix lengths, expressions, …
    if current:
        columns.append(" ".join(current))
    if not columns:
        return None
    return _Clause(item[0].start, item[-1].end + 1, (0, 0), unique, name, columns, plain)


_NAMED: weakref.WeakKeyDictionary[Document, list[tuple[int, str]]] = weakref.WeakKeyDictionary()


def _named_before(ctx: RuleContext) -> set[str]:
    """Names of the inline index clauses of the statements before this one in the file."""
    doc = ctx.document
    named = _NAMED.get(doc)
    if named is None:
        named = []
        for stmt in doc.statements:
            if stmt.kind != "sql" or not RULE.applies or not RULE.applies(stmt.text):
                continue
            toks = pg_tokens(stmt.text)
            table = _table_name(stmt.text, toks)
            if table is None:
                continue
            for clause in _clauses(stmt.text, toks, table[2]):
                if clause.name is not None:
                    named.append((stmt.start, clause.name.strip('"')))
        _NAMED[doc] = named
    return {name for at, name in named if at < ctx.statement.start}


def _fix(ctx: RuleContext, text: str, table: str, clauses: list[_Clause]) -> Fix | None:
    if not all(c.plain and c.remove != (0, 0) for c in clauses):
        return None
    kept = text
    for clause in sorted(clauses, key=lambda c: c.remove[0], reverse=True):
        kept = kept[: clause.remove[0]] + kept[clause.remove[1] :]
    if pg.check(pg.neutralize(blank_meta_lines(kept)))[0] is not None:
        return None  # still not PostgreSQL (other MySQL syntax): no fix
    taken = {i.name for t in ctx.catalog.tables.values() for i in t.indexes}
    taken |= {t.name for t in ctx.catalog.tables.values()}
    taken |= _named_before(ctx)  # the same clause names earlier in the file get their own fix
    bare_table = table.split(".")[-1].strip('"')
    creates = []
    for clause in clauses:
        name = clause.name
        if name is None or name.strip('"') in taken:
            plain = [c.split()[0].strip('"') for c in clause.columns]
            name = base = default_index_name(bare_table, plain, "key" if clause.unique else "idx")
            n = 1
            while name in taken:
                name = f"{base}{n}"
                n += 1
            name = quote_ident(name)
        taken.add(name.strip('"'))
        unique = "UNIQUE " if clause.unique else ""
        create = f"CREATE {unique}INDEX {name} ON {table} ({', '.join(clause.columns)});"
        if pg.check(create)[0] is not None:
            return None
        creates.append(create)
    base = ctx.statement.start
    edits = [Edit(base + c.remove[0], base + c.remove[1], "") for c in clauses]
    newline = "\r\n" if "\r\n" in ctx.text[: ctx.statement.end + 2000] else "\n"
    at, inserted = insertion_after(ctx, newline.join(creates))
    edits.append(Edit(at, at, inserted))
    noun = "index" if len(creates) == 1 else "indexes"
    return Fix(f"Move the {noun} to CREATE INDEX after the table", tuple(edits), SAFE)


RULE = Rule(
    id="inline-index-definition",
    summary="MySQL's `INDEX idx (col)` / `KEY` inside `CREATE TABLE`, which PostgreSQL lacks",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="safe",
    dialects=("postgres",),
    needs_tree=False,
    on_syntax_errors=True,
    applies=lambda text: _HEAD.match(text) is not None and _KEYWORD.search(text) is not None,
    words=("key", "index"),
)
