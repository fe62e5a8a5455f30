"""Positions in UTF-16 (the default) and UTF-8 with non-ASCII text before a finding."""

from __future__ import annotations

import pytest
from lsp_helpers import change, encoding, hover, mark, open_doc, published, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

TEXT = "SELECT 'é🙂', * FROM users;\n-- ünïcödé 🙂\nSELECT '🙂🙂', *, 'é' FROM users;\n"


@pytest.mark.parametrize(
    ("caps", "encodings", "enc"),
    [
        ("visual-studio-code", None, "utf-16"),
        ("visual-studio-code", ["utf-8"], "utf-8"),
        ("neovim", None, "utf-8"),
        ("neovim", ["utf-16"], "utf-16"),
    ],
)
async def test_positions_after_non_ascii(client: LanguageClient, project, caps, encodings, enc):
    result = await start(client, project, caps, encodings=encodings)
    assert result.capabilities.position_encoding == enc
    assert encoding(client) == enc
    q = project / "q.sql"
    u = uri(q)
    p = await open_doc(client, q, TEXT)
    # the * of line 0 is character 13; é is 1 UTF-16 unit and 2 UTF-8 bytes, 🙂 is 2 and 4
    first, second = (14, 15) if enc == "utf-16" else (17, 19)
    assert sorted(((d.code, d.range) for d in p.diagnostics), key=lambda x: x[1].start.line) == [
        ("select-star", T.Range(start=T.Position(0, first), end=T.Position(0, first + 1))),
        ("select-star", T.Range(start=T.Position(2, second), end=T.Position(2, second + 1))),
    ]

    # an edit addressed in the same units: replace the second * with `id`
    at = mark(client)
    where = T.Range(start=T.Position(2, second), end=T.Position(2, second + 1))
    change(client, u, 2, (where, "id"))
    p = await published(client, u, 2, after=at)
    assert [(d.code, d.range) for d in p.diagnostics] == [
        ("select-star", T.Range(start=T.Position(0, first), end=T.Position(0, first + 1)))
    ]
    # an insert after the emoji on line 0 moves the * by exactly the inserted units
    at = mark(client)
    change(
        client, u, 3, (T.Range(start=T.Position(0, first - 3), end=T.Position(0, first - 3)), "🙂")
    )
    p = await published(client, u, 3, after=at)
    moved = first + (2 if enc == "utf-16" else 4)
    assert [d.range for d in p.diagnostics] == [
        T.Range(start=T.Position(0, moved), end=T.Position(0, moved + 1))
    ]

    # a hover on `users` after the emoji: the range is in the same units
    users = moved + len("* FROM ")
    h = await hover(client, u, T.Position(0, users + 2))
    assert h is not None
    assert h.range == T.Range(start=T.Position(0, users), end=T.Position(0, users + 5))
