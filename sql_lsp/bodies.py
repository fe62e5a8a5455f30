"""The SQL statements inside function bodies, as statements every rule can check.

`CREATE FUNCTION` / `CREATE PROCEDURE` with `LANGUAGE sql` and a dollar-quoted body hold a list
of SQL statements; with `LANGUAGE plpgsql` (and `DO` blocks) they hold PL/pgSQL whose embedded
queries PostgreSQL's own PL/pgSQL parser finds (`plpgsql.py`). Each becomes an inner
`Statement` at its exact offsets in the document, with the text PostgreSQL runs: `INTO …`
blanked in place and `PERFORM` read as `SELECT ` (both the same length), so every offset a rule
computes is an offset of the file.

What is not done inside bodies, because it cannot be known there: syntax errors (PostgreSQL
checks a PL/pgSQL body's queries only when the function runs), names (`unknown-table`,
`unknown-column`: parameters and variables look like columns), database rules (a plan of a
query with variables in it), rules about several statements of a file, and the migration-lock
rules (`non-concurrent-index`, `foreign-key-not-valid`, `column-type-rewrite`): a body runs
inside one transaction, where `CONCURRENTLY` is refused and splitting a statement in two
releases no lock, often on a table the body has just made with `EXECUTE`. Fixes of inner
findings must edit only the inner statement. Statements in bodies never change the catalog:
they run when the function is called, not when it is created.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sql_lsp import pg, plpgsql
from sql_lsp.document import Statement
from sql_lsp.statements import Span, parse, split

# rules that say nothing inside bodies (see the module docstring)
SILENT_INSIDE = frozenset(
    {
        "syntax-error",
        "analysis-skipped",
        "unknown-table",
        "unknown-column",
        # a function runs in one transaction, on tables it may have made itself (EXECUTE …):
        "non-concurrent-index",  # CONCURRENTLY cannot run from a function at all
        "foreign-key-not-valid",  # VALIDATE in the same transaction still holds the lock
        "column-type-rewrite",  # the rewritten table may be the function's own scratch table
    }
)
_SQL_HEAD = re.compile(r"\s*create\s+(?:or\s+replace\s+)?(?:function|procedure)\b", re.I)
_LANGUAGE_SQL = re.compile(r"\blanguage\s+(?:sql|'sql')\b", re.I)
# PL/pgSQL statements that run a query, and the field holding it
_QUERIES = {
    "PLpgSQL_stmt_execsql": "sqlstmt",
    "PLpgSQL_stmt_perform": "expr",
    "PLpgSQL_stmt_return_query": "query",
    "PLpgSQL_stmt_fors": "query",
    "PLpgSQL_stmt_open": "query",
}
# per outer statement text: (offset in it, text) of each inner statement
_Inner = tuple[tuple[int, str], ...]
_CACHE: dict[str, _Inner] = {}
_CACHE_LIMIT = 2_000


def applies(text: str) -> bool:
    """Can statement `text` have a body with statements in it? (cheap)"""
    return plpgsql.applies(text)


def inner_statements(stmt: Statement, dialect: str = "postgres") -> Iterator[Statement]:
    """The statements inside `stmt`'s function body, at absolute offsets; none when it has
    none (or its body cannot be mapped exactly)."""
    if dialect != "postgres" or stmt.kind != "sql" or not applies(stmt.text):
        return
    found = _CACHE.get(stmt.text)
    if found is None:
        found = tuple(_read(stmt.text))
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[stmt.text] = found
    for rel, text in found:
        start = stmt.start + rel
        parsed = parse(text, dialect)
        if parsed.error is not None:
            continue
        inner = Statement(Span("sql", start, start + len(text)), text, parsed, stmt.index)
        yield inner


def _read(text: str) -> Iterator[tuple[int, str]]:
    body = plpgsql.body(text)
    if body is not None:
        yield from _plpgsql(body)
    elif _SQL_HEAD.match(text) and _LANGUAGE_SQL.search(text):
        yield from _sql(text)


def _plpgsql(body: plpgsql.Body) -> Iterator[tuple[int, str]]:
    seen = set()
    for kind, fields in plpgsql.statements(body.function):
        field = _QUERIES.get(kind)
        query = plpgsql.query(fields.get(field)) if field else None
        if not query:
            continue
        perform = kind == "PLpgSQL_stmt_perform"
        span = body.locate(fields.get("lineno", 0), query, perform=perform)
        if span is None or span[0] in seen:
            continue
        seen.add(span[0])
        start, end = span
        if perform:  # `PERFORM x` runs `SELECT x`: the same length, read as PostgreSQL reads it
            query = "SELECT " + query[len("SELECT") :]
        if len(query) != end - start:
            continue
        yield start, query


def _sql(text: str) -> Iterator[tuple[int, str]]:
    """The statements of a `LANGUAGE sql` dollar-quoted body."""
    from pglast import parser

    try:
        (stmt,) = pg.statements(parser.parse_sql_json(text))
    except Exception:
        return
    kind, fields = pg.node(stmt)
    if kind != "CreateFunctionStmt":
        return
    source = None
    for option in fields.get("options") or ():
        _, opt = pg.node(option)
        okind, arg = pg.node(opt.get("arg"))
        if opt.get("defname") == "as" and okind == "List":
            values = pg.strings(arg.get("items"))
            source = values[0] if len(values) == 1 else None
    if not source:
        return
    start = plpgsql.dollar_body(text, source)
    if start is None:
        return
    for span in split(source, "postgres"):
        if span.kind == "sql":
            yield start + span.start, source[span.start : span.end]
