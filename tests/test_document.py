"""Incremental edits must give exactly what a fresh split and parse of the new text gives."""

from __future__ import annotations

import random

import pytest

from sql_lsp.document import Document, LineIndex

SCRIPT = """\\set ON_ERROR_STOP on
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);
-- a comment; with a semicolon
COPY users (id, email) FROM stdin;
1\tada@example.com
2\tbob@example.com
\\.
SELECT 'it''s; fine', E'esc\\'d;', $$ body; $$ FROM users WHERE id = $1;
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END $fn$;
/* block /* nested; */ comment */ SELECT 2;\r
SELECT 3
"""


def _shape(doc: Document) -> list[tuple]:
    return [(s.kind, s.start, s.end, s.semicolon, s.issue, s.text, s.index) for s in doc.statements]


def _check(before: Document, start: int, end: int, new: str) -> Document:
    expected = Document(before.uri, before.text[:start] + new + before.text[end:])
    after = before.edit(start, end, new)
    assert after.text == expected.text
    assert _shape(after) == _shape(expected)
    assert after.lines.starts == LineIndex(after.text).starts
    return after


@pytest.mark.parametrize(
    ("needle", "replacement"),
    [
        ("users WHERE", "users  WHERE"),  # inside a statement
        ("; with", " with"),  # inside a comment
        ("E'esc", "'esc"),  # escapes change meaning
        ("2\tbob", "2\tbo;b"),  # inside COPY data
        ("\\.", "\\,"),  # the end of COPY data disappears
        ("UNIQUE);", "UNIQUE)"),  # a semicolon disappears: two statements merge
        ("SELECT 3", "SELECT 3;\nSELECT 'x"),  # an unterminated string at the end
        ("$fn$ BEGIN", "$f$ BEGIN"),  # a dollar quote breaks
        ("\r\n", "\n"),
    ],
)
def test_edit_matches_fresh_parse(needle: str, replacement: str) -> None:
    doc = Document("file:///a.sql", SCRIPT)
    doc.lines  # noqa: B018 - make the line index incremental too
    at = SCRIPT.index(needle)
    _check(doc, at, at + len(needle), replacement)


def test_random_edits() -> None:
    rng = random.Random(7)
    doc = Document("file:///a.sql", SCRIPT * 3)
    doc.lines  # noqa: B018
    alphabet = ["a", ";", "'", "$", "$$", "\n", "--", "/*", "*/", "\\", "E'", " ", "SELECT 1;"]
    for _ in range(300):
        n = len(doc.text)
        start = rng.randrange(n + 1)
        end = min(n, start + rng.choice([0, 0, 1, 2, 5]))
        doc = _check(doc, start, end, rng.choice(alphabet) if rng.random() < 0.8 else "")


def test_positions_in_every_encoding() -> None:
    text = "SELECT 'é😀' FROM t;\nSELECT 1;"
    lines = LineIndex(text)
    star = text.index("FROM")
    assert lines.position(star, "utf-32") == (0, 12)
    assert lines.position(star, "utf-16") == (0, 13)
    assert lines.position(star, "utf-8") == (0, 16)
    for enc in ("utf-8", "utf-16", "utf-32"):
        assert lines.offset(*lines.position(star, enc), enc) == star
    assert lines.position(text.index("SELECT 1"), "utf-16") == (1, 0)
    assert LineIndex("a\rb\r\nc\x0cd\u2028e").starts == [0, 2, 5]


def test_line_index_shifts_agree_with_a_fresh_index() -> None:
    rng = random.Random(11)
    text = "".join(f"SELECT {i}, 'é🙂' FROM t{i};\n" for i in range(300))
    lines = LineIndex(text)
    for _ in range(400):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.choice([0, 0, 1, 2]))
        new = rng.choice(["x", "", "yy", " ", "\n", "a\r\nb"])
        text2 = text[:start] + new + text[end:]
        lines = lines.edited(text2, start, end, len(new) - (end - start))
        text = text2
        fresh = LineIndex(text)
        assert lines.starts == fresh.starts
        for offset in (0, start, len(text) // 2, len(text), rng.randrange(len(text) + 1)):
            assert lines.line_of(offset) == fresh.line_of(offset)
            for enc in ("utf-8", "utf-16", "utf-32"):
                assert lines.position(offset, enc) == fresh.position(offset, enc)
                line, char = fresh.position(offset, enc)
                assert lines.offset(line, char, enc) == fresh.offset(line, char, enc)
