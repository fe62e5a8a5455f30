"""The catalog is the whole workspace: files on disk (background scan) and open buffers."""

from __future__ import annotations

import pytest
from lsp_helpers import (
    PROFILES,
    SCHEMA,
    diag,
    encoding,
    mark,
    open_doc,
    published,
    span,
    start,
    uri,
)
from lsprotocol import types as T
from pytest_lsp import LanguageClient

INDEX = "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);\n"
MISSING = (
    "foreign key orders (user_id) -> users has no index on orders (user_id): deleting or "
    "updating a users row scans orders, and joins on it cannot use an index"
)


@pytest.mark.parametrize("caps", PROFILES)
async def test_index_in_another_file_on_disk(client: LanguageClient, project, caps) -> None:
    # files apply in path order, like migrations: this one runs after schema.sql
    (project / "schema_indexes.sql").write_text(INDEX)
    await start(client, project, caps)
    p = await open_doc(client, project / "schema.sql", SCHEMA)
    assert p.diagnostics == []


@pytest.mark.parametrize("caps", PROFILES)
async def test_index_in_a_newly_opened_file(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    schema = project / "schema.sql"
    p = await open_doc(client, schema, SCHEMA)
    enc = encoding(client)
    s, e = span(SCHEMA, "REFERENCES users (id)")
    assert p.diagnostics == [diag(SCHEMA, s, e, "missing-fk-index", MISSING, enc, 1, fix="safe")]

    # a new, unsaved file declares the index: the schema file is checked again without it
    new = project / "tuning.sql"  # after schema.sql in path order
    at = mark(client)
    p = await open_doc(client, new, INDEX)
    assert p.diagnostics == []
    p = await published(client, uri(schema), 1, after=at)
    assert p.diagnostics == []

    # the file is closed without being saved: the index is gone again
    at = mark(client)
    client.text_document_did_close(
        T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=uri(new)))
    )
    p = await published(client, uri(schema), 1, after=at)
    assert [d.code for d in p.diagnostics] == ["missing-fk-index"]
    closed = await published(client, uri(new), None, after=at)
    assert closed.diagnostics == []
