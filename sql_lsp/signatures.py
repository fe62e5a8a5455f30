"""Signature help: the function call around the cursor, its signatures and the argument the
cursor is in.

The call is found with PostgreSQL's own scanner over the statement's text up to the cursor, so
it works in a half-typed statement (the common case while typing): the innermost `(` not yet
closed, preceded by a name, is the call; commas at its depth count the argument. Signatures come
from PostgreSQL's common built-in functions (the list completion offers) and from the
`CREATE FUNCTION` / `CREATE PROCEDURE` statements of the workspace documents, read with
PostgreSQL's parser (name, argument names, types and defaults, result type).
"""

from __future__ import annotations

import re
import weakref
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from sql_lsp import pg
from sql_lsp.completion import FUNCTIONS
from sql_lsp.document import Document, Statement

_CREATE = re.compile(r"\s*create\s+(?:or\s+replace\s+)?(?:function|procedure)\b", re.I)
_NAMES = frozenset({"IDENT", "UIDENT"})
_OPEN, _CLOSE, _COMMA = "ASCII_40", "ASCII_41", "ASCII_44"
_DECLARED: weakref.WeakKeyDictionary[Document, list[Signature]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Signature:
    name: str  # lower-case function name, without schema
    label: str  # `name(arg type, …) → result`
    parameters: tuple[tuple[int, int], ...]  # each parameter's [start, end) in `label`
    documentation: str = ""


@dataclass(frozen=True, slots=True)
class Help:
    signatures: tuple[Signature, ...]
    active_parameter: int


def signature(name: str, params: Iterable[str], result: str, doc: str = "") -> Signature:
    """A signature whose label is `name(p1, p2, …) → result`, with each parameter's range."""
    label = f"{name}("
    spans = []
    for i, p in enumerate(params):
        if i:
            label += ", "
        spans.append((len(label), len(label) + len(p)))
        label += p
    label += ")" + (f" → {result}" if result else "")
    return Signature(name.lower(), label, tuple(spans), doc)


def _builtin() -> dict[str, list[Signature]]:
    out: dict[str, list[Signature]] = {}
    for name, sig in FUNCTIONS:
        m = re.match(r"(\w+)\((.*)\)(.*?)(?:→\s*(.*))?$", sig)
        if m is None:
            continue
        inner = m.group(2).strip()
        params = [p.strip() for p in inner.split(",")] if inner and inner != "…" else []
        out.setdefault(name, []).append(
            signature(name, params, (m.group(4) or "").strip(), "PostgreSQL built-in")
        )
    return out


_BUILTIN = _builtin()


def declared(document: Document) -> list[Signature]:
    """The functions and procedures `document` creates (computed once per document version)."""
    found = _DECLARED.get(document)
    if found is None:
        found = []
        for stmt in document.statements:
            if stmt.kind == "sql" and _CREATE.match(stmt.text):
                sig = _read(stmt.text, document.uri)
                if sig is not None:
                    found.append(sig)
        _DECLARED[document] = found
    return found


def _read(text: str, uri: str) -> Signature | None:
    from pglast import parser

    try:
        (stmt,) = pg.statements(parser.parse_sql_json(text))
    except Exception:
        return None
    kind, fields = pg.node(stmt)
    if kind != "CreateFunctionStmt":
        return None
    names = pg.strings(fields.get("funcname"))
    if not names:
        return None
    params = []
    for p in fields.get("parameters") or []:
        _, f = pg.node(p)
        mode = f.get("mode", "FUNC_PARAM_DEFAULT")
        if mode in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"):
            continue
        words = [f["name"]] if f.get("name") else []
        words.append(_type_name(f.get("argType")))
        if f.get("defexpr") is not None:
            words.append("= …")
        params.append(" ".join(w for w in words if w))
    result = _type_name(fields.get("returnType")) if fields.get("returnType") else ""
    if fields.get("is_procedure"):
        result = ""
    where = uri.rsplit("/", 1)[-1]
    return signature(names[-1], params, result, f"declared in {where}")


def _type_name(node: object) -> str:
    kind, f = pg.node(node)
    if kind != "TypeName":  # libpg_query writes a TypeName field without its node type
        f = node if isinstance(node, dict) else {}
    if not f.get("names"):
        return ""
    names = [n for n in pg.strings(f.get("names")) if n != "pg_catalog"]
    name = ".".join(names)
    name = {"int4": "integer", "int8": "bigint", "int2": "smallint", "bool": "boolean"}.get(
        name, name
    )
    if f.get("setof"):
        name = "setof " + name
    if f.get("arrayBounds"):
        name += "[]"
    return name


def help_at(document: Document, offset: int, documents: Iterable[Document] = ()) -> Help | None:
    """Signature help at `offset` of `document`, with the functions `documents` (the
    workspace) declare; None outside a call."""
    stmt = _statement(document, offset)
    if stmt is None:
        return None
    call = _call(document.text[stmt.start : offset])
    if call is None:
        return None
    name, argument = call
    sigs: list[Signature] = []
    for doc in documents:
        sigs.extend(s for s in declared(doc) if s.name == name)
    sigs.extend(_BUILTIN.get(name, ()))
    if not sigs:
        return None
    return Help(tuple(sigs), argument)


def _statement(document: Document, offset: int) -> Statement | None:
    """The SQL statement the cursor is in, or the one it is typing at the end of (only blanks
    after it, no `;` yet)."""
    stmts = document.statements
    i = bisect_right(stmts, offset, key=_start) - 1
    if i < 0:
        return None
    stmt = stmts[i]
    if stmt.kind != "sql" or (stmt.semicolon >= 0 and offset > stmt.semicolon):
        return None
    if offset > stmt.end and document.text[stmt.end : offset].strip():
        return None
    return stmt


def _start(stmt: Statement) -> int:
    return stmt.start


def _call(text: str) -> tuple[str, int] | None:
    """(function name, argument index) of the innermost open call at the end of `text`."""
    tokens = pg.scan(text)
    if not tokens and text.strip():
        return None
    stack: list[list] = []  # [name or None, commas]
    for i, tok in enumerate(tokens):
        if tok.name == _OPEN:
            prev = tokens[i - 1] if i else None
            name = None
            if prev is not None and (prev.name in _NAMES or prev.kind != "RESERVED_KEYWORD"):
                word = text[prev.start : prev.end + 1]
                if re.fullmatch(r'"?[\w$]+"?', word):
                    name = word.strip('"') if word.startswith('"') else word.lower()
            stack.append([name, 0])
        elif tok.name == _CLOSE:
            if stack:
                stack.pop()
        elif tok.name == _COMMA and stack:
            stack[-1][1] += 1
    if not stack or stack[-1][0] is None:
        return None  # no open parenthesis, or one of an expression or a subquery
    name, commas = stack[-1]
    return name, commas
