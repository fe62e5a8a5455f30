"""Split SQL text into statements, parse each one on its own, and map tree nodes back to offsets.

The splitter is lexical and linear. It knows quotes (`'…'` with `''`, `E'…'` with backslash
escapes, `"…"` identifiers, `$tag$…$tag$` bodies), `--` and nested `/* */` comments, psql
meta-commands (a backslash outside quotes starts one, to the end of its line), `COPY … FROM stdin`
data up to `\\.`, `BEGIN ATOMIC … END` and trigger bodies. An unterminated quote or comment is
reported on its own statement and scanning resumes on the next line, so one typo never hides the
rest of the file.

Each statement is parsed alone with sqlglot and the result is cached by (dialect, text). Every
offset here is a character offset into the text passed in; sqlglot's token line/column numbers are
never used (they are wrong after `$1`).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from sqlglot import ErrorLevel, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import Token, Tokenizer, TokenType

logging.getLogger("sqlglot").setLevel(logging.ERROR)

# longer statements (generated IN lists, data dumps) are checked by PostgreSQL's parser only:
# building and walking a tree for them costs seconds per keystroke
MAX_PARSE_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class Span:
    """One statement of a script.

    `kind` is "sql", "psql" (a meta-command line) or "copydata". `start`/`end` cover the statement
    without leading comments, trailing whitespace and the terminating `;` (whose offset is
    `semicolon`, or -1). `issue` is a lexical problem found while splitting, as
    (message, start, end).
    """

    kind: str
    start: int
    end: int
    semicolon: int = -1
    issue: tuple[str, int, int] | None = None


_SQLGLOT_DIALECTS = {"postgres": "postgres", "mysql": "mysql", "sqlite": "sqlite"}

# What can start something the scanner must look at, per dialect.
_INTERESTING = {
    "postgres": re.compile(r"[;'\"$\\]|--|/\*|[eE]'"),
    "mysql": re.compile(
        r"[;'\"`#]|--(?=[\s])|/\*|^[ \t]*[dD][eE][lL][iI][mM][iI][tT][eE][rR]\b", re.M
    ),
    "sqlite": re.compile(r"[;'\"`\[]|--|/\*"),
}
_IDENT_CHAR = re.compile(r"[\w$]")
# PostgreSQL's dollar-quote tag: a letter, `_` or any non-ASCII character, then those or digits
# (written as the ASCII characters it excludes: a class of all of Unicode takes 7 ms to compile)
_DOLLAR_TAG = re.compile(r"\$([^\x00-\x40\[-\^`{-\x7f][^\x00-\x2f:-@\[-\^`{-\x7f]*)?\$")
# Quoted bodies are matched as "unrolled loops" (a run of plain characters, then an escape and
# another run, …): one regex step per run instead of one per character, so a 10 MB literal takes
# milliseconds.
_STD_STRING = re.compile(r"[^']*(?:''[^']*)*'")
_ESC_STRING = re.compile(r"[^'\\]*(?:(?:\\.|'')[^'\\]*)*'", re.S)
_MYSQL_SQ = _ESC_STRING
_MYSQL_DQ = re.compile(r'[^"\\]*(?:(?:\\.|"")[^"\\]*)*"', re.S)
_DQ_IDENT = re.compile(r'[^"]*(?:""[^"]*)*"')
_BACKTICK = re.compile(r"[^`]*(?:``[^`]*)*`")
_BRACKET = re.compile(r"[^\]]*\]")
_COMMENT_NEST = re.compile(r"/\*|\*/")
# the comment that names a query in a query file: `-- name: get_user` (aiosql, sqlc, yesql),
# `-- :name get-user :? :1` (PugSQL, HugSQL)
_QUERY_NAME = re.compile(r"--[ \t]*(?:name:|:name[ \t])")
_SPACE = re.compile(r"\s*")
_SIGNIFICANT = re.compile(r"\S")
_COPY_STDIN = re.compile(r"\s*\\?copy\b.*\bfrom\s+stdin\b", re.I | re.S)
_COPY_END = re.compile(r"^\\\.[ \t]*\r?$", re.M)
_BLOCK_START = re.compile(
    r"^\s*create\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:trigger|function|procedure|rule)\b",
    re.I,
)
_RULE_START = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?rule\b", re.I)
# psql meta-commands that send or reset the query buffer: they end the statement in progress
_ENDS_BUFFER = re.compile(
    r"\\(?:g\w*|crosstabview|watch|r|reset|i|ir|include|include_relative|copy)(?!\w)"
)
_BLOCK_WORDS = re.compile(r"\b(begin|end|case)\b", re.I)


def split(text: str, dialect: str = "postgres") -> list[Span]:
    """The statements of `text`, in order. Never raises."""
    return list(_Splitter(text, dialect).run())


def split_from(text: str, pos: int, dialect: str = "postgres") -> Iterator[Span]:
    """The statements of `text` from `pos`, which must be a statement boundary, lazily."""
    return _Splitter(text, dialect).run(pos)


def copies_from_stdin(statement: str) -> bool:
    """Is `statement` a `COPY … FROM stdin`, whose data starts on the next line?"""
    return _COPY_STDIN.match(statement) is not None


class _Splitter:
    def __init__(self, text: str, dialect: str) -> None:
        self.text = text
        self.dialect = dialect if dialect in _INTERESTING else "postgres"
        self.interesting = _INTERESTING[self.dialect]
        self.delimiter = ";"
        self.holes: list[tuple[int, int]] = []  # meta-command lines inside statements

    def run(self, pos: int = 0) -> Iterator[Span]:
        text = self.text
        n = len(text)
        start = -1  # start of the statement in progress (first significant char), -1: none yet
        sig_end = 0  # end of the last significant char of the statement in progress
        issue: tuple[str, int, int] | None = None
        pg = self.dialect == "postgres"
        while pos < n:
            m = self.interesting.search(text, pos)
            at = m.start() if m else n
            custom = -1
            if self.delimiter != ";":
                # the delimiter may begin with a character the scanner stops at (`;;`)
                custom = text.find(self.delimiter, pos, at + len(self.delimiter))
                if custom > at:
                    custom = -1
                if custom >= 0:
                    at = custom
            if at > pos:  # plain text up to the next interesting thing
                seg = text[pos:at]
                stripped = seg.rstrip()
                if stripped:
                    if start < 0:
                        start = pos + len(seg) - len(seg.lstrip())
                    sig_end = pos + len(stripped)
            if custom >= 0:  # a MySQL DELIMITER other than ';' ends the statement
                if start >= 0:
                    yield Span("sql", start, sig_end, custom, issue)
                start, issue = -1, None
                pos = custom + len(self.delimiter)
                continue
            if m is None:
                break
            tok = m.group()
            if tok == ";":
                if self.delimiter != ";" or (start >= 0 and self._in_block(start, at)):
                    if start < 0:
                        start = at
                    sig_end = pos = at + 1
                    continue
                pos = at + 1
                if start >= 0:
                    yield Span("sql", start, sig_end, at, issue)
                    stmt_start, start, issue = start, -1, None
                    if pg and _COPY_STDIN.match(text, stmt_start, at):
                        pos = yield from self._copy_data(at + 1)
                continue
            if tok in ("--", "#"):
                if start >= 0 and tok == "--" and _QUERY_NAME.match(text, at) and self._bol(at):
                    # a named query (aiosql, PugSQL, HugSQL, sqlc) ends where the next one's
                    # name comment begins, with or without a semicolon
                    yield Span("sql", start, sig_end, -1, issue)
                    start, issue = -1, None
                pos = self._eol(at)
                continue
            if tok == "/*":
                end = self._block_comment(at)
                if end >= 0:
                    pos = end
                    continue
                eol = max(self._eol(at), at + 2)
                issue = issue or ("unterminated /* comment", at, eol)
                yield Span("sql", at if start < 0 else start, eol, -1, issue)
                start, issue = -1, None
                pos = eol
                continue
            if tok == "\\":  # psql meta-command
                if text.startswith("\\;", at):
                    # `\;`: psql puts a `;` in the query buffer; the server gets two statements
                    if start >= 0:
                        yield Span("sql", start, sig_end, at + 1, issue)
                    start, issue = -1, None
                    pos = at + 2
                    continue
                if start >= 0 and pg and not _ENDS_BUFFER.match(text, at):
                    # `\if`, `\echo`, … inside a statement: psql keeps the query buffer, so
                    # the statement goes on after this line (which is blanked for parsing)
                    eol = self._eol(at)
                    self.holes.append((at, eol))
                    pos = eol
                    continue
                if start >= 0:
                    yield Span("sql", start, sig_end, -1, issue)
                    start, issue = -1, None
                eol = self._eol(at)
                yield Span("psql", at, at + len(text[at:eol].rstrip()))
                pos = eol
                if _COPY_STDIN.match(text, at, eol):
                    pos = yield from self._copy_data(eol)
                continue
            if tok[:1] in " \tdD" and tok.strip().lower() == "delimiter":
                eol = self._eol(at)
                if start < 0:
                    word = at + len(tok) - len(tok.lstrip())
                    yield Span("psql", word, at + len(text[at:eol].rstrip()))
                    value = text[m.end() : eol].strip()
                    if value:
                        self.delimiter = value
                    pos = eol
                else:
                    sig_end = pos = m.end()
                continue
            # a quoted thing: string, identifier, dollar quote
            if start < 0:
                start = at
            end, kind = self._quoted(tok, at)
            if end < 0:  # report it, end the statement at the end of the line, carry on
                eol = max(self._eol(at), at + 1)
                yield Span("sql", start, eol, -1, issue or (f"unterminated {kind}", at, eol))
                start, issue = -1, None
                pos = eol
                continue
            sig_end = pos = end
        if start >= 0:
            yield Span("sql", start, sig_end, -1, issue)

    def _bol(self, at: int) -> bool:
        """Is only blank space between the start of the line and `at`?"""
        line = self.text.rfind("\n", 0, at) + 1
        return not self.text[line:at].strip()

    def _eol(self, at: int) -> int:
        eol = self.text.find("\n", at)
        return len(self.text) if eol < 0 else eol

    def _block_comment(self, at: int) -> int:
        depth = 0
        pos = at
        for m in _COMMENT_NEST.finditer(self.text, at):
            if m.start() < pos:
                continue
            if m.group() == "/*":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return m.end()
            pos = m.end()
            if self.dialect != "postgres" and depth > 1:
                depth = 1  # only PostgreSQL nests comments
        return -1

    def _quoted(self, tok: str, at: int) -> tuple[int, str]:
        """End offset (exclusive) of the quoted token at `at`, or -1; and what it is."""
        text = self.text
        if tok == "'":
            if self.dialect == "mysql":
                m = _MYSQL_SQ.match(text, at + 1)
            else:
                m = _STD_STRING.match(text, at + 1)
            return (m.end() if m else -1), "quoted string"
        if tok in ("e'", "E'"):
            if at > 0 and _IDENT_CHAR.match(text, at - 1):
                m = _STD_STRING.match(text, at + 2)  # an identifier ending in e, then a string
            else:
                m = _ESC_STRING.match(text, at + 2)
            return (m.end() if m else -1), "quoted string"
        if tok == '"':
            m = (_MYSQL_DQ if self.dialect == "mysql" else _DQ_IDENT).match(text, at + 1)
            return (m.end() if m else -1), "quoted identifier"
        if tok == "`":
            m = _BACKTICK.match(text, at + 1)
            return (m.end() if m else -1), "quoted identifier"
        if tok == "[":
            m = _BRACKET.match(text, at + 1)
            return (m.end() if m else -1), "quoted identifier"
        if tok == "$":
            if at > 0 and _IDENT_CHAR.match(text, at - 1):
                return at + 1, "identifier"  # part of an identifier such as a$b
            m = _DOLLAR_TAG.match(text, at)
            if not m:
                return at + 1, "parameter"  # $1 and friends
            close = text.find(m.group(), m.end())
            if close < 0:
                return -1, "dollar-quoted string"
            return close + len(m.group()), "dollar-quoted string"
        return at + len(tok), "token"

    def _in_block(self, start: int, at: int) -> bool:
        """True when `;` at `at` is inside a BEGIN ATOMIC … END or trigger BEGIN … END body."""
        text = self.text
        head = text[start : min(at, start + 300)]
        if not _BLOCK_START.match(head):
            return False
        body = _strip_quoted(text[start:at])
        if _RULE_START.match(head):  # CREATE RULE … DO (action; action): psql counts parens
            return body.count("(") > body.count(")")
        if not re.search(r"\bbegin\b", body, re.I):
            return False
        if (
            head.lstrip()[:6].lower() == "create"
            and re.search(r"\b(function|procedure)\b", head, re.I)
            and not re.search(r"\bbegin\s+atomic\b", body, re.I)
        ):
            return False
        depth = 0
        for w in _BLOCK_WORDS.finditer(body):
            word = w.group().lower()
            if word in ("begin", "case"):
                depth += 1
            else:
                depth -= 1
        return depth > 0

    def _copy_data(self, after: int) -> Iterator[Span]:
        """Emit the COPY data that starts on the line after `after`; return where SQL resumes."""
        text = self.text
        eol = text.find("\n", after)
        if eol < 0:
            return len(text)
        data_start = eol + 1
        m = _COPY_END.search(text, data_start)
        data_end = m.end() if m else len(text)
        if data_end > data_start:
            yield Span("copydata", data_start, data_end)
        return data_end


def _strip_quoted(sql: str) -> str:
    """`sql` with string literals, quoted identifiers and comments blanked out."""
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)


# --------------------------------------------------------------------------------------------
# parsing


@dataclass(frozen=True, slots=True)
class SyntaxIssue:
    """A statement that does not parse: message and span relative to the statement text."""

    message: str
    start: int
    end: int


class Parsed:
    """The parse of one statement text: a sqlglot tree, or an error, or neither (opaque).

    For PostgreSQL, `error` is PostgreSQL's own verdict (its parser, its message); the sqlglot
    `tree` is only what the rules read, and is None when sqlglot cannot build one for valid SQL
    (`note` then may say why it was not analysed). `pg` is PostgreSQL's parse tree of a
    statement that may change the catalog (libpg_query's JSON as dicts), else None.
    """

    __slots__ = (
        "__weakref__",
        "_pg",
        "_pg_json",
        "_tokens",
        "dialect",
        "error",
        "memo",
        "note",
        "source",
        "text",
        "tree",
    )

    def __init__(
        self,
        text: str,
        dialect: str,
        tree: exp.Expression | None,
        error: SyntaxIssue | None,
        source: str,
        note: str | None = None,
        pg_json: str | None = None,
    ) -> None:
        self.text = text  # the statement as written
        self.source = source  # what was given to sqlglot (client syntax neutralised, same length)
        self.dialect = dialect
        self.tree = tree
        self.error = error
        self.note = note  # why a valid statement was not analysed (too deep, too large)
        self._pg_json = pg_json
        self._pg: dict | None = None
        self._tokens: list[Token] | None = None
        self.memo: dict[str, object] = {}  # facts derived from the tree, computed once per text

    @property
    def tokens(self) -> list[Token]:
        """sqlglot tokens of the statement (offsets relative to the statement), computed lazily."""
        if self._tokens is None:
            try:
                self._tokens = _READERS.tokenize(self.dialect, self.source)
            except Exception:
                self._tokens = []
        return self._tokens

    @property
    def pg(self) -> dict | None:
        """PostgreSQL's parse tree of a catalog statement (`{"CreateStmt": {…}}`), else None."""
        if self._pg is None and self._pg_json is not None:
            from sql_lsp import pg

            nodes = pg.statements(self._pg_json)
            self._pg = nodes[0] if len(nodes) == 1 else {}
            self._pg_json = None
        return self._pg or None

    @property
    def opaque(self) -> bool:
        """Parsed as an uninterpreted command (or not at all): rules cannot look inside."""
        return self.tree is None or isinstance(self.tree, exp.Command)

    @property
    def unanalysed(self) -> bool:
        """Valid, but the rules that read a tree cannot look inside."""
        return self.error is None and self.opaque


class Released(Parsed):
    """What is kept of a linted statement's parse: its error and note, not its tree."""

    __slots__ = ("_opaque",)

    def __init__(self, parsed: Parsed) -> None:
        super().__init__(
            parsed.text, parsed.dialect, None, parsed.error, parsed.source, parsed.note
        )
        self._opaque = parsed.opaque

    @property
    def opaque(self) -> bool:
        return self._opaque


# the facts an unloaded statement keeps (`Unloaded`): small, derived from the tree, asked by the
# linter for every statement when the catalog changes (what tables it names, its search_path)
COMPACT_FACTS = ("tables", "search_path")


class Unloaded(Released):
    """What the language server keeps of a linted statement it is not showing: its error, note
    and compact facts (`COMPACT_FACTS` of its memo), not its tree. Unlike `Released`, reading
    the statement's parse parses it again (`document.Statement.parsed`): hover, completion and
    references still see a tree."""

    __slots__ = ()

    def __init__(self, parsed: Parsed) -> None:
        super().__init__(parsed)
        memo = parsed.memo
        for key in COMPACT_FACTS:
            if key in memo:
                self.memo[key] = memo[key]
        self.hold()

    def hold(self) -> None:
        """Be what `unloaded` finds for this text (one made in another process, too)."""
        _UNLOADED[(self.dialect, self.text)] = self


# what is kept of unloaded statements, by (dialect, text), while a statement holds it: a
# statement of the same text not parsed yet takes its error from there (`Statement.error`)
_UNLOADED: weakref.WeakValueDictionary[tuple[str, str], Unloaded] = weakref.WeakValueDictionary()


def unloaded(text: str, dialect: str) -> Unloaded | None:
    """The `Unloaded` of a statement of this text, if one is held."""
    return _UNLOADED.get((dialect, text))


class Unparsed:
    """Stands for the parse of a statement not parsed yet (see `build_statements`)."""

    __slots__ = ("dialect",)

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect


@lru_cache(maxsize=8)
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(_SQLGLOT_DIALECTS.get(name, "postgres"))


class _Readers(threading.local):
    """One sqlglot tokenizer and parser per dialect and thread: both reset themselves on every
    call, and making new ones for each statement costs more than tokenizing a short one."""

    def __init__(self) -> None:
        self.tokenizers: dict[str, Tokenizer] = {}
        self.parsers: dict[str, Parser] = {}

    def tokenize(self, dialect: str, source: str) -> list[Token]:
        tokenizer = self.tokenizers.get(dialect)
        if tokenizer is None:
            tokenizer = self.tokenizers[dialect] = _dialect(dialect).tokenizer()
        return tokenizer.tokenize(source)

    def parser(self, dialect: str, source: str) -> Parser:
        parser = self.parsers.get(dialect)
        if parser is None:
            parser = self.parsers[dialect] = _dialect(dialect).parser(
                error_level=ErrorLevel.RAISE, max_errors=1
            )
        parser.error_message_context = len(source) + 1
        return parser


_READERS = _Readers()


# psql variables that sqlglot cannot take: `:'name'` and `:"name"` become a string / identifier of
# the same length (the colon turns into a space); `:name` is left to sqlglot (a placeholder).
_PSQL_QUOTED_VAR = re.compile(r"(?<![:\w]):(?='[A-Za-z_]\w*'|\"[A-Za-z_]\w*\")")
_PSQL_TEST_VAR = re.compile(r"(?<![:\w]):\{\?[A-Za-z_]\w*\}")

# The first words of statements sqlglot reads reliably. In the dialects without their own
# grammar here, a sqlglot failure of anything else is not reported as a syntax error.
_CHECKED_HEADS = re.compile(
    r"(select|with|insert|update|delete|values|merge|table|"
    r"create\s+(or\s+replace\s+)?((temp|temporary|unlogged)\s+)?(table|view)|"
    r"create\s+(unique\s+)?index|alter\s+table|drop\s+(table|index|view))\b",
    re.I,
)
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/|\()*", re.S)
_CATALOG_HEAD = re.compile(r"\s*(create|alter|drop|set|select\s+(pg_catalog\.)?set_config)\b", re.I)


def is_catalog_statement(text: str) -> bool:
    """Cheap pre-check: could this statement change the catalog (or the search_path)?"""
    return bool(_CATALOG_HEAD.match(text))


# parses are shared while any document holds them (weak), and the most recent ones are kept
# a little longer (bounded by their total size, not their count: one keystroke in a 20 kB
# statement is a new 20 kB text)
_LIVE: weakref.WeakValueDictionary[tuple[str, str], Parsed] = weakref.WeakValueDictionary()
_RECENT: OrderedDict[tuple[str, str], Parsed] = OrderedDict()
_RECENT_CHARS = 120_000  # ~25 MB of trees (a tree costs ~200 bytes per character)
_recent_size = 0


def parse(text: str, dialect: str = "postgres", *, keep: bool = True) -> Parsed:
    """Parse one statement. Cached by (dialect, text). Never raises. Without `keep`, it is
    not kept among the recent parses once no statement holds it."""
    global _recent_size
    key = (dialect, text)
    parsed = _LIVE.get(key)
    if parsed is None:
        parsed = _parse(dialect, text)
        _LIVE[key] = parsed
    if not keep:
        return parsed
    if key in _RECENT:
        _RECENT.move_to_end(key)
        return parsed
    size = len(text) + 64
    if size > _RECENT_CHARS // 8:
        return parsed
    _RECENT[key] = parsed
    _recent_size += size
    while _recent_size > _RECENT_CHARS and _RECENT:
        old, _ = _RECENT.popitem(last=False)
        _recent_size -= len(old[1]) + 64
    return parsed


def dismantle(parsed: Parsed) -> None:
    """Break the reference cycles of a parse that nothing else will read: its tree's parent
    links, and what its memo holds (a memo value with a `close()` method is closed). It is then
    freed as soon as its statement drops it, with no work for the cyclic garbage collector; the
    parse cache no longer serves it."""
    key = (parsed.dialect, parsed.text)
    if _LIVE.get(key) is parsed:
        del _LIVE[key]
    nodes = None  # the tree's nodes, when the memo lists them (`query_model.nodes`)
    for value in parsed.memo.values():
        close = getattr(value, "close", None)
        if close is not None:
            close()
        nodes = getattr(value, "nodes", nodes)
    parsed.memo.clear()
    if parsed.tree is not None:
        for node in nodes if nodes is not None else parsed.tree.walk():
            node.parent = None
        parsed.tree = None
    parsed._tokens = None


def blank_meta_lines(text: str) -> str:
    """`text` with the psql meta-command lines inside it blanked (same length, line breaks kept)."""
    if "\\" not in text:
        return text
    splitter = _Splitter(text, "postgres")
    for _ in splitter.run():
        pass
    if not splitter.holes:
        return text
    chars = list(text)
    for start, end in splitter.holes:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _parse(dialect: str, text: str) -> Parsed:
    if "\x00" in text:
        at = text.index("\x00")
        return Parsed(text, dialect, None, SyntaxIssue("NUL byte in SQL text", at, at + 1), text)
    if dialect == "postgres":
        return _parse_postgres(text)
    if len(text) > MAX_PARSE_CHARS:
        return Parsed(text, dialect, None, None, text, note=_TOO_LARGE)
    checked = bool(_CHECKED_HEADS.match(text, _LEADING_NOISE.match(text).end()))
    try:
        tree = _sqlglot_tree(dialect, text)
    except ParseError as e:
        return Parsed(text, dialect, None, _parse_issue(e, text) if checked else None, text)
    except TokenError as e:
        return Parsed(text, dialect, None, _token_issue(e, text) if checked else None, text)
    except RecursionError:
        return Parsed(text, dialect, None, None, text, note=_TOO_DEEP)
    except Exception:  # sqlglot failing on input it does not understand: say nothing
        return Parsed(text, dialect, None, None, text)
    return Parsed(text, dialect, tree, None, text)


_TOO_LARGE = f"the statement is longer than {MAX_PARSE_CHARS // 1000} kB"
_TOO_DEEP = "the statement is nested too deeply"


def _parse_postgres(text: str) -> Parsed:
    """PostgreSQL's parser decides validity; sqlglot builds the tree the rules read."""
    from sql_lsp import pg

    blank = blank_meta_lines(text)
    catalog = is_catalog_statement(text)
    neutral = pg.neutralize(blank)
    rejection, keep = pg.check(neutral, tree=catalog)
    if rejection is not None:
        if neutral is not blank:
            rejection = pg.as_written(rejection, blank)
        error = SyntaxIssue(rejection.message, rejection.start, rejection.end)
        return Parsed(text, "postgres", None, error, blank)
    if pg.extension_placeholder(blank):
        # valid once CREATE EXTENSION names the schema or owner: which one is unknown here, so
        # neither the catalog nor a rule (nor a fix naming the object) reads this statement
        return Parsed(text, "postgres", None, None, blank)
    source = blank
    if ":" in source:
        source = _PSQL_QUOTED_VAR.sub(" ", source)
        source = _PSQL_TEST_VAR.sub(lambda m: "true".ljust(len(m.group())), source)
    if len(text) > MAX_PARSE_CHARS:
        return Parsed(text, "postgres", None, None, source, note=_TOO_LARGE, pg_json=keep)
    tokens: list[Token] = []
    try:
        tree = _sqlglot_tree("postgres", source, tokens)
    except RecursionError:
        return Parsed(text, "postgres", None, None, source, note=_TOO_DEEP, pg_json=keep)
    except Exception:  # valid SQL that sqlglot cannot read: no tree, no error
        return Parsed(text, "postgres", None, None, source, pg_json=keep)
    parsed = Parsed(text, "postgres", tree, None, source, pg_json=keep)
    parsed._tokens = tokens  # the rules' locator reads the same tokens
    return parsed


def _sqlglot_tree(
    dialect: str, source: str, keep: list[Token] | None = None
) -> exp.Expression | None:
    """The one sqlglot tree of `source`, or None when it is not one statement sqlglot reads
    faithfully (its tokens are added to `keep`). Raises sqlglot's errors."""
    tokens = _READERS.tokenize(dialect, source)
    if keep is not None:
        keep.extend(tokens)
    trees = [t for t in _READERS.parser(dialect, source).parse(tokens, source) if t is not None]
    if len(trees) != 1 or _misread(trees[0], source):
        return None
    return trees[0]


def _misread(tree: exp.Expression, text: str) -> bool:
    """sqlglot silently reads `LISTEN ch` / `SAVEPOINT a` as `LISTEN AS ch`: treat as opaque."""
    return isinstance(tree, exp.Alias | exp.Column | exp.Identifier | exp.Literal)


_MISSING = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>")


def _parse_issue(e: ParseError, source: str) -> SyntaxIssue:
    err = e.errors[0] if e.errors else {}
    desc = str(err.get("description") or "invalid syntax")
    highlight = str(err.get("highlight") or "")
    start = len(err.get("start_context") or "")
    start = min(start, len(source))
    end = start + len(highlight) if highlight and source[start:].startswith(highlight) else start
    if end == start:
        # the offending token could not be matched: point at the next word
        m = re.compile(r"\S+").search(source, start)
        if m:
            start, end = m.start(), m.end()
    near = source[start:end] or "end of statement"
    m = _MISSING.match(desc)
    if m:
        what = m.group(2)
        if what in ("Where", "Having", "Group", "Order", "Limit"):
            detail = f"{what.upper()} clause is empty"
        else:
            detail = f"'{near}' is incomplete"
        message = f"syntax error at or near {near!r}: {detail}"
    elif desc.startswith("Expecting"):
        message = f"syntax error at or near {near!r}: {desc.lower()}"
    elif start >= len(source.rstrip()):
        message = "syntax error at end of statement"
    else:
        message = f"syntax error at or near {near!r}"
    return SyntaxIssue(message, start, end)


def _token_issue(e: TokenError, source: str) -> SyntaxIssue:
    # sqlglot's TokenError carries no offset: find the unterminated construct ourselves
    spans = split(source)
    for span in spans:
        if span.issue:
            msg, s, end = span.issue
            return SyntaxIssue(msg, s, end)
    return SyntaxIssue("cannot read this statement (invalid token)", 0, min(len(source), 1))


# --------------------------------------------------------------------------------------------
# positions of tree nodes


class Locator:
    """Maps sqlglot nodes of one parsed statement to character spans of the statement text.

    Only leaves (identifiers, literals, stars, some function names) carry positions; composite
    nodes are located from their leaves and the token stream (parentheses, casts, keywords).
    """

    def __init__(self, parsed: Parsed) -> None:
        self.parsed = parsed
        self.tokens = parsed.tokens
        self._starts = [t.start for t in self.tokens]

    def token_index(self, offset: int) -> int:
        """Index of the token containing or following `offset` (len(tokens) if none)."""
        i = bisect_right(self._starts, offset) - 1
        if i >= 0 and self.tokens[i].end >= offset:
            return i
        return i + 1

    def leaf_span(self, node: exp.Expression) -> tuple[int, int] | None:
        lo, hi = None, None
        for n in node.walk():
            meta = n._meta if hasattr(n, "_meta") else None
            if meta and "start" in meta:
                s, e = meta["start"], meta["end"] + 1
                lo = s if lo is None or s < lo else lo
                hi = e if hi is None or e > hi else hi
        if lo is None:
            return None
        return lo, hi

    def span(self, node: exp.Expression) -> tuple[int, int] | None:
        """Best span of `node`: its leaves, widened to balance parentheses and to take in a
        `CAST(`/function-name prefix or a `::type` suffix."""
        leaves = self.leaf_span(node)
        if leaves is None:
            return None
        toks = self.tokens
        if not toks:
            return leaves
        i = self.token_index(leaves[0])
        j = self.token_index(leaves[1] - 1)
        if i >= len(toks) or j >= len(toks):
            return leaves
        i, j = self._widen(node, i, j)
        return toks[i].start, toks[j].end + 1

    def _widen(self, node: exp.Expression, i: int, j: int) -> tuple[int, int]:
        toks = self.tokens
        # a function whose name carries no position: `name (` right before the first leaf
        if (
            isinstance(node, exp.Func | exp.Cast)
            and i >= 2
            and toks[i - 1].token_type == TokenType.L_PAREN
        ) and toks[i - 2].token_type not in _NOT_A_NAME:
            i -= 2
        if isinstance(node, exp.Paren) and i >= 1 and toks[i - 1].token_type == TokenType.L_PAREN:
            i -= 1
        if isinstance(node, exp.Neg | exp.Not) and i >= 1:
            i -= 1
        # balance parentheses inside [i, j]
        depth = 0
        for k in range(i, j + 1):
            tt = toks[k].token_type
            if tt == TokenType.L_PAREN:
                depth += 1
            elif tt == TokenType.R_PAREN:
                depth -= 1
        while depth > 0 and j + 1 < len(toks):
            j += 1
            tt = toks[j].token_type
            if tt == TokenType.L_PAREN:
                depth += 1
            elif tt == TokenType.R_PAREN:
                depth -= 1
        while depth < 0 and i > 0:
            i -= 1
            tt = toks[i].token_type
            if tt == TokenType.R_PAREN:
                depth -= 1
            elif tt == TokenType.L_PAREN:
                depth += 1
        # `expr::type` suffixes (possibly chained) when the node is a cast
        casts = sum(1 for n in node.walk() if isinstance(n, exp.Cast))
        while casts and j + 1 < len(toks) and toks[j + 1].token_type == TokenType.DCOLON:
            j = self._type_end(j + 2)
            casts -= 1
        return i, j

    def _type_end(self, k: int) -> int:
        """Last token of a type name starting at token `k` (e.g. `timestamp with time zone`,
        `numeric(10, 2)`, `text[]`)."""
        toks = self.tokens
        if k >= len(toks):
            return len(toks) - 1
        j = k
        while j + 1 < len(toks):
            nxt = toks[j + 1]
            if nxt.token_type == TokenType.L_PAREN:
                depth = 0
                for m in range(j + 1, len(toks)):
                    if toks[m].token_type == TokenType.L_PAREN:
                        depth += 1
                    elif toks[m].token_type == TokenType.R_PAREN:
                        depth -= 1
                        if depth == 0:
                            j = m
                            break
                else:
                    break
                continue
            if nxt.token_type in (TokenType.L_BRACKET, TokenType.R_BRACKET):
                j += 1
                continue
            if nxt.text.lower() in ("with", "without", "time", "zone", "varying", "precision") and (
                toks[j].text.lower()
                in ("timestamp", "time", "with", "without", "zone", "character", "double", "bit")
                or nxt.text.lower() in ("varying", "precision")
            ):
                j += 1
                continue
            break
        return j


_NOT_A_NAME = frozenset(
    {
        TokenType.L_PAREN,
        TokenType.R_PAREN,
        TokenType.COMMA,
        TokenType.EQ,
        TokenType.NEQ,
        TokenType.GT,
        TokenType.GTE,
        TokenType.LT,
        TokenType.LTE,
        TokenType.PLUS,
        TokenType.DASH,
        TokenType.STAR,
        TokenType.SLASH,
        TokenType.AND,
        TokenType.OR,
        TokenType.NOT,
        TokenType.WHERE,
        TokenType.ON,
        TokenType.SELECT,
        TokenType.DCOLON,
        TokenType.IN,
        TokenType.HAVING,
    }
)
