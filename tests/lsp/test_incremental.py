"""Incremental state equals a fresh open: one regression test per divergence the differential
fuzzer (tests/lsp/fuzzing.py) found, each checked through the published JSON in every position
encoding, against exact positions and against a brand-new project given the same text."""

from __future__ import annotations

import json

import pytest
from fuzzing import ENCODINGS, Reference, join_surrogates

from sql_lsp.lsp import convert
from sql_lsp.project import Project

URI = "file:///w/q.sql"
SCHEMA = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"


def _project(text: str) -> Project:
    project = Project()
    project.set_file("file:///w/0_schema.sql", SCHEMA)
    project.open_document(URI, text, 1)
    return project


def _published(project: Project, enc: str, cache: convert.DiagnosticCache | None = None) -> list:
    doc = project.open[URI]
    findings = project.lint(URI)
    cache = cache or convert.DiagnosticCache()
    diags = json.loads(cache.publish_params(URI, doc, findings, enc))["diagnostics"]
    return [(d["code"], d["range"]) for d in diags]


def _range(sl: int, sc: int, el: int, ec: int) -> dict:
    return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}


def _edit_and_compare(text: str, edits: list[tuple[int, int, str]]) -> dict[str, list]:
    """Publish `text`, apply `edits` one by one and publish after each in every encoding (each
    encoding's cache reusing what it can), checking each publish against a fresh open of the
    same text; returns what each encoding published last."""
    project = _project(text)
    caches = {enc: convert.DiagnosticCache() for enc in ENCODINGS}
    for enc in ENCODINGS:
        _published(project, enc, caches[enc])
    out: dict[str, list] = {}
    for version, (start, end, new) in enumerate(edits, 2):
        # as the server reads a change: an LSP range (the same one in every encoding)
        doc, ref = project.open[URI], Reference(text)
        read = {convert.change_offsets(doc, ref.range(start, end, e), new, e) for e in ENCODINGS}
        assert len(read) == 1
        project.edit_document(URI, list(read), version)
        text = join_surrogates(text[:start] + new + text[end:])
        doc = project.open[URI]
        assert doc.text == text
        change = doc.change
        for enc in ENCODINGS:
            doc.change = change  # each cache sees the edits since its own last publish
            out[enc] = _published(project, enc, caches[enc])
            assert out[enc] == _published(_project(text), enc), (enc, version)
    return out


def test_lf_after_a_lone_cr_joins_its_line_break() -> None:
    # "\r" alone is a line break; a "\n" typed right after it makes one CRLF, not a new line
    text = "SELECT 1;\rSELECT * FROM users;\n"
    published = _edit_and_compare(text, [(10, 10, "\n")])
    for enc in ENCODINGS:
        assert published[enc] == [("select-star", _range(1, 7, 1, 8))]


def test_cr_before_a_lf_joins_its_line_break() -> None:
    text = "SELECT 1;\nSELECT * FROM users;\n"
    published = _edit_and_compare(text, [(9, 9, "\r"), (9, 11, "\r")])
    for enc in ENCODINGS:
        assert published[enc] == [("select-star", _range(1, 7, 1, 8))]


def test_a_duplicate_create_table_leaves_the_finding_on_the_first() -> None:
    # PostgreSQL keeps the first CREATE TABLE t9 (the copy fails: it already exists), so the
    # first copy's foreign key (and missing primary key) is the one reported, incrementally as
    # on a fresh open
    create = "CREATE TABLE t9 (a int REFERENCES users(id));\n"
    published = _edit_and_compare(create, [(len(create), len(create), create)])
    for enc in ENCODINGS:
        assert published[enc] == [
            ("missing-primary-key", _range(0, 13, 0, 15)),
            ("missing-fk-index", _range(0, 23, 0, 43)),
        ]
    # and deleting the copy keeps it there
    published = _edit_and_compare(create + create, [(len(create), 2 * len(create), "")])
    for enc in ENCODINGS:
        assert published[enc] == [
            ("missing-primary-key", _range(0, 13, 0, 15)),
            ("missing-fk-index", _range(0, 23, 0, 43)),
        ]


def test_surrogate_halves_sent_one_at_a_time_make_one_character() -> None:
    # a UTF-16 client may send an emoji as two changes, one JSON-escaped half each
    text = "SELECT '', * FROM users;\n"
    published = _edit_and_compare(text, [(8, 8, "\ud83d"), (9, 9, "\ude42")])
    assert published == {
        "utf-8": [("select-star", _range(0, 15, 0, 16))],
        "utf-16": [("select-star", _range(0, 13, 0, 14))],
        "utf-32": [("select-star", _range(0, 12, 0, 13))],
    }


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        # an unterminated string runs to the end of the text, over the CR of its CRLF
        ("SELECT 'abc\r\n", {"utf-8": (0, 11), "utf-16": (0, 11), "utf-32": (0, 11)}),
        (
            "SELECT 1;\r\nSELECT 'é🙂\r\nSELECT 2;\r\n",
            {"utf-8": (1, 14), "utf-16": (1, 11), "utf-32": (1, 10)},
        ),
        (
            "SELECT 1;\r\nSELECT * FROM users WHERE lower(email) = 'é\r\n",
            {"utf-8": (1, 44), "utf-16": (1, 43), "utf-32": (1, 43)},
        ),
    ],
)
def test_a_syntax_error_ends_at_or_before_the_end_of_its_line_with_crlf(
    text: str, ends: dict[str, tuple[int, int]]
) -> None:
    project = _project(text)
    ref = Reference(text)
    for enc in ENCODINGS:
        published = _published(project, enc)
        assert [code for code, _ in published] == ["syntax-error"]
        ((_, rng),) = published
        line, character = ends[enc]
        assert rng["end"] == {"line": line, "character": character}
        assert character == ref.line_units(line, enc)  # the end of that line, before its CR


def test_a_range_ending_after_a_cr_moves_when_a_lf_joins_it() -> None:
    # an unterminated string runs to the end of the text, right after a lone CR: its end is the
    # start of the next line, (2, 0); a LF typed there makes a CRLF, and the same offset is now
    # the end of the CR's line, (1, 9): the published range cannot be reused as it was
    text = "SELECT 1;\rSELECT 'x\r"
    assert _published(_project(text), "utf-16") == [("syntax-error", _range(1, 7, 2, 0))]
    published = _edit_and_compare(text, [(len(text), len(text), "\n")])
    for enc in ENCODINGS:
        assert published[enc] == [("syntax-error", _range(1, 7, 1, 9))]


def _spans(project: Project) -> list[tuple]:
    return [(s.kind, s.start, s.end) for s in project.open[URI].statements]


@pytest.mark.parametrize(
    ("text", "at", "typed"),
    [
        # a psql meta-command runs to the end of its line: text typed after it belongs to it
        ("SELECT 1;\n\\set x 1\nSELECT * FROM users;\n", 18, " 2; SELECT 3"),
        # a COPY FROM stdin without data yet: the next line typed is its data
        ("COPY users (id) FROM stdin;\n", 28, "1\n\\.\nSELECT * FROM users;\n"),
    ],
)
def test_text_typed_after_a_statement_that_runs_on_splits_as_a_fresh_open(
    text: str, at: int, typed: str
) -> None:
    project = _project(text)
    for i, ch in enumerate(typed):  # typed character by character
        project.edit_document(URI, [(at + i, at + i, ch)], i + 2)
        text = text[: at + i] + ch + text[at + i :]
        assert _spans(project) == _spans(_project(text)), repr(text)
    for enc in ENCODINGS:
        assert _published(project, enc) == _published(_project(text), enc)


@pytest.mark.parametrize(
    ("text", "edit"),
    [
        # a `-` typed before `- sql-lsp: ignore …` makes a directive far from the mark
        ("SELECT 1;\n- sql-lsp: ignore select-star\nSELECT * FROM users;\n", (10, 10, "-")),
        ("SELECT 1;\n-         sql-lsp: ignore select-star\nSELECT * FROM users;\n", (10, 10, "-")),
        # joining two lines makes one
        ("SELECT 1;\n--\nsql-lsp: ignore select-star\nSELECT * FROM users;\n", (12, 13, " ")),
    ],
)
def test_an_edit_that_makes_a_directive_is_seen(text: str, edit: tuple[int, int, str]) -> None:
    published = _edit_and_compare(text, [edit])
    assert published["utf-16"] == []  # the directive silences select-star
