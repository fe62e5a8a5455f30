"""Hover on a diagnostic's range: the finding, its rule's summary and its fix titles."""

from __future__ import annotations

import pytest
from lsp_helpers import PROFILES, encoding, hover, open_doc, pos, rng, span, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

TEXT = "SELECT u.emial FROM users u;\nSELECT 1;\n"
EXPECTED = (
    "**unknown-column** (error): `users` has no column `emial`; did you mean `email`?\n\n"
    "A column that the table it is read from does not have. "
    "[Documentation](https://github.com/sql-lsp/sql-lsp/blob/main/docs/rules/unknown-column.md)\n\n"
    "- Fix (safe): Change to email\n"
)


@pytest.mark.parametrize("caps", PROFILES)
async def test_hover_on_a_finding(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    published = await open_doc(client, q, TEXT)
    enc = encoding(client)
    assert [d.code for d in published.diagnostics] == ["unknown-column"]
    s, e = span(TEXT, "emial")
    h = await hover(client, uri(q), pos(TEXT, s + 2, enc))
    assert h is not None
    assert h.contents == T.MarkupContent(kind=T.MarkupKind.Markdown, value=EXPECTED)
    assert h.range == rng(TEXT, s, e, enc)
    # outside any finding: no finding text
    h = await hover(client, uri(q), pos(TEXT, TEXT.index("1;"), enc))
    assert h is None or "unknown-column" not in str(h.contents)
