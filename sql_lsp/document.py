"""A SQL document: its text, its statements (split and parsed) and a line index.

Offsets are character offsets into `text`. `LineIndex` converts them to (line, column) in any of
the LSP position encodings; it treats only `\\n`, `\\r\\n` and `\\r` as line breaks, as LSP does.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from sqlglot import exp

from sql_lsp.statements import (
    Locator,
    Parsed,
    Released,
    Span,
    SyntaxIssue,
    Unloaded,
    Unparsed,
    copies_from_stdin,
    dismantle,
    is_catalog_statement,
    parse,
    split,
    split_from,
    unloaded,
)

_NEWLINE = re.compile(r"\r\n|\r|\n")
_SIGNIFICANT = re.compile(r"\S")


class LineIndex:
    """Line starts of a text, for offset <-> (line, character) conversions.

    An edit that adds or removes no line break shifts every later line start; instead of
    rewriting them, the new index shares the old list and records the shift ("pivots": after
    line p, add d), so typing in a large file costs the same as in a small one. After
    `MAX_PIVOTS` shifts the list is rewritten once.
    """

    __slots__ = ("_base", "_cum", "_firsts", "_pivots", "text")
    MAX_PIVOTS = 32

    def __init__(
        self,
        text: str,
        starts: list[int] | None = None,
        pivots: list[int] | None = None,
        cum: list[int] | None = None,
    ) -> None:
        self.text = text
        self._base = (
            starts if starts is not None else [0, *(m.end() for m in _NEWLINE.finditer(text))]
        )
        self._pivots = pivots or []  # sorted lines; lines after pivots[j] are shifted by cum[j]
        self._cum = cum or []
        base, n = self._base, len(self._base)
        # the true start of the first line after each pivot (for bisecting offsets)
        self._firsts = [
            base[p + 1] + c if p + 1 < n else len(text) + 1
            for p, c in zip(self._pivots, self._cum, strict=True)
        ]

    @property
    def starts(self) -> list[int]:
        """Every line start (materialised: O(lines); prefer `line_start` and `line_of`)."""
        if not self._pivots:
            return self._base
        out = self._base[: self._pivots[0] + 1]
        bounds = [*self._pivots[1:], len(self._base) - 1]
        for p, c, q in zip(self._pivots, self._cum, bounds, strict=True):
            out.extend(map(c.__add__, self._base[p + 1 : q + 1]))
        return out

    def __len__(self) -> int:
        return len(self._base)

    def layout(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """The shared line starts, the pivots, their shifts and the shifted first starts (for
        callers that convert many offsets in a row)."""
        return self._base, self._pivots, self._cum, self._firsts

    def line_start(self, line: int) -> int:
        if not self._pivots:
            return self._base[line]
        j = bisect_left(self._pivots, line) - 1
        return self._base[line] + (self._cum[j] if j >= 0 else 0)

    def edited(self, text: str, start: int, end: int, delta: int) -> LineIndex:
        """The index of `text`, which is this index's text with [start, end) replaced and
        shifted by `delta` characters after it. Only the lines around the edit are rescanned."""
        first = self.line_of(start)
        new_end = end + delta
        if (
            not _has_break(self.text, start, end)
            and not _has_break(text, start, new_end)
            and not (text[start - 1 : start] == "\r" and text[new_end : new_end + 1] == "\n")
        ):  # the same lines (no break added, removed, or a CR LF split or joined)
            if not delta:
                return LineIndex(text, self._base, self._pivots, self._cum)
            if len(self._pivots) < self.MAX_PIVOTS:
                pivots, cum = list(self._pivots), list(self._cum)
                j = bisect_left(pivots, first)
                if j < len(pivots) and pivots[j] == first:
                    cum[j:] = [c + delta for c in cum[j:]]
                else:
                    before = cum[j - 1] if j > 0 else 0
                    pivots.insert(j, first)
                    cum.insert(j, before)
                    cum[j:] = [c + delta for c in cum[j:]]
                return LineIndex(text, self._base, pivots, cum)
            starts = self.starts
            head = starts[: first + 1]
            head.extend(map(delta.__add__, starts[first + 1 :]))
            return LineIndex(text, head)
        if first and text[start - 1 : start] == "\r":
            first = self.line_of(start - 1)  # a LF right after it joins the CR's line break
        starts = self.starts
        begin = starts[first]
        nl = text.find("\n", end + delta)
        stop = len(text) if nl < 0 else nl + 1
        middle = [m.end() for m in _NEWLINE.finditer(text, begin, stop)]
        if middle and middle[-1] > len(text):
            middle.pop()
        tail_from = bisect_right(starts, stop - delta)
        tail = [s + delta for s in starts[tail_from:]]
        return LineIndex(text, starts[: first + 1] + middle + tail)

    def line_of(self, offset: int) -> int:
        base = self._base
        if not self._pivots:
            return bisect_right(base, offset) - 1
        j = bisect_right(self._firsts, offset) - 1
        if j < 0:
            return bisect_right(base, offset, 0, self._pivots[0] + 1) - 1
        lo = self._pivots[j] + 1
        hi = self._pivots[j + 1] + 1 if j + 1 < len(self._pivots) else len(base)
        return bisect_right(base, offset - self._cum[j], lo, hi) - 1

    def line_col(self, offset: int) -> tuple[int, int]:
        """0-based line and 0-based column in characters (code points). An offset between the
        CR and the LF of a line break is the end of its line."""
        text = self.text
        offset = max(0, min(offset, len(text)))
        if text[offset - 1 : offset + 1] == "\r\n":
            offset -= 1
        line = self.line_of(offset)
        return line, offset - self.line_start(line)

    def line_end(self, line: int) -> int:
        """Offset of the end of `line`, before its line break."""
        if line + 1 < len(self._base):
            end = self.line_start(line + 1)
            if self.text[end - 2 : end] == "\r\n":
                return end - 2
            return end - 1
        return len(self.text)

    def position(self, offset: int, encoding: str = "utf-16") -> tuple[int, int]:
        """(line, character) with `character` counted in the given encoding's code units."""
        line, col = self.line_col(offset)
        if encoding == "utf-32" or col == 0:
            return line, col
        start = self.line_start(line)
        segment = self.text[start : start + col]
        if segment.isascii():
            return line, col
        if encoding == "utf-8":  # a lone surrogate (from a UTF-16 client) counts 3 bytes
            return line, len(segment.encode("utf-8", "surrogatepass"))
        return line, len(segment.encode("utf-16-le", "surrogatepass")) // 2

    def offset(self, line: int, character: int, encoding: str = "utf-16") -> int:
        """Character offset of an LSP position (clamped to the text)."""
        if line < 0:
            return 0
        if line >= len(self._base):
            return len(self.text)
        start = self.line_start(line)
        end = self.line_end(line)
        if character <= 0:
            return start
        segment = self.text[start:end]
        if encoding == "utf-32" or segment.isascii():
            return start + min(character, len(segment))
        if encoding == "utf-8":
            data = segment.encode("utf-8", "surrogatepass")
            while character < len(data) and data[character] & 0xC0 == 0x80:
                character -= 1  # inside a character: before it
            return start + len(data[:character].decode("utf-8", "surrogatepass"))
        units = 0
        for i, ch in enumerate(segment):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > character:
                return start + i
            if units == character:
                return start + i + 1
        return end


def _has_break(text: str, start: int, end: int) -> bool:
    return text.find("\n", start, end) >= 0 or text.find("\r", start, end) >= 0


class Statement:
    """One statement of a document: where it is, its text and its parse (None for psql lines and
    COPY data). Offsets are absolute; an edit before a statement shifts it in place, which only
    moves `start` (the other offsets are kept relative to it)."""

    __slots__ = (
        "_issue",
        "_parsed",
        "_semi",
        "catalog_ordinal",
        "index",
        "kind",
        "lint",
        "start",
        "text",
    )

    def __init__(self, span: Span, text: str, parsed: Parsed | None, index: int) -> None:
        self.kind = span.kind
        self.start = span.start
        self._semi = span.semicolon - span.start if span.semicolon >= 0 else -1
        issue = span.issue
        self._issue = (
            (issue[0], issue[1] - span.start, issue[2] - span.start) if issue is not None else None
        )
        self.text = text
        self._parsed = parsed
        self.index = index
        self.catalog_ordinal = -1  # position among the document's catalog statements, or -1
        self.lint: tuple | None = None  # (context key, findings relative to start): lint cache

    @property
    def parsed(self) -> Parsed | None:
        """The parse (None for psql lines and COPY data); a lazy statement parses on first use."""
        p = self._parsed
        if type(p) is Unparsed:
            p = self._parsed = parse(self.text, p.dialect, keep=False)
        elif type(p) is Unloaded:
            facts = p.memo
            p = self._parsed = parse(self.text, p.dialect, keep=False)
            for key, value in facts.items():
                p.memo.setdefault(key, value)
        return p

    @parsed.setter
    def parsed(self, value: Parsed | None) -> None:
        self._parsed = value

    def release(self, kept: dict[str, Parsed] | None = None, *, last: bool = False) -> None:
        """Drop the parse tree and tokens, keep what is still asked once the statement is
        linted (its syntax error, whether the rules could read it): a check that lints each
        statement once does not need to hold every tree of a file at once.

        `kept` maps texts to what was kept of statements released before: a statement never
        parsed (its findings were those of the same text earlier) takes that instead of being
        parsed when asked, and a statement released here is added to it. `last`: nothing else
        reads this parse (a one-pass check): it is dismantled, so it is freed at once."""
        p = self._parsed
        if type(p) is Unparsed:
            same = kept.get(self.text) if kept is not None else None
            if same is not None:
                self._parsed = same
        elif p is not None and type(p) is Parsed:
            self._parsed = Released(p)
            if kept is not None:
                kept[self.text] = self._parsed
            if last and sys.getrefcount(p) <= 2:  # (the local name and the argument)
                dismantle(p)  # no other statement shares this parse
        self.lint = None

    def kept_parse(self) -> Parsed | None:
        """What `release` kept of the parse (None when it was not released)."""
        p = self._parsed
        return p if type(p) is Released else None

    def unload(self) -> bool:
        """Drop the parse tree and tokens of a linted statement, keeping its error and compact
        facts (`statements.Unloaded`); unlike `release`, a later read of `parsed` parses the
        text again. Its lint memo stays valid. Returns whether a tree was dropped."""
        p = self._parsed
        if type(p) is not Parsed or p.tree is None:
            return False
        unloaded = Unloaded(p)
        self._parsed = unloaded
        memo = self.lint
        if memo is not None and memo[1] is p:
            self.lint = (memo[0], unloaded, *memo[2:])
        return True

    @property
    def holds_tree(self) -> bool:
        """Whether the statement holds a parse tree now (without parsing)."""
        p = self._parsed
        return type(p) is Parsed and p.tree is not None

    @property
    def parse_state(self) -> object:
        """The object that stands for the statement's current parse, without parsing: what a
        cache of results computed from the parse compares by identity."""
        return self._parsed

    def fact(self, key: str) -> tuple[bool, object]:
        """(True, value) of a fact memoised for the statement's text (`Parsed.memo`), read
        without parsing; (False, None) when it is not known yet."""
        p = self._parsed
        memo = getattr(p, "memo", None)
        if memo is not None and key in memo:
            return True, memo[key]
        return False, None

    def shift(self, delta: int) -> None:
        self.start += delta

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def semicolon(self) -> int:
        """Offset of the terminating ';', or -1."""
        return self.start + self._semi if self._semi >= 0 else -1

    @property
    def issue(self) -> tuple[str, int, int] | None:
        """A lexical problem (message, start, end), absolute."""
        if self._issue is None:
            return None
        msg, s, e = self._issue
        return (msg, self.start + s, self.start + e)

    @property
    def stop(self) -> int:
        """End of the statement including its semicolon."""
        if self._semi >= 0:
            return self.start + self._semi + 1
        return self.start + len(self.text)

    @property
    def tree(self) -> exp.Expression | None:
        return self.parsed.tree if self.parsed is not None else None

    @property
    def error(self) -> SyntaxIssue | None:
        """A lexical or parse error, relative to the statement start."""
        p = self._parsed
        if type(p) is Unparsed:
            # a statement of the same text was parsed and unloaded: its error is this one's
            p = unloaded(self.text, p.dialect) or self.parsed
            self._parsed = p
        if p is not None:
            error = p.error  # an unloaded statement keeps its error: no parse
            if error is not None:
                return error
        return SyntaxIssue(*self._issue) if self._issue is not None else None

    def same_span(self, span: Span, delta: int) -> bool:
        return (
            self.kind == span.kind
            and self.start + delta == span.start
            and self.end + delta == span.end
            and (self.semicolon + delta if self._semi >= 0 else -1) == span.semicolon
            and self._issue is None
            and span.issue is None
        )

    def locator(self) -> Locator | None:
        return Locator(self.parsed) if self.parsed is not None else None

    def locate(
        self, node: exp.Expression, locator: Locator | None = None
    ) -> tuple[int, int] | None:
        """Absolute span of a node of this statement's tree."""
        loc = locator or self.locator()
        span = loc.span(node) if loc is not None else None
        if span is None:
            return None
        return self.start + span[0], self.start + span[1]

    def __repr__(self) -> str:
        return f"Statement({self.kind}, {self.start}, {self.end}, {self.text[:40]!r})"


@dataclass(frozen=True, slots=True)
class Surroundings:
    """Where the lines of a statement start and end (absolute offsets): the start of its first
    line and whether only blanks precede the statement there (`own_line`); the end of the line
    it stops on (before the line break), the start of the next line, and whether only blanks or
    a `--` comment follow the statement there (`tail_free`); and the document's line break."""

    line_start: int
    own_line: bool
    line_end: int
    next_line: int
    tail_free: bool
    newline: str

    def relative(self, stmt: Statement) -> tuple:
        """The same, relative to the statement's start (equal wherever the statement moves)."""
        start = stmt.start
        return (
            self.line_start - start,
            self.own_line,
            self.line_end - start,
            self.next_line - start,
            self.tail_free,
            self.newline,
            stmt.stop - start,
        )


@dataclass(frozen=True)
class Directive:
    """A `-- sql-lsp: ignore[-file] [ids]` comment: where it is and what it silences."""

    start: int
    end: int
    file: bool
    rules: tuple[str, ...]  # empty: every rule
    own_line: bool  # nothing but whitespace before it on its line
    rules_start: int  # offset where the rule list begins (hover, edits)


@dataclass(frozen=True, slots=True)
class Change:
    """What edits changed in a text since a mark, in the current text's offsets: everything
    before `first` is as it was; from `last` on, the text is the old text shifted by `delta`;
    `breaks` says whether a line break was added or removed."""

    first: int
    last: int
    delta: int
    breaks: bool

    def then(self, start: int, end: int, length: int, breaks: bool) -> Change:
        """This change followed by replacing [start, end) with `length` characters."""
        delta = length - (end - start)
        new_end = start + length
        # the changed region so far ends before this edit's end (or nothing changed yet): it
        # now ends where the new text does; else its end moves with the text after the edit
        last = new_end if self.last < end else max(self.last + delta, new_end)
        return Change(min(self.first, start), last, self.delta + delta, self.breaks or breaks)


class Document:
    """A SQL text with its statements. Immutable: an edit makes a new Document."""

    def __init__(
        self,
        uri: str,
        text: str,
        version: int | None = None,
        dialect: str = "postgres",
        statements: list[Statement] | None = None,
        lines: LineIndex | None = None,
        *,
        lazy: bool = False,
    ) -> None:
        self.uri = uri
        self.text = text
        self.version = version
        self.dialect = dialect
        self.statements = (
            statements if statements is not None else build_statements(text, dialect, lazy=lazy)
        )
        self._lines = lines
        self._catalog_statements: list[Statement] | None = None
        self._directives: list[Directive] | None = None
        self._issues: int | None = None  # how many statements have a lexical issue
        # edits since the document was last analysed (see `settle`): statements added, removed
        self.base: Document | None = None
        self.added: list[Statement] = []
        self.removed: list[Statement] = []
        # what changed since `mark` was last called: None (unknown: everything) or a Change
        self.change: Change | None = None
        # what changed since `settle` was last called (None: nothing, or not an edit)
        self.edited: Change | None = None

    def mark(self) -> None:
        """Start tracking changes from this text (see `change`)."""
        self.change = Change(len(self.text) + 1, -1, 0, False)

    @property
    def lines(self) -> LineIndex:
        if self._lines is None:
            self._lines = LineIndex(self.text)
        return self._lines

    @property
    def newline(self) -> str:
        """The line break of the document (its first one; LF when it has none): what a fix
        that inserts lines uses."""
        lines = self.lines
        if len(lines) < 2:
            return "\n"
        end = lines.line_start(1)
        return "\r\n" if self.text[end - 2 : end] == "\r\n" else self.text[end - 1]

    def surroundings(self, stmt: Statement) -> Surroundings:
        """The lines `stmt` starts and stops on, for fixes that add or remove whole lines."""
        text, lines = self.text, self.lines
        start, stop = stmt.start, stmt.stop
        line_start = lines.line_start(lines.line_of(start))
        last = lines.line_of(stop)
        line_end = lines.line_end(last)
        next_line = lines.line_start(last + 1) if last + 1 < len(lines) else len(text)
        m = _SIGNIFICANT.search(text, stop, line_end)
        return Surroundings(
            line_start,
            _SIGNIFICANT.search(text, line_start, start) is None,
            line_end,
            next_line,
            m is None or text.startswith("--", m.start()),
            self.newline,
        )

    @property
    def issues(self) -> int:
        """How many statements have a lexical issue (an unterminated quote or comment)."""
        if self._issues is None:
            self._issues = sum(1 for s in self.statements if s._issue is not None)
        return self._issues

    @property
    def sql_statements(self) -> Iterable[Statement]:
        return (s for s in self.statements if s.kind == "sql")

    @property
    def catalog_statements(self) -> list[Statement]:
        """The statements that may change the catalog, in order (their `catalog_ordinal`)."""
        if self._catalog_statements is None:
            out = []
            for s in self.statements:
                if s.kind == "sql" and is_catalog_statement(s.text):
                    s.catalog_ordinal = len(out)
                    out.append(s)
                else:
                    s.catalog_ordinal = -1
            self._catalog_statements = out
        return self._catalog_statements

    def edit(self, start: int, end: int, new_text: str, version: int | None = None) -> Document:
        """A new Document with [start, end) replaced by `new_text`.

        Only the statements around the edit are split and parsed again; the ones after it are
        reused, shifted in place (this Document must not be used afterwards).
        """
        text = "".join((self.text[:start], new_text, self.text[end:]))  # one copy fewer than +
        delta = len(new_text) - (end - start)
        old = self.statements
        lines = self._lines.edited(text, start, end, delta) if self._lines is not None else None
        if self.dialect != "postgres" or not old:
            return Document(self.uri, text, version, self.dialect, lines=lines)
        first = bisect_left(old, start, key=lambda s: s.stop)  # first statement touched or after
        keep = first - 1
        # an unterminated quote or comment looked for its end through the whole rest of the text
        broken = (
            next((i for i in range(first) if old[i]._issue is not None), None)
            if self.issues
            else None
        )
        if broken is not None:
            keep = broken - 1
        # step back over COPY data (and its COPY, even when it has no data yet), over statements
        # with no semicolon and over psql meta-commands (they run to the end of their line),
        # which text after them can still extend
        while keep >= 0 and (
            old[keep].kind in ("copydata", "psql")
            or (keep + 1 < len(old) and old[keep + 1].kind == "copydata")
            or (old[keep].kind == "sql" and old[keep].semicolon < 0)
            or copies_from_stdin(old[keep].text)
        ):
            keep -= 1
        resume = old[keep].stop if keep >= 0 else 0
        new_end = start + len(new_text)
        middle: list[Statement] = []
        tail: list[Statement] = []
        for span in split_from(text, resume, self.dialect):
            if span.start >= new_end:
                j = bisect_left(old, span.start - delta, key=lambda s: s.start)
                if j < len(old) and j >= first and old[j].same_span(span, delta):
                    tail = old[j:]
                    break
            body = text[span.start : span.end]
            parsed = parse(body, self.dialect) if span.kind == "sql" else None
            middle.append(Statement(span, body, parsed, 0))
        if delta:
            for s in tail:  # Statement.shift, inlined: this loop runs over most of a big file
                s.start += delta
        statements = old[: keep + 1] + middle + tail
        removed = old[keep + 1 : len(old) - len(tail)]
        # the tail keeps its indexes when as many statements came in as went out
        renumber_to = keep + 1 + len(middle) if len(middle) == len(removed) else len(statements)
        for i in range(keep + 1, renumber_to):
            statements[i].index = i
        doc = Document(self.uri, text, version, self.dialect, statements, lines)
        if self._issues is not None:
            doc._issues = (
                self._issues
                - sum(1 for s in removed if s._issue is not None)
                + sum(1 for s in middle if s._issue is not None)
            )
        if self._directives == [] and _DIRECTIVE_MARK not in _lines_around(text, start, new_end):
            # there was no directive, and none is on the lines the edit touched (a directive is
            # one line: `--`, blanks and the mark, which the edit may have joined)
            doc._directives = []
        if self.change is not None:
            breaks = (
                _has_break(self.text, start, end)
                or _has_break(new_text, 0, len(new_text))
                or text[start - 1 : start] == "\r"
                or text[new_end : new_end + 1] == "\n"
            )
            if start and text[start - 1] == "\r":  # the CR's line break may change: an offset
                # right after it (the end of a finding) can move to the CR's line, or off it
                doc.change = self.change.then(start - 1, end, len(new_text) + 1, breaks)
            else:
                doc.change = self.change.then(start, end, len(new_text), breaks)
        since = self.edited or Change(len(self.text) + 1, -1, 0, False)
        doc.edited = since.then(start, end, len(new_text), False)
        doc.base = self.base if self.base is not None else self
        doc.added = self.added + middle
        doc.removed = self.removed + removed
        if (
            self._catalog_statements is not None
            and not any(s.catalog_ordinal >= 0 for s in removed)
            and not any(s.kind == "sql" and is_catalog_statement(s.text) for s in middle)
        ):
            doc._catalog_statements = self._catalog_statements  # same objects, same order
        return doc

    def settle(self) -> None:
        """Forget the edits since the last analysis (the analysis has seen them)."""
        self.base = None
        self.added = []
        self.removed = []
        self.edited = None

    def statement_at(self, offset: int) -> Statement | None:
        """The statement containing `offset` (its span, or its terminating semicolon)."""
        i = bisect_right(self.statements, offset, key=lambda s: s.start) - 1
        if i < 0:
            return None
        s = self.statements[i]
        return s if offset <= s.stop else None

    def directives(self) -> list[Directive]:
        if self._directives is None:
            self._directives = find_directives(self.text)
        return self._directives


def build_statements(
    text: str, dialect: str = "postgres", *, lazy: bool = False
) -> list[Statement]:
    """The statements of `text`, parsed now, or (`lazy`) each when its parse is first read."""
    out = []
    unparsed = Unparsed(dialect) if lazy else None
    for i, span in enumerate(split(text, dialect)):
        body = text[span.start : span.end]
        if span.kind != "sql":
            parsed = None
        elif unparsed is not None:
            parsed = unparsed
        else:
            parsed = parse(body, dialect)
        out.append(Statement(span, body, parsed, i))
    return out


_DIRECTIVE_MARK = "sql-lsp:"


def _lines_around(text: str, start: int, end: int) -> str:
    """The lines of `text` that [start, end) touches, without their line breaks."""
    first = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    last = len(text)
    for brk in ("\n", "\r"):
        at = text.find(brk, end)
        if 0 <= at < last:
            last = at
    return text[first:last]


_DIRECTIVE = re.compile(r"--[ \t]*sql-lsp:[ \t]*(ignore-file|ignore)\b([^\r\n]*)")
_RULE_LIST = re.compile(r"[ \t]*([A-Za-z0-9_-]+(?:[ \t]*,[ \t]*[A-Za-z0-9_-]+)*)?")


def find_directives(text: str) -> list[Directive]:
    """Every `-- sql-lsp: ignore …` / `-- sql-lsp: ignore-file …` comment of `text`."""
    out: list[Directive] = []
    if _DIRECTIVE_MARK not in text:
        return out
    for m in _DIRECTIVE.finditer(text):
        rest_start = m.start(2)
        lm = _RULE_LIST.match(text, rest_start)
        ids: tuple[str, ...] = ()
        if lm and lm.group(1):
            ids = tuple(p.strip() for p in lm.group(1).split(","))
        line_start = max(text.rfind("\n", 0, m.start()), text.rfind("\r", 0, m.start())) + 1
        own = not text[line_start : m.start()].strip()
        out.append(
            Directive(
                start=m.start(),
                end=m.end(),
                file=m.group(1) == "ignore-file",
                rules=ids,
                own_line=own,
                rules_start=(lm.start(1) if lm and lm.group(1) else rest_start),
            )
        )
    return out
