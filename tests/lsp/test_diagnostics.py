"""Diagnostics: exact values on open, after incremental edits, and the debounce."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsp_helpers import (
    PROFILES,
    change,
    diag,
    encoding,
    mark,
    open_doc,
    pos,
    published,
    publishes_for,
    range_of,
    rng,
    span,
    start,
    uri,
)
from lsprotocol import types as T
from pytest_lsp import LanguageClient

QUERY = "SELECT * FROM users WHERE lower(email) = 'x';\nSELECT id FROM orders;\n"
STAR_USERS = "* selects every column of users; list the columns the query needs"
STAR_ORDERS = "* selects every column of orders; list the columns the query needs"
LOWER_EMAIL = (
    "users.email is indexed (unique constraint users_email_key), "
    "but lower(email) cannot use that index"
)


def expected(text: str, enc: str, version: int) -> list[T.Diagnostic]:
    """What a user must see for `text`: select-star on every `SELECT *` of users or orders,
    function-on-indexed-column on `lower(email)`."""
    out = []
    at = 0
    while (at := text.find("SELECT * FROM ", at)) >= 0:
        table = text[at + 14 : at + 20]
        message = STAR_USERS if table.startswith("users") else STAR_ORDERS
        out.append(diag(text, at + 7, at + 8, "select-star", message, enc, version, fix="safe"))
        at += 1
    if "lower(email)" in text:
        s, e = span(text, "lower(email)")
        out.append(
            diag(text, s, e, "function-on-indexed-column", LOWER_EMAIL, enc, version, fix="unsafe")
        )
    return sort(out)


def sort(diags) -> list[T.Diagnostic]:
    return sorted(diags, key=lambda d: (d.range.start.line, d.range.start.character, d.code))


@pytest.mark.parametrize("caps", PROFILES)
async def test_open_publishes_exact_diagnostics(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    p = await open_doc(client, q, QUERY)
    assert p.uri == uri(q)
    assert p.version == 1
    enc = encoding(client)
    assert enc == ("utf-16" if caps == "visual-studio-code" else "utf-8")
    # literal values, so a wrong position codec cannot hide behind the helper
    assert sort(p.diagnostics) == [
        T.Diagnostic(
            range=T.Range(start=T.Position(0, 7), end=T.Position(0, 8)),
            severity=T.DiagnosticSeverity.Warning,
            code="select-star",
            code_description=T.CodeDescription(
                href="https://github.com/sql-lsp/sql-lsp/blob/main/docs/rules/select-star.md"
            ),
            source="sql-lsp",
            message=STAR_USERS,
            data={"fix": "safe", "version": 1},
        ),
        T.Diagnostic(
            range=T.Range(start=T.Position(0, 26), end=T.Position(0, 38)),
            severity=T.DiagnosticSeverity.Warning,
            code="function-on-indexed-column",
            code_description=T.CodeDescription(
                href="https://github.com/sql-lsp/sql-lsp/blob/main/docs/rules/function-on-indexed-column.md"
            ),
            source="sql-lsp",
            message=LOWER_EMAIL,
            data={"fix": "unsafe", "version": 1},
        ),
    ]


@pytest.mark.parametrize("caps", PROFILES)
async def test_syntax_error_is_an_error_on_its_statement(
    client: LanguageClient, project, caps
) -> None:
    await start(client, project, caps)
    text = "SELECT id FROM users;\nSELECT (1 + 2 FROM users;\nSELECT * FROM orders;\n"
    p = await open_doc(client, project / "q.sql", text)
    codes = sorted((d.code, d.severity, d.range.start.line) for d in p.diagnostics)
    # the broken statement gets its error; the statements around it are still checked
    assert codes == [
        ("select-star", T.DiagnosticSeverity.Warning, 2),
        ("syntax-error", T.DiagnosticSeverity.Error, 1),
    ]
    (err,) = [d for d in p.diagnostics if d.code == "syntax-error"]
    assert err.range.start.line == err.range.end.line == 1
    assert err.source == "sql-lsp"


@pytest.mark.parametrize("caps", PROFILES)
async def test_incremental_edits_keep_exact_ranges(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    text = QUERY
    p = await open_doc(client, q, text)
    enc = encoding(client)
    assert sort(p.diagnostics) == expected(text, enc, 1)

    # 2: insert a statement above: the old findings move down one line, unchanged otherwise
    inserted = "SELECT * FROM orders;\n"
    at = mark(client)
    change(client, u, 2, (rng(text, 0, 0, enc), inserted))
    text = inserted + text
    p = await published(client, u, 2, after=at)
    assert sort(p.diagnostics) == expected(text, enc, 2)
    assert [d.range for d in sort(p.diagnostics)][1:] == [
        T.Range(start=T.Position(1, 7), end=T.Position(1, 8)),
        T.Range(start=T.Position(1, 26), end=T.Position(1, 38)),
    ]

    # 3: delete it again
    at = mark(client)
    change(client, u, 3, (rng(text, 0, len(inserted), enc), ""))
    text = text[len(inserted) :]
    p = await published(client, u, 3, after=at)
    assert sort(p.diagnostics) == expected(text, enc, 3)

    # 4: edit inside a statement: lower(email) -> email silences the function finding
    s, e = span(text, "lower(email)")
    at = mark(client)
    change(client, u, 4, (rng(text, s, e, enc), "email"))
    text = text[:s] + "email" + text[e:]
    p = await published(client, u, 4, after=at)
    assert sort(p.diagnostics) == expected(text, enc, 4)
    assert [d.code for d in p.diagnostics] == ["select-star"]

    # 5: one notification, several changes, each relative to the text the previous one left
    s, e = span(text, "*")
    first = (rng(text, s, e, enc), "id, email")
    text = text[:s] + "id, email" + text[e:]
    tail = "\n\n-- later\nSELECT *\n  FROM orders;\n"
    second = (rng(text, len(text), len(text), enc), tail)
    text += tail
    s, e = span(text, "SELECT id FROM orders")
    third = (rng(text, s, s + len("SELECT id"), enc), "SELECT *")
    text = text[:s] + "SELECT *" + text[s + len("SELECT id") :]
    at = mark(client)
    change(client, u, 5, first, second, third)
    p = await published(client, u, 5, after=at)
    star2 = text.index("SELECT *\n  FROM") + 7
    assert sort(p.diagnostics) == sort(
        [
            diag(text, star2, star2 + 1, "select-star", STAR_ORDERS, enc, 5, fix="safe"),
            diag(text, s + 7, s + 8, "select-star", STAR_ORDERS, enc, 5, fix="safe"),
        ]
    )
    assert sorted(d.range.start for d in p.diagnostics) == [
        T.Position(1, 7),
        T.Position(5, 7),
    ]

    # 6: a statement moved down (a block of lines inserted inside the file, not at the top)
    block = "SELECT 1;\nSELECT 2;\n\n"
    at_line2 = text.index("\n", text.index("\n") + 1) + 1
    at = mark(client)
    change(client, u, 6, (rng(text, at_line2, at_line2, enc), block))
    text = text[:at_line2] + block + text[at_line2:]
    p = await published(client, u, 6, after=at)
    assert sorted(d.range.start for d in p.diagnostics) == [
        T.Position(1, 7),
        T.Position(8, 7),
    ]
    assert [d.range for d in sort(p.diagnostics)] == [
        T.Range(start=T.Position(1, 7), end=T.Position(1, 8)),
        T.Range(start=T.Position(8, 7), end=T.Position(8, 8)),
    ]
    assert [d.range.start for d in sort(p.diagnostics)] == [
        pos(text, i, enc) for i in (text.index("*"), text.rindex("*"))
    ]
    assert all(d.data == {"fix": "safe", "version": 6} for d in p.diagnostics)

    # 7: whole-document replacement
    at = mark(client)
    change(client, u, 7, "SELECT  *  FROM users;")
    p = await published(client, u, 7, after=at)
    assert p.diagnostics == [
        diag("SELECT  *  FROM users;", 8, 9, "select-star", STAR_USERS, enc, 7, fix="safe")
    ]


async def test_debounce_waits_but_open_and_save_publish_at_once(
    client: LanguageClient, project
) -> None:
    await start(client, project, diagnostics={"debounceMs": 1500})
    q = project / "q.sql"
    u = uri(q)
    # `initialize` is answered before the server imports its handlers: time the open from when
    # the server answers a request of its own
    await client.text_document_document_symbol_async(
        T.DocumentSymbolParams(text_document=T.TextDocumentIdentifier(uri=u))
    )
    began = time.monotonic()
    p = await open_doc(client, q, QUERY)  # open: at once, whatever the debounce
    assert time.monotonic() - began < 1.4
    assert len(p.diagnostics) == 2

    # typing: nothing until the user pauses for debounceMs
    at = mark(client)
    text = QUERY
    s, e = span(text, "lower(email)")
    change(client, u, 2, (range_of(text, "lower(email)"), "email"))
    await asyncio.sleep(0.5)
    assert publishes_for(client, u, at) == []

    # save: publishes at once (long before the debounce ends), for the saved version
    saved = time.monotonic()
    client.text_document_did_save(
        T.DidSaveTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=u))
    )
    p = await published(client, u, 2, after=at)
    assert time.monotonic() - saved < 1.0
    assert [d.code for d in p.diagnostics] == ["select-star"]

    # several quick changes: one publish, for the last version only, after the pause
    text = text[:s] + "email" + text[e:]
    at = mark(client)
    typed = time.monotonic()
    change(client, u, 3, (range_of(text, "*"), "i"))
    text = text.replace("*", "i", 1)
    change(client, u, 4, (range_of(text, " FROM users"), "d FROM users"))
    p = await published(client, u, 4, after=at)
    assert time.monotonic() - typed >= 1.4
    assert list(p.diagnostics) == []
    assert [x.version for x in publishes_for(client, u, at)] == [4]


async def test_debounce_zero_publishes_every_change(client: LanguageClient, project) -> None:
    await start(client, project, diagnostics={"debounceMs": 0})
    q = project / "q.sql"
    u = uri(q)
    await open_doc(client, q, "SELECT 1;")
    at = mark(client)
    change(client, u, 2, (rng("SELECT 1;", 7, 8), "*"))
    change(client, u, 3, (rng("SELECT *;", 8, 8), " FROM users"))
    await published(client, u, 3, after=at)
    assert [x.version for x in publishes_for(client, u, at)] == [2, 3]
    assert [d.code for d in client.diagnostics[u]] == ["select-star"]


async def test_a_large_file_shows_its_first_lines_at_once_then_the_whole(
    client: LanguageClient, project
) -> None:
    """A first open of a file longer than 500 lines publishes the findings of its first 500
    lines, then those of the whole file (which include the rules about several statements)."""
    await start(client, project)
    lines = [f"SELECT * FROM users WHERE id = {i};\n" for i in range(700)]
    lines[10] = "DELETE FROM users; -- sql-lsp: ignore delete-without-where\n"
    text = "".join(lines)
    path = project / "big.sql"
    at = mark(client)
    first = await open_doc(client, path, text)
    whole = await published(client, uri(path), 1, after=at + 1, timeout=60)
    assert [p.version for p in publishes_for(client, uri(path), at)] == [1, 1]
    lines_with_star = [n for n in range(700) if n != 10]
    assert [(d.range.start.line, d.code) for d in whole.diagnostics] == [
        (n, code) for n in lines_with_star for code in ("repeated-query", "select-star")
    ]
    assert first.diagnostics == [
        d for d in whole.diagnostics if d.range.start.line < 500 and d.code == "select-star"
    ]
    assert len(first.diagnostics) == 499  # the first 500 lines but the suppressed DELETE
