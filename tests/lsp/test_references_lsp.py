"""References, document highlights, prepareRename and rename, across the workspace's files."""

from __future__ import annotations

import re

import pytest
from lsp_helpers import (
    PROFILES,
    SCHEMA,
    apply_edits,
    encoding,
    open_doc,
    pos,
    range_of,
    rng,
    start,
    uri,
)
from lsprotocol import types as T
from pytest_lsp import LanguageClient

QUERIES = (
    "CREATE INDEX users_email_lower_idx ON users (lower(email));\n"
    "SELECT u.email FROM users u WHERE u.email = 'a';\n"
    "SELECT email FROM orders o JOIN users ON users.id = o.user_id;\n"
    "UPDATE users SET email = 'b' WHERE id = 1;\n"
    "WITH recent AS (SELECT id, status FROM orders) SELECT r.id FROM recent r, recent;\n"
)
OTHER = 'SELECT Users.email FROM Users;\nSELECT * FROM "Users";\n'


def words(text: str, word: str) -> list[int]:
    """Where `word` starts as a whole word (not inside users_email_lower_idx)."""
    return [m.start() for m in re.finditer(rf"(?<![\w\"]){word}(?![\w\"])", text)]


def at(text: str, needle: str, nth: int = 0, inside: int = 1) -> int:
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    return i + inside


def _line_char(text: str, offset: int, enc: str) -> tuple[int, int]:
    p = pos(text, offset, enc)
    return p.line, p.character


async def setup(client, project, caps):
    await start(client, project, caps)
    q, o = project / "q.sql", project / "o.sql"
    await open_doc(client, q, QUERIES)
    await open_doc(client, o, OTHER)
    return uri(q), uri(o), uri(project / "schema.sql"), encoding(client)


def doc_id(u: str) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=u)


@pytest.mark.parametrize("caps", PROFILES)
async def test_references_of_a_column_across_files(client: LanguageClient, project, caps) -> None:
    q, o, schema, enc = await setup(client, project, caps)

    async def refs(text, u, offset, declaration=True):
        got = await client.text_document_references_async(
            T.ReferenceParams(
                text_document=doc_id(u),
                position=pos(text, offset, enc),
                context=T.ReferenceContext(include_declaration=declaration),
            )
        )
        return sorted((x.uri, x.range.start.line, x.range.start.character) for x in got or [])

    def locs(u, text, word):
        return [(u, *_line_char(text, i, enc)) for i in words(text, word)]

    # users.email: the DDL, the index, the queries (alias-aware), not orders' columns
    expected = sorted(
        locs(schema, SCHEMA, "email") + locs(q, QUERIES, "email") + locs(o, OTHER, "email")
    )
    assert len(expected) == 7
    assert await refs(QUERIES, q, at(QUERIES, "u.email", 1, 3)) == expected
    assert await refs(SCHEMA, schema, at(SCHEMA, "email")) == expected
    without = await refs(QUERIES, q, at(QUERIES, "u.email", 0, 3), declaration=False)
    assert without == [x for x in expected if x[0] != schema]

    # the table: unquoted names fold (Users = users), "Users" is another table
    tables = await refs(OTHER, o, at(OTHER, "Users"))
    assert tables == sorted(
        locs(schema, SCHEMA, "users") + locs(q, QUERIES, "users") + locs(o, OTHER, "Users")
    )
    assert (
        len(tables) == 3 + 5 + 2
    )  # CREATE TABLE, ON, REFERENCES; ON, FROM, JOIN, users.id, UPDATE

    # a keyword, a literal: nothing
    assert await refs(QUERIES, q, at(QUERIES, "SELECT")) == []


@pytest.mark.parametrize("caps", PROFILES)
async def test_highlight_cte_and_alias(client: LanguageClient, project, caps) -> None:
    q, _, _, enc = await setup(client, project, caps)

    async def highlights(offset):
        got = await client.text_document_document_highlight_async(
            T.DocumentHighlightParams(text_document=doc_id(q), position=pos(QUERIES, offset, enc))
        )
        return [(h.range, h.kind) for h in got or []]

    read, write = T.DocumentHighlightKind.Read, T.DocumentHighlightKind.Write
    assert await highlights(at(QUERIES, "recent", 2)) == [
        (range_of(QUERIES, "recent", enc, 0), write),
        (range_of(QUERIES, "recent", enc, 1), read),
        (range_of(QUERIES, "recent", enc, 2), read),
    ]
    # the alias u of the second line, used before and after its declaration
    line = QUERIES.index("SELECT u.email")
    us = [line + 7, line + 26, line + 34]  # u.email, users u, u.email
    assert [QUERIES[i] for i in us] == ["u", "u", "u"]
    assert await highlights(us[0]) == [
        (rng(QUERIES, us[0], us[0] + 1, enc), read),
        (rng(QUERIES, us[1], us[1] + 1, enc), write),
        (rng(QUERIES, us[2], us[2] + 1, enc), read),
    ]


@pytest.mark.parametrize("caps", PROFILES)
async def test_prepare_rename(client: LanguageClient, project, caps) -> None:
    q, _, _, enc = await setup(client, project, caps)

    async def prepare(offset):
        return await client.text_document_prepare_rename_async(
            T.PrepareRenameParams(text_document=doc_id(q), position=pos(QUERIES, offset, enc))
        )

    got = await prepare(at(QUERIES, "recent"))
    assert got == T.PrepareRenamePlaceholder(
        range=range_of(QUERIES, "recent", enc), placeholder="recent"
    )
    assert await prepare(at(QUERIES, "SELECT")) is None  # a keyword
    assert await prepare(at(QUERIES, "'a'")) is None  # a literal
    assert await prepare(at(QUERIES, "lower(")) is None  # a function, not renamed here


async def rename(client, u, text, offset, new_name, enc):
    return await client.text_document_rename_async(
        T.RenameParams(text_document=doc_id(u), position=pos(text, offset, enc), new_name=new_name)
    )


@pytest.mark.parametrize("caps", PROFILES)
async def test_rename_cte(client: LanguageClient, project, caps) -> None:
    q, _, _, enc = await setup(client, project, caps)
    edit = await rename(client, q, QUERIES, at(QUERIES, "recent", 1), "latest", enc)
    assert edit is not None and edit.changes is not None
    assert set(edit.changes) == {q}
    assert apply_edits(QUERIES, list(edit.changes[q]), enc).splitlines()[4] == (
        "WITH latest AS (SELECT id, status FROM orders) SELECT r.id FROM latest r, latest;"
    )


@pytest.mark.parametrize("caps", PROFILES)
async def test_rename_table_across_files(client: LanguageClient, project, caps) -> None:
    q, o, schema, enc = await setup(client, project, caps)
    edit = await rename(client, o, OTHER, at(OTHER, "Users"), "Accounts", enc)
    assert edit is not None and edit.changes is not None
    assert set(edit.changes) == {q, o, schema}
    assert apply_edits(OTHER, list(edit.changes[o]), enc) == (
        'SELECT Accounts.email FROM Accounts;\nSELECT * FROM "Users";\n'
    )
    assert apply_edits(QUERIES, list(edit.changes[q]), enc).splitlines()[:4] == [
        "CREATE INDEX users_email_lower_idx ON Accounts (lower(email));",
        "SELECT u.email FROM Accounts u WHERE u.email = 'a';",
        "SELECT email FROM orders o JOIN Accounts ON Accounts.id = o.user_id;",
        "UPDATE Accounts SET email = 'b' WHERE id = 1;",
    ]
    new_schema = apply_edits(SCHEMA, list(edit.changes[schema]), enc)
    assert new_schema.startswith("CREATE TABLE Accounts (\n")
    assert "REFERENCES Accounts (id)" in new_schema


@pytest.mark.parametrize("caps", PROFILES)
async def test_rename_column_quotes_when_needed(client: LanguageClient, project, caps) -> None:
    q, o, schema, enc = await setup(client, project, caps)
    edit = await rename(client, q, QUERIES, at(QUERIES, "email", 3), "e-mail", enc)
    assert edit is not None and edit.changes is not None
    assert apply_edits(OTHER, list(edit.changes[o]), enc).splitlines()[0] == (
        'SELECT Users."e-mail" FROM Users;'
    )
    assert '    "e-mail" text NOT NULL UNIQUE,' in apply_edits(
        SCHEMA, list(edit.changes[schema]), enc
    )
    # a reserved word is quoted too
    edit = await rename(client, q, QUERIES, at(QUERIES, "email", 3), "order", enc)
    assert edit is not None and edit.changes is not None
    assert {e.new_text for e in edit.changes[o]} == {'"order"'}


@pytest.mark.parametrize("caps", PROFILES)
async def test_rename_to_an_invalid_name_is_an_error(client: LanguageClient, project, caps) -> None:
    q, _, _, enc = await setup(client, project, caps)
    with pytest.raises(Exception, match="The new name is empty"):
        await rename(client, q, QUERIES, at(QUERIES, "recent"), "  ", enc)
    with pytest.raises(Exception, match="longer than 63 bytes"):
        await rename(client, q, QUERIES, at(QUERIES, "recent"), "x" * 64, enc)


BODY = (
    "CREATE FUNCTION touch(p_id bigint) RETURNS void LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  UPDATE users SET email = lower(users.email) WHERE id = p_id;\n"
    "END $$;\n"
    "SELECT email FROM users;\n"
)


@pytest.mark.parametrize("caps", PROFILES)
async def test_highlight_and_rename_inside_a_function_body(
    client: LanguageClient, project, caps
) -> None:
    await start(client, project, caps)
    b = project / "b.sql"
    await open_doc(client, b, BODY)
    u, enc = uri(b), encoding(client)
    got = await client.text_document_document_highlight_async(
        T.DocumentHighlightParams(
            text_document=doc_id(u), position=pos(BODY, at(BODY, "users.email", 0, 7), enc)
        )
    )
    read = T.DocumentHighlightKind.Read
    # users.email inside the body (SET email, users.email) and in the query after it
    assert [(h.range, h.kind) for h in got or []] == [
        (range_of(BODY, "email", enc, 0), read),
        (range_of(BODY, "email", enc, 1), read),
        (range_of(BODY, "email", enc, 2), read),
    ]
    edit = await rename(client, u, BODY, at(BODY, "users", 0), "accounts", enc)
    assert edit is not None and edit.changes is not None
    assert apply_edits(BODY, list(edit.changes[u]), enc).splitlines()[2:] == [
        "  UPDATE accounts SET email = lower(accounts.email) WHERE id = p_id;",
        "END $$;",
        "SELECT email FROM accounts;",
    ]
