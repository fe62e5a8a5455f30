"""PostgreSQL's own grammar (libpg_query through pglast): what PostgreSQL accepts, and its trees.

For the `postgres` dialect this module is the authority on validity: a statement is a syntax
error exactly when PostgreSQL 18's parser rejects it, with PostgreSQL's message and position.
Its parse trees (as the JSON that libpg_query emits, turned into dicts) are what the DDL catalog
reads, because they are PostgreSQL's own reading of every DDL form.

Client-side syntax that never reaches the server is neutralised first, keeping every offset:
psql variables (`:name`, `:'name'`, `:"name"`, `:{?name}`), psycopg placeholders (`%s`,
`%(name)s`) and psql meta-commands inside a statement (blanked by the caller, see
`statements.py`). `$1` parameters are PostgreSQL's own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_HINT = re.compile(r"(?<![:\w]):(?=[A-Za-z_'\"{])|%(?=s\b|\()|\?")
_TEST_VAR = re.compile(r":\{\?[A-Za-z_]\w*\}")
# what CREATE EXTENSION substitutes in an extension's script before PostgreSQL parses it:
# @extowner@, @extschema@ and (PostgreSQL 16) @extschema:another_extension@
_EXTENSION = re.compile(r'(?<!")@(extowner|extschema(?::[^@\s"]+)?)@(?!")')
_NEAR = re.compile(r' at or near "(.*)"$', re.S)
_OPERANDS = frozenset(
    {"IDENT", "ICONST", "FCONST", "SCONST", "BCONST", "XCONST", "USCONST", "UIDENT", "PARAM"}
)
_RESERVED_KINDS = frozenset({"RESERVED_KEYWORD"})


@dataclass(frozen=True, slots=True)
class Rejection:
    """PostgreSQL's parser refused the statement: its message and the span it points at
    (character offsets into the statement)."""

    message: str
    start: int
    end: int


def _parser() -> Any:
    from pglast import parser  # imported on first use: the command line may never parse SQL

    return parser


def scan(source: str) -> list[Any]:
    """PostgreSQL's tokens of `source` (start/end character offsets, end inclusive); [] when
    the scanner refuses it."""
    try:
        return list(_parser().scan(source))
    except Exception:
        return []


def extension_placeholder(text: str) -> bool:
    """Does `text` hold a placeholder that only CREATE EXTENSION fills in (@extschema@ …)?"""
    return "@ext" in text and _EXTENSION.search(text) is not None


def neutralize(text: str) -> str:
    """`text` with client-side placeholders replaced by PostgreSQL syntax of the same length."""
    if "@ext" in text:  # an extension script's placeholder -> a quoted name: "extschema"
        text = _EXTENSION.sub(r'"\1"', text)
    if ("?" not in text and ":" not in text and "%" not in text) or _HINT.search(text) is None:
        return text
    tokens = scan(text)
    if not tokens:
        return text
    chars = list(text)
    depth = 0  # inside [...]: `a[lo:hi]` is an array slice, not a psql variable
    previous = None
    for i, tok in enumerate(tokens):
        name = tok.name
        if name == "ASCII_91":
            depth += 1
        elif name == "ASCII_93":
            depth = max(0, depth - 1)
        elif name == "ASCII_58" and depth == 0 and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            adjacent = nxt.start == tok.end + 1
            if adjacent and nxt.name == "SCONST":  # :'name' -> 'name'
                chars[tok.start] = " "
            elif adjacent and text[nxt.start] == "{":  # :{?name}
                m = _TEST_VAR.match(text, tok.start)
                if m:
                    chars[m.start() : m.end()] = "true".ljust(m.end() - m.start())
            elif adjacent and (nxt.name == "IDENT" or nxt.kind != "NO_KEYWORD"):
                if nxt.kind in _RESERVED_KINDS:  # :select -> $1 (an expression)
                    width = nxt.end + 1 - tok.start
                    chars[tok.start : nxt.end + 1] = "$1".ljust(width)
                else:  # :name / :"name" -> an identifier
                    chars[tok.start] = " "
        elif name == "Op" and text[tok.start : tok.end + 1] == "?":
            # a JDBC-style `?` placeholder where jsonb's `?` operator cannot be
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            after_operand = previous is not None and (
                previous.name in _OPERANDS or previous.name in ("ASCII_41", "ASCII_93")
            )
            before_operand = nxt is not None and (
                nxt.name in _OPERANDS
                or nxt.name == "ASCII_40"
                or nxt.kind in ("UNRESERVED_KEYWORD", "COL_NAME_KEYWORD")
            )
            if not after_operand and not before_operand:
                chars[tok.start] = "0"
        elif name == "ASCII_37" and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            operand = previous is not None and (
                previous.name in _OPERANDS
                or previous.name in ("ASCII_41", "ASCII_93")
                or (previous.kind != "NO_KEYWORD" and previous.end + 1 == tok.start)
            )
            if nxt.start != tok.end + 1 or operand:
                previous = tok
                continue
            if nxt.name == "IDENT" and text[nxt.start : nxt.end + 1] == "s":  # %s
                chars[tok.start : nxt.end + 1] = "$1"
            elif nxt.name == "ASCII_40" and i + 3 < len(tokens):  # %(name)s
                close, last = tokens[i + 3], tokens[min(i + 4, len(tokens) - 1)]
                if (
                    close.name == "ASCII_41"
                    and last.start == close.end + 1
                    and text[last.start : last.end + 1] == "s"
                ):
                    width = last.end + 1 - tok.start
                    chars[tok.start : last.end + 1] = "$1".ljust(width)
        previous = tok
    return "".join(chars)


def check(source: str, tree: bool = True) -> tuple[Rejection | None, str | None]:
    """Parse `source` (one statement); (rejection, None) or (None, libpg_query's JSON; None
    when `tree` is false: validity only, about half the cost)."""
    parser = _parser()
    try:
        if not tree:
            parser.split(source, with_parser=True)
            return None, None
        return None, parser.parse_sql_json(source)
    except parser.ParseError as e:
        message = str(e.args[0]) if e.args else "syntax error"
        location = e.args[1] if len(e.args) > 1 else None
        return _rejection(source, message, location), None
    except RecursionError:
        return None, None
    except Exception as e:  # the binding failing on input it cannot take
        return Rejection(f"cannot parse this statement: {e}", 0, min(1, len(source))), None


def as_written(rejection: Rejection, written: str) -> Rejection:
    """`rejection` of a `neutralize`d text, naming the token as `written` has it (`near
    "@extschema@"`, not the quoted name that stood in for it; the offsets are the same)."""
    m = _NEAR.search(rejection.message)
    shown = written[rejection.start : rejection.end]
    if m is None or not shown or m.group(1) == shown:
        return rejection
    message = rejection.message[: m.start()] + f' at or near "{shown}"'
    return Rejection(message, rejection.start, rejection.end)


def _rejection(source: str, message: str, location: int | None) -> Rejection:
    if location is None or location >= len(source):
        tokens = scan(source)
        if tokens:
            last = tokens[-1]
            return Rejection(message, last.start, last.end + 1)
        stripped = source.rstrip()
        return Rejection(message, max(0, len(stripped) - 1), len(stripped))
    location = max(0, location)
    m = _NEAR.search(message)
    if m:
        near = m.group(1)
        if near and source.startswith(near, location):
            return Rejection(message, location, location + len(near))
    for tok in scan(source):
        if tok.start == location:
            return Rejection(message, tok.start, tok.end + 1)
    return Rejection(message, location, min(len(source), location + 1))


def statements(json_text: str) -> list[dict[str, Any]]:
    """The statement nodes of libpg_query's JSON (each `{"NodeType": {...}}`)."""
    data = json.loads(json_text)
    return [s["stmt"] for s in data.get("stmts", []) if "stmt" in s]


def node(value: Any) -> tuple[str, dict[str, Any]]:
    """(node type, fields) of a `{"NodeType": {...}}` dict; ("", {}) for anything else."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, fields),) = value.items()
        if isinstance(fields, dict):
            return kind, fields
    return "", {}


def strings(values: Any) -> list[str]:
    """The `sval`s of a list of `{"String": {"sval": …}}` nodes (names lists)."""
    out = []
    for v in values or ():
        kind, fields = node(v)
        if kind == "String":
            out.append(fields.get("sval", ""))
        elif kind == "A_Star":
            out.append("*")
    return out
