"""
**What it does**

Flags three or more `SELECT`, `UPDATE` or `DELETE` statements of one file that read a table and
differ only in the literals they look rows up by (`… WHERE id = 1;`, `… WHERE id = 2;`,
`… WHERE id = 3;`: every literal that varies is the right side of an `=` in `WHERE`): each
statement of such a group gets a finding that names the others' lines. Statements that vary
in other literals (a regular expression, a `LIKE` pattern, the value an `UPDATE` sets) are
separate checks or separate data fixes, and are not flagged. The statements of a group follow
one another, at most three statements apart: the same lookup in distant parts of a long file is
not a loop written out. Statements that read no
table (`SELECT setval(…)`, `SELECT set_config(…)`, as pg_dump writes them), `INSERT … VALUES`
rows of seed data, DDL and `COPY` are never counted, nor are statements repeated with the same
literals.

**Why is this bad?**

It is the N+1 query pattern written out in a script: one round trip, one plan and one scan or
index probe per value, where one statement with `IN (…)` / `= ANY(…)` or a join does the same
work in one pass. In a migration it also means one lock and one WAL flush per statement.

**Example**

```sql
UPDATE accounts SET flagged = true WHERE id = 101;
UPDATE accounts SET flagged = true WHERE id = 102;
UPDATE accounts SET flagged = true WHERE id = 103;
```

**Use instead**

```sql
UPDATE accounts SET flagged = true WHERE id IN (101, 102, 103);
```

**Fix safety**

Offered on the first statement of a group when its statements follow one another, differ in
exactly one literal, and that literal is the right side of an `=`: the fix writes one statement
with `IN (…)` in place of the group. It is unsafe: a `SELECT` then returns one result set
instead of several, and statements that depended on each other's effects (an `UPDATE` of a row
another one changed) now run as one.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator

from sql_lsp import pg
from sql_lsp.document import Document, Statement
from sql_lsp.rules.base import UNSAFE, Edit, Finding, Fix, Rule

_HEAD = re.compile(r"\s*(?:select|update|delete|with)\b", re.I)
# a lookup by a literal: `WHERE … = 1`, `= 'x'`, `= -2.5`, `= E'…'`
_LOOKUP = re.compile(r"\bwhere\b.*?=\s*(?:[-+]?\s*[\d.]|[EeBbXxUu]?&?')", re.I | re.S)
_LITERALS = frozenset({"ICONST", "FCONST", "SCONST", "BCONST", "XCONST", "USCONST"})
_MIN_GROUP = 3
_GAP = 3  # members of a group are at most this many statements apart
# per statement text: (hash of its shape, its literals, whether each is `= literal` in WHERE)
_Shape = tuple[int, tuple[str, ...], tuple[bool, ...]]
_SHAPES: dict[str, _Shape | None] = {}
_SHAPES_LIMIT = 50_000
_FOUND: weakref.WeakKeyDictionary[Document, list[Finding]] = weakref.WeakKeyDictionary()


def _shape(text: str) -> _Shape | None:
    """A hash of the statement's tokens with literals blanked (its shape), its literals, and
    which of them are looked up by; None for a statement this rule does not compare."""
    if text in _SHAPES:
        return _SHAPES[text]
    found = None
    if _HEAD.match(text) and _LOOKUP.search(text):
        tokens = pg.scan(text)
        words: list[str] = []
        literals: list[str] = []
        keyed: list[bool] = []
        reads = where = False
        for i, tok in enumerate(tokens):
            if tok.name in _LITERALS:
                words.append("?")
                literals.append(text[tok.start : tok.end + 1])
                keyed.append(where and i > 0 and tokens[i - 1].name == "ASCII_61")
            else:
                where = where or tok.name == "WHERE"
                word = text[tok.start : tok.end + 1]
                words.append(word if tok.name == "IDENT" and word[:1] == '"' else word.lower())
                if tok.name in ("FROM", "UPDATE", "DELETE_P"):
                    reads = True
        first = tokens[0].name if tokens else ""
        if reads and any(keyed) and first in ("SELECT", "UPDATE", "DELETE_P", "WITH"):
            found = (hash((len(words), *words)), tuple(literals), tuple(keyed))
    if len(_SHAPES) >= _SHAPES_LIMIT:
        _SHAPES.clear()
    _SHAPES[text] = found
    return found


def check_document(document: Document) -> Iterator[Finding]:
    cached = _FOUND.get(document)
    if cached is None:
        cached = list(_groups(document))
        _FOUND[document] = cached
    yield from cached


_Member = tuple[Statement, tuple[str, ...], tuple[bool, ...]]


def _runs(document: Document) -> Iterator[list[_Member]]:
    """Runs of statements of the same shape, each at most `_GAP` statements after the last."""
    open_runs: dict[int, tuple[int, list[_Member]]] = {}
    n = 0
    for stmt in document.statements:
        if stmt.kind != "sql":
            continue
        n += 1
        shape = _shape(stmt.text) if stmt.error is None else None
        if shape is None:
            continue
        key, literals, keyed = shape
        run = open_runs.get(key)
        if run is not None and n - run[0] <= _GAP:
            run[1].append((stmt, literals, keyed))
            open_runs[key] = (n, run[1])
            continue
        if run is not None:
            yield run[1]
        open_runs[key] = (n, [(stmt, literals, keyed)])
    for _, members in open_runs.values():
        yield members


def _groups(document: Document) -> Iterator[Finding]:
    lines = document.lines
    for members in _runs(document):
        if len(members) < _MIN_GROUP or len({m[1] for m in members}) < 2:
            continue
        keyed = members[0][2]
        columns = zip(*(m[1] for m in members), strict=True)
        varying = [k for k, values in enumerate(columns) if len(set(values)) > 1]
        if not all(keyed[k] for k in varying):
            continue  # not key lookups: other patterns, other values to set
        numbers = [lines.line_of(m[0].start) + 1 for m in members]
        fix = _fix(document, members, varying)
        for i, (stmt, *_) in enumerate(members):
            others = ", ".join(str(n) for j, n in enumerate(numbers) if j != i)
            message = (
                f"this statement is repeated {len(members)} times with only its literals "
                f"changed (also on lines {others}): run it once for all values, with "
                "`IN (…)` / `= ANY(…)` or a join"
            )
            fixes = [fix] if fix is not None and i == 0 else []
            yield Finding(RULE.id, stmt.start, stmt.end, message, RULE.severity, tuple(fixes))


def _fix(document: Document, members: list[_Member], varying: list[int]) -> Fix | None:
    if len(varying) != 1:
        return None
    stmts = document.statements
    first, last = members[0][0], members[-1][0]
    at = stmts.index(first)
    if stmts[at : at + len(members)] != [m[0] for m in members]:
        return None  # not adjacent
    k = varying[0]
    stmt = first
    tokens = pg.scan(stmt.text)
    literal_at = [i for i, t in enumerate(tokens) if t.name in _LITERALS][k]
    if literal_at == 0 or tokens[literal_at - 1].name != "ASCII_61":
        return None
    follows = ("AND", "OR", "ORDER", "LIMIT", "RETURNING", "ASCII_59", "ASCII_41", "GROUP")
    if literal_at + 1 < len(tokens) and tokens[literal_at + 1].name not in follows:
        return None
    text = stmt.text
    eq, lit = tokens[literal_at - 1], tokens[literal_at]
    values = ", ".join(m[1][k] for m in members)
    combined = text[: eq.start] + f"IN ({values})" + text[lit.end + 1 :]
    tail = ";" if last.semicolon >= 0 else ""
    return Fix(
        f"Run it once with `IN ({values})`",
        (Edit(first.start, last.stop, combined + tail),),
        UNSAFE,
    )


def _never(ctx: object) -> Iterator[Finding]:
    return iter(())


RULE = Rule(
    id="repeated-query",
    summary="Three or more statements that differ only in their literals (N+1 in a script)",
    check=_never,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="unsafe",
    dialects=("postgres",),
    needs_tree=False,
    check_document=check_document,
)
