"""Differential fuzzing of incremental state: random edits, each compared with a fresh open.

`Edits` produces the edits a hostile or careless editor would send: line breaks of every kind
(LF, CRLF, a lone CR, CR next to LF), NUL, lone surrogates (as a UTF-16 client sends them:
JSON escapes), astral characters (emoji: 2 UTF-16 units, 4 UTF-8 bytes), DDL (CREATE TABLE /
INDEX / REFERENCES) and statements duplicated from the text itself, deletions across statement
boundaries, edits inside quotes, dollar bodies and comments, several changes in one
`didChange`, typing character by character, and undo.

`CoreRun` drives the core the way the server does (`convert.change_offsets`, then
`Project.edit_document`, then lint and `DiagnosticCache` per position encoding) and compares
every published diagnostic list with the one a brand-new `Project` publishes for the same text.
The positions of both are also checked against `Reference`, a line index written here
independently of the server's.

Used by tests/lsp/test_fuzz.py (a short, seeded run) and scripts/fuzz (the long one).
"""

from __future__ import annotations

import json
import random
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as T

from sql_lsp.lsp import convert
from sql_lsp.project import Project

ENCODINGS = ("utf-8", "utf-16", "utf-32")
URI = "file:///fuzz/q.sql"
SCHEMA_URI = "file:///fuzz/0_schema.sql"

SCHEMA = """CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    name text
);
CREATE INDEX users_email_idx ON users (email);
"""

# The texts a run starts from (each run picks one); every construct the splitter knows.
SEEDS = [
    """CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
SELECT * FROM users WHERE lower(email) = 'a;b';
-- sql-lsp: ignore select-star
SELECT * FROM orders;
CREATE TABLE t9 (a int REFERENCES users(id));
""",
    "SELECT 1;\rSELECT * FROM users;\r\nSELECT * FROM users WHERE lower(email) = 'é🙂';\n",
    """CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; SELECT 2 $body$;\r
/* a comment; /* nested; */ still */ SELECT * FROM users;\r
SELECT E'it\\'s;', "we;ird" FROM users WHERE lower(name) = $1;\r
\\set x 1\r
CREATE TABLE items (id int PRIMARY KEY, user_id int REFERENCES users (id));\r
CREATE INDEX ON items (user_id);\r
""",
    """COPY users (id, email) FROM stdin;
1\tsemi;colon's
\\.
SELECT * FROM users;
CREATE TABLE a (x int REFERENCES users(id)); CREATE TABLE b (y int REFERENCES users(id));
SELECT 'unterminated FROM users;
SELECT * FROM users WHERE lower(email) = 'x';
""",
    "",
]

PIECES = [
    "\r",
    "\n",
    "\r\n",
    "\r\r\n",
    "\n\r",
    ";",
    "; ",
    " ",
    "x",
    "é",
    "🙂",
    "𝄞x",
    "\x00",
    "\ud83d",  # a lone high surrogate, as "\\ud83d" in JSON
    "\ude42",  # a lone low surrogate
    "\u2028",
    "\x0c",
    "'",
    "''",
    '"',
    "$$",
    "$body$",
    "$1",
    "E'\\'",
    "\\",
    "\\set y 2\n",
    "/*",
    "*/",
    "--",
    "-- c;\n",
    "\n-- name: q\n",  # a query-name comment ends the query before it
    "-- :name q :?\n",
    "@extschema@.",
    "$😀$",
    "(",
    ")",
    ",",
    "SELECT ",
    "*",
    " FROM users",
    " WHERE lower(email) = 'q'",
    "users",
    "REFERENCES users(id)",
    "🙂 FROM users;",
]

DDL = [
    "CREATE TABLE t9 (a int REFERENCES users(id));",
    "CREATE TABLE t9 (a int REFERENCES users(id), b int);",
    "CREATE INDEX ON t9 (a);",
    "CREATE INDEX t9_a_idx ON t9 (a);",
    "CREATE UNIQUE INDEX users_email_key ON users (email);",
    "CREATE INDEX users_email_idx2 ON users (email);",
    "CREATE INDEX users_lower_email_idx ON users (lower(email));",
    "DROP INDEX users_email_idx;",
    "DROP TABLE t9;",
    "ALTER TABLE t9 ADD CONSTRAINT t9_b_fk FOREIGN KEY (b) REFERENCES users (id);",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
    'CREATE TABLE "T🙂" (id int REFERENCES users(id));',
    "SET search_path = app, public;",
    "SELECT * FROM t9 WHERE lower(a::text) = 'x';",
]

_BREAK = re.compile(r"\r\n|\r|\n")
_INTERESTING = re.compile(r"['\"$;\\\r\n]|--|/\*|\*/")


def join_surrogates(text: str) -> str:
    """What a JSON decoder makes of `text` sent as JSON escapes: adjacent halves of a surrogate
    pair become one character."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def units(s: str, encoding: str) -> int:
    """Length of `s` in code units of an LSP position encoding (a lone surrogate: 3 bytes in
    UTF-8, one unit in UTF-16)."""
    if encoding == "utf-32":
        return len(s)
    if encoding == "utf-16":
        return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)
    return len(s.encode("utf-8", "surrogatepass"))


class Reference:
    """Line starts and LSP positions of a text, computed here (not with the server's code)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in _BREAK.finditer(text))]

    def line_end(self, line: int) -> int:
        if line + 1 >= len(self.starts):
            return len(self.text)
        end = self.starts[line + 1]
        return end - (2 if self.text[end - 2 : end] == "\r\n" else 1)

    def position(self, offset: int, encoding: str) -> tuple[int, int]:
        text = self.text
        if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
            offset -= 1  # inside a CRLF: the end of the line
        line = bisect_right(self.starts, offset) - 1
        return line, units(text[self.starts[line] : offset], encoding)

    def line_units(self, line: int, encoding: str) -> int:
        return units(self.text[self.starts[line] : self.line_end(line)], encoding)

    def range(self, start: int, end: int, encoding: str) -> T.Range:
        sl, sc = self.position(start, encoding)
        el, ec = self.position(end, encoding)
        return T.Range(
            start=T.Position(line=sl, character=sc), end=T.Position(line=el, character=ec)
        )


@dataclass
class Change:
    """One content change: [start, end) of the text before it, replaced by `text`."""

    start: int
    end: int
    text: str


@dataclass
class Edits:
    """A seeded stream of `didChange` batches over a text it keeps in step (`text`)."""

    rng: random.Random
    text: str
    max_len: int = 2500
    typing: list[tuple[int, str]] = field(default_factory=list)  # (offset, rest to type)
    undo: list[list[Change]] = field(default_factory=list)

    def _offset(self, near: str | None = None) -> int:
        text, rng = self.text, self.rng
        n = len(text)
        choice = rng.random()
        if n and choice < 0.35:
            hits = [m.start() for m in _INTERESTING.finditer(text)]
            at = rng.choice(hits) + rng.randint(-2, 2) if hits else rng.randint(0, n)
        elif n and choice < 0.5:
            at = n if rng.random() < 0.5 else 0
        else:
            at = rng.randint(0, n)
        at = max(0, min(n, at))
        if 0 < at < n and text[at - 1] == "\r" and text[at] == "\n":
            at -= 1  # a client cannot put a position between CR and LF
        return at

    def _statement_bounds(self) -> list[int]:
        return [0, *(m.end() for m in re.finditer(r";[ \t]*(?:\r\n|\r|\n)?", self.text))]

    def _one(self) -> Change:
        rng, text = self.rng, self.text
        kind = rng.random()
        too_long = len(text) > self.max_len
        if too_long or kind < 0.22:  # delete: a few characters, or across statements
            a = self._offset()
            if rng.random() < 0.4:
                bounds = self._statement_bounds()
                b = rng.choice(bounds)
                if too_long:
                    b = min(len(text), a + rng.randint(50, 600))
            else:
                b = a + rng.randint(1, 6)
            a, b = sorted((a, max(0, min(len(text), b))))
            b = self._fix_end(b)
            return Change(a, b, "")
        if kind < 0.55:  # insert a piece
            a = self._offset()
            return Change(a, a, rng.choice(PIECES))
        if kind < 0.68:  # replace a few characters with a piece
            a = self._offset()
            b = self._fix_end(min(len(text), a + rng.randint(1, 4)))
            return Change(a, b, rng.choice(PIECES))
        if kind < 0.8:  # duplicate a statement (or any run of statements) of the text
            bounds = self._statement_bounds()
            if len(bounds) > 1:
                i = rng.randrange(len(bounds) - 1)
                j = min(len(bounds) - 1, i + rng.randint(1, 2))
                piece = text[bounds[i] : bounds[j]]
                at = rng.choice([bounds[j], len(text), rng.choice(bounds)])
                return Change(at, at, piece)
        if kind < 0.9:  # a DDL statement at a statement boundary, with a line break of any kind
            at = rng.choice(self._statement_bounds())
            brk = rng.choice(["\n", "\r\n", "\r", " "])
            return Change(at, at, rng.choice(DDL) + brk)
        # start typing a statement character by character (over the next batches)
        at = self._offset()
        self.typing.append((at, rng.choice(DDL + PIECES)))
        return self._type()

    def _type(self) -> Change:
        at, rest = self.typing.pop()
        ch, rest = rest[0], rest[1:]
        if rest:
            self.typing.append((at + len(ch), rest))
        return Change(at, at, ch)

    def _fix_end(self, b: int) -> int:
        text = self.text
        if 0 < b < len(text) and text[b - 1] == "\r" and text[b] == "\n":
            b += 1  # delete the whole CRLF
        return b

    def apply(self, change: Change) -> None:
        self.text = join_surrogates(
            self.text[: change.start] + change.text + self.text[change.end :]
        )

    def batch(self) -> list[Change]:
        """The changes of the next `didChange`, each in the offsets of the text the previous one
        left (and applied to `text`)."""
        rng = self.rng
        if self.typing and rng.random() < 0.85:
            changes = [self._type()]
        elif self.undo and rng.random() < 0.08:
            changes = self.undo.pop()
        else:
            changes = [self._one() for _ in range(1 if rng.random() < 0.85 else rng.randint(2, 4))]
        # a change at a stale offset (the text moved under a pending typing run) is clamped
        inverse: list[Change] = []
        exact = True
        for c in changes:
            c.start = max(0, min(c.start, len(self.text)))
            c.end = max(c.start, min(c.end, len(self.text)))
            if 0 < c.start < len(self.text) and self.text[c.start - 1 : c.start + 1] == "\r\n":
                c.start -= 1
            if 0 < c.end < len(self.text) and self.text[c.end - 1 : c.end + 1] == "\r\n":
                c.end += 1
            before = self.text
            removed = before[c.start : c.end]
            self.apply(c)
            exact = exact and len(self.text) == len(before) - len(removed) + len(c.text)
            inverse.insert(0, Change(c.start, c.start + len(c.text), removed))
        if exact and rng.random() < 0.5:
            self.undo.append(inverse)
            del self.undo[:-20]
        return changes


def finding_key(f: Any) -> tuple:
    fixes = tuple(
        (fx.title, fx.safety, tuple((e.start, e.end, e.text) for e in fx.edits)) for fx in f.fixes
    )
    return (f.rule, f.start, f.end, f.severity, f.message, fixes)


class Divergence(AssertionError):
    """Incremental state differs from a fresh open of the same text."""


def _diagnostics(params_json: str) -> list[dict]:
    diags = json.loads(params_json)["diagnostics"]
    for d in diags:
        d["data"]["version"] = None
    return diags


class CoreRun:
    """One document edited incrementally in a Project, published in every position encoding,
    and compared with a fresh Project after each batch."""

    def __init__(self, seed: int, text: str | None = None, schema: str = SCHEMA) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        start = join_surrogates(text if text is not None else self.rng.choice(SEEDS))
        self.edits = Edits(random.Random(self.rng.random()), start)
        self.schema = schema
        self.project = self._project(start)
        self.caches = {enc: convert.DiagnosticCache() for enc in ENCODINGS}
        self.version = 1
        self.count = 0  # content changes applied
        self.history: list[list[Change]] = []

    def _project(self, text: str) -> Project:
        project = Project()
        if self.schema:
            project.set_file(SCHEMA_URI, self.schema)
        project.open_document(URI, text, 1)
        return project

    def fail(self, what: str) -> None:
        first = self.history[0][0] if self.history else self.edits.text
        batches = [changes for _, changes in self.history]
        raise Divergence(
            f"seed {self.seed}, after {self.count} changes: {what}\n"
            f"text: {self.edits.text!r}\n"
            f"replay: CoreRun.replay({first!r}, {batches!r})"
        )

    @classmethod
    def replay(cls, text: str, batches: list[list[Change]]) -> None:
        """Apply `batches` to `text` as a run would, checking after each one."""
        run = cls(0, text)
        for changes in batches:
            run.edits.batch = lambda changes=changes: cls._apply_all(run.edits, changes)
            run.rng = random.Random(1)  # no pauses, no extra lint
            run.typing_pause = lambda: False
            run.step()

    @staticmethod
    def _apply_all(edits: Edits, changes: list[Change]) -> list[Change]:
        for c in changes:
            edits.apply(c)
        return changes

    def step(self) -> None:
        before = self.project.open[URI]
        model_before = self.edits.text
        if before.text != model_before:
            self.fail("the document's text is not the client's")
        changes = [Change(c.start, c.end, c.text) for c in self.edits.batch()]
        self.history.append((model_before, changes))
        del self.history[:-4]
        self.version += 1
        text = model_before
        for c in changes:
            doc = self.project.open[URI]
            ref = Reference(text)
            offsets = set()
            for enc in ENCODINGS:
                rng = ref.range(c.start, c.end, enc)
                offsets.add(convert.change_offsets(doc, rng, c.text, enc))
            if len(offsets) != 1:
                self.fail(f"the encodings read {c!r} differently: {offsets}")
            ((start, end, new),) = offsets
            self.project.edit_document(URI, [(start, end, new)], self.version)
            text = join_surrogates(text[: c.start] + c.text + text[c.end :])
            self.count += 1
        if self.rng.random() < 0.1:  # a code action or hover in between: lint, no publish
            self.project.lint(URI)
        if not self.typing_pause():
            self.check()

    def typing_pause(self) -> bool:
        """True when the next batch comes within the debounce delay (no publish in between)."""
        return self.rng.random() < 0.2

    def check(self) -> None:
        doc = self.project.open[URI]
        text = self.edits.text
        if doc.text != text:
            self.fail("the document's text is not the client's")
        fresh = self._project(text)
        fresh_doc = fresh.open[URI]
        spans = [(s.kind, s.start, s.end, s.semicolon, s.issue) for s in doc.statements]
        fresh_spans = [(s.kind, s.start, s.end, s.semicolon, s.issue) for s in fresh_doc.statements]
        if spans != fresh_spans:
            self.fail(f"statements differ:\n{spans}\n{fresh_spans}")
        if doc.lines.starts != fresh_doc.lines.starts:
            self.fail(f"line starts differ:\n{doc.lines.starts}\n{fresh_doc.lines.starts}")
        findings = self.project.lint(URI)
        fresh_findings = fresh.lint(URI)
        got = [finding_key(f) for f in findings]
        want = [finding_key(f) for f in fresh_findings]
        if got != want:
            self.fail(f"findings differ:\nincremental {got}\nfresh       {want}")
        ref = Reference(text)
        change = doc.change
        for enc in ENCODINGS:
            doc.change = change  # each encoding's cache sees the same edits since its last publish
            published = _diagnostics(self.caches[enc].publish_params(URI, doc, findings, enc))
            expected = _diagnostics(
                convert.DiagnosticCache().publish_params(URI, fresh_doc, fresh_findings, enc)
            )
            if published != expected:
                self.fail(f"{enc} diagnostics differ:\n{published}\n{expected}")
            for d, f in zip(expected, fresh_findings, strict=True):
                rng = ref.range(f.start, f.end, enc)
                want_range = {
                    "start": {"line": rng.start.line, "character": rng.start.character},
                    "end": {"line": rng.end.line, "character": rng.end.character},
                }
                if d["range"] != want_range:
                    self.fail(f"{enc} range of {f.rule} is {d['range']}, not {want_range}")
                for side in ("start", "end"):
                    p = d["range"][side]
                    if p["character"] > ref.line_units(p["line"], enc):
                        self.fail(f"{enc} {side} of {f.rule} past the end of its line: {p}")

    def run(self, changes: int) -> int:
        """Apply at least `changes` content changes; returns how many were applied."""
        while self.count < changes:
            self.step()
        self.check()
        return self.count


def fresh_diagnostics(
    text: str, encoding: str, uri: str = URI, schema_uri: str = SCHEMA_URI, schema: str = SCHEMA
) -> list[tuple]:
    """(code, range, severity, message) of each diagnostic a fresh open of `text` publishes."""
    project = Project()
    if schema:
        project.set_file(schema_uri, schema)
    project.open_document(uri, text, 1)
    params = convert.DiagnosticCache().publish_params(
        uri, project.open[uri], project.lint(uri), encoding
    )
    return [
        (d["code"], d["range"], d["severity"], d["message"])
        for d in json.loads(params)["diagnostics"]
    ]


def runs(seed: int, total: int, per_run: int = 200) -> Iterator[CoreRun]:
    """Core runs of `per_run` changes each, `total` changes in all, seeded from `seed`."""
    rng = random.Random(seed)
    done = 0
    while done < total:
        run = CoreRun(rng.randrange(2**32))
        done += run.run(min(per_run, total - done))
        yield run
