"""Signature help through the language server: built-in and workspace functions."""

from __future__ import annotations

import pytest
from lsp_helpers import PROFILES, open_doc, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

FUNCTION = (
    "CREATE FUNCTION add_points(p_user bigint, p_points integer DEFAULT 1) RETURNS integer\n"
    "LANGUAGE sql AS $$ SELECT 1 $$;\n"
)


async def _help(client: LanguageClient, path, text: str) -> T.SignatureHelp | None:
    await open_doc(client, path, text)
    lines = text.split("\n")
    return await client.text_document_signature_help_async(
        T.SignatureHelpParams(
            text_document=T.TextDocumentIdentifier(uri=uri(path)),
            position=T.Position(line=len(lines) - 1, character=len(lines[-1])),
        )
    )


@pytest.mark.parametrize("caps", PROFILES)
async def test_workspace_function_with_the_active_argument(
    client: LanguageClient, project, caps
) -> None:
    (project / "functions.sql").write_text(FUNCTION)
    await start(client, project, caps)
    result = await _help(client, project / "q.sql", "SELECT add_points(u.id, ")
    label = "add_points(p_user bigint, p_points integer = …) → integer"
    assert result is not None
    assert (result.active_signature, result.active_parameter) == (0, 1)
    ((sig,),) = (result.signatures,)
    assert (sig.label, sig.documentation) == (label, "declared in functions.sql")
    assert [p.label for p in sig.parameters or ()] == [(11, 24), (26, 46)]
    assert (label[11:24], label[26:46]) == ("p_user bigint", "p_points integer = …")


@pytest.mark.parametrize("caps", PROFILES[:1])
async def test_builtin_inside_a_half_typed_statement(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    result = await _help(client, project / "q.sql", "SELECT id FROM users\nWHERE lower(")
    assert result is not None
    assert [s.label for s in result.signatures] == ["lower(text) → text"]
    assert result.active_parameter == 0
    assert await _help(client, project / "r.sql", "SELECT id FROM users WHERE id IN (") is None
    assert await _help(client, project / "s.sql", "SELECT lower(email) FROM users;") is None
