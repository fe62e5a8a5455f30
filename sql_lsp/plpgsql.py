"""PL/pgSQL bodies as PostgreSQL reads them: the statements of a function, procedure or `DO`
block, with the query text of each and where that text sits in the outer statement.

Read with PostgreSQL's own PL/pgSQL parser (libpg_query's `parse_plpgsql`, through pglast). Its
tree gives each embedded query's text (PostgreSQL blanks `INTO …` in place and turns `PERFORM`
into `SELECT`) and the line it starts on, counted from the line the body opens on; `locate`
maps such a query back to exact offsets. Only dollar-quoted bodies are mapped (inside a
`'…'`-quoted body doubled quotes shift every offset): other bodies give None, and the rules
that read bodies say nothing about them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sql_lsp import pg

_HEAD = re.compile(r"\s*(?:create\s+(?:or\s+replace\s+)?(?:function|procedure)\b|do\b)", re.I)
_DOLLAR = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")
_CACHE: dict[str, Body | None] = {}
_CACHE_LIMIT = 2_000


@dataclass(frozen=True, slots=True)
class Body:
    """A PL/pgSQL body: `start` is the body's offset in the statement text."""

    start: int
    text: str
    function: dict[str, Any]  # PLpgSQL_function fields
    variables: dict[str, str]  # lower-cased name of a parameter or variable -> its type name
    parameters: frozenset[str]

    def locate(self, lineno: int, query: str, perform: bool = False) -> tuple[int, int] | None:
        """Where `query` (an embedded query's text from the tree, starting on body line
        `lineno`) is in the statement text, as (start, end); None when it cannot be told."""
        starts = [0] + [m.end() for m in re.finditer(r"\n", self.text)]
        if not 1 <= lineno <= len(starts):
            return None
        base = starts[lineno - 1]
        text = self.text
        if perform and query[:6].upper() == "SELECT":
            m = re.compile(r"perform\b", re.I).search(text, base)
            if m is None:
                return None
            rest = query[6:]
            if _matches(text, m.end(), rest):
                return self.start + m.start(), self.start + m.end() + len(rest)
            return None
        head = query.split(None, 1)[0] if query.strip() else ""
        if not head:
            return None
        at = text.find(head, base)
        while at >= 0:
            if _matches(text, at, query):
                return self.start + at, self.start + at + len(query)
            at = text.find(head, at + 1)
        return None


def _matches(text: str, at: int, query: str) -> bool:
    """Does `text` read as `query` from `at`, where PostgreSQL's blanks (an `INTO` it took out)
    match anything?"""
    if at + len(query) > len(text):
        return False
    return all(ch == text[at + i] or ch.isspace() for i, ch in enumerate(query))


def applies(text: str) -> bool:
    """Can `text` (a statement) have a PL/pgSQL body? (cheap)"""
    return _HEAD.match(text) is not None and "$" in text


def body(text: str) -> Body | None:
    """The PL/pgSQL body of statement `text` (CREATE FUNCTION / PROCEDURE or DO), or None: not
    such a statement, another language, not dollar-quoted, or refused by PostgreSQL."""
    if not applies(text):
        return None
    if text in _CACHE:
        return _CACHE[text]
    found = _read(text)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[text] = found
    return found


def _read(text: str) -> Body | None:
    from pglast import parser

    try:
        (stmt,) = pg.statements(parser.parse_sql_json(text))
    except Exception:
        return None
    kind, fields = pg.node(stmt)
    options = fields.get("options") if kind == "CreateFunctionStmt" else fields.get("args")
    if kind not in ("CreateFunctionStmt", "DoStmt"):
        return None
    language, source = ("plpgsql" if kind == "DoStmt" else "sql"), None
    for option in options or ():
        _, opt = pg.node(option)
        name = opt.get("defname")
        okind, arg = pg.node(opt.get("arg"))
        if name == "language" and okind == "String":
            language = arg.get("sval", "").lower()
        elif name == "as":
            values = pg.strings(arg.get("items")) if okind == "List" else [arg.get("sval")]
            source = values[0] if len(values) == 1 else None
    if language != "plpgsql" or not source:
        return None
    start = dollar_body(text, source)
    if start is None:
        return None
    try:
        (function,) = json.loads(parser.parse_plpgsql_json(text))
    except Exception:
        return None
    fields = function.get("PLpgSQL_function") or {}
    variables: dict[str, str] = {}
    for datum in fields.get("datums") or ():
        dkind, d = pg.node(datum)
        if dkind == "PLpgSQL_var" and d.get("refname"):
            typ = ((d.get("datatype") or {}).get("PLpgSQL_type") or {}).get("typname", "")
            variables[d["refname"].lower()] = typ.lower()
    parameters = frozenset(_parameter_names(fields, kind))
    return Body(start, source, fields, variables, parameters)


def _parameter_names(function: dict[str, Any], kind: str) -> list[str]:
    """Parameters come first among the datums, before the implicit `found`."""
    if kind != "CreateFunctionStmt":
        return []
    names = []
    for datum in function.get("datums") or ():
        dkind, d = pg.node(datum)
        name = (d.get("refname") or "").lower()
        if dkind != "PLpgSQL_var" or name == "found" or "lineno" in d:
            break
        names.append(name)
    return names


def dollar_body(text: str, source: str) -> int | None:
    """Offset in `text` of the dollar-quoted string whose content is `source`."""
    for tok in pg.scan(text):
        if tok.name != "SCONST" or text[tok.start] != "$":
            continue
        m = _DOLLAR.match(text, tok.start)
        if m is None:
            continue
        inner = text[m.end() : tok.end + 1 - len(m.group())]
        if inner == source:
            return m.end()
    return None


def statements(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every PL/pgSQL statement under `node` (a statement, a list of them or the function's
    fields), depth first, as (node type, fields)."""
    if isinstance(node, list):
        for item in node:
            yield from statements(item)
        return
    kind, fields = pg.node(node)
    if not kind:
        if isinstance(node, dict) and "action" in node:
            yield from statements(node["action"])
        return
    if not kind.startswith("PLpgSQL_stmt"):
        return
    yield kind, fields
    for key in ("body", "then_body", "else_body", "else_stmts"):
        yield from statements(fields.get(key) or [])
    for handler in ((fields.get("exceptions") or {}).get("PLpgSQL_exception_block") or {}).get(
        "exc_list"
    ) or []:
        _, h = pg.node(handler)
        yield from statements(h.get("action") or [])
    for branch in fields.get("elsif_list") or []:
        _, b = pg.node(branch)
        yield from statements(b.get("stmts") or [])
    for when in fields.get("case_when_list") or []:
        _, w = pg.node(when)
        yield from statements(w.get("stmts") or [])


def query(expr: Any) -> str | None:
    """The text of a PLpgSQL_expr node."""
    kind, fields = pg.node(expr)
    return fields.get("query") if kind == "PLpgSQL_expr" else None
