"""Folding ranges and workspace symbols through the language server."""

from __future__ import annotations

import pytest
from lsp_helpers import PROFILES, encoding, open_doc, range_of, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

TEXT = "-- one\n-- two\nSELECT id\nFROM users;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n  SELECT 1\n$$;\n"


@pytest.mark.parametrize("caps", PROFILES)
async def test_folding_ranges(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    await open_doc(client, q, TEXT)
    result = await client.text_document_folding_range_async(
        T.FoldingRangeParams(text_document=T.TextDocumentIdentifier(uri=uri(q)))
    )
    region, comment = T.FoldingRangeKind.Region, T.FoldingRangeKind.Comment
    assert list(result or []) == [
        T.FoldingRange(start_line=0, end_line=1, kind=comment),
        T.FoldingRange(start_line=2, end_line=3, kind=region),
        T.FoldingRange(start_line=4, end_line=6, kind=region),
        T.FoldingRange(start_line=4, end_line=5, kind=region),
    ]


@pytest.mark.parametrize("caps", PROFILES)
async def test_workspace_symbols(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    await open_doc(client, q, "SELECT 1;\n")
    enc = encoding(client)
    result = await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="users"))
    schema = (project / "schema.sql").read_text()
    su = uri(project / "schema.sql")
    assert list(result or []) == [
        T.SymbolInformation(
            name="users",
            kind=T.SymbolKind.Struct,
            location=T.Location(uri=su, range=range_of(schema, "users", enc)),
            container_name="public",
        ),
        T.SymbolInformation(
            name="users_email_key",
            kind=T.SymbolKind.Key,
            location=T.Location(uri=su, range=range_of(schema, "email", enc)),
            container_name="users",
        ),
        T.SymbolInformation(
            name="users_lower_username_idx",
            kind=T.SymbolKind.Key,
            location=T.Location(
                uri=su,
                range=range_of(
                    schema, "CREATE INDEX users_lower_username_idx ON users (lower(username))", enc
                ),
            ),
            container_name="users",
        ),
        T.SymbolInformation(
            name="users_pkey",
            kind=T.SymbolKind.Key,
            location=T.Location(uri=su, range=range_of(schema, "id", enc)),
            container_name="users",
        ),
    ]
