"""Code actions: rule fixes, ignore comments, fix-all, and stale diagnostics."""

from __future__ import annotations

import pytest
from lsp_helpers import (
    PROFILES,
    code_actions,
    edit_version,
    edits_of,
    encoding,
    mark,
    open_doc,
    published,
    range_of,
    rng,
    send_edits,
    start,
    uri,
)
from lsprotocol import types as T
from pytest_lsp import LanguageClient

QUERY = "SELECT * FROM users WHERE lower(email) = 'x';\nSELECT * FROM orders;\n"
ITEMS = """CREATE TABLE items (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    buyer_id bigint NOT NULL REFERENCES users (id),
    sku text NOT NULL
);
CREATE INDEX items_sku_idx ON items (sku);
CREATE INDEX items_sku_id_idx ON items (sku, id);
SELECT * FROM items;
"""


def only(diags, code, line=None):
    found = [d for d in diags if d.code == code and (line is None or d.range.start.line == line)]
    assert len(found) == 1, diags
    return found[0]


def check_edit(action: T.CodeAction, u: str, version: int, versioned: bool) -> list[T.TextEdit]:
    """The action's edits; pinned to the document version when the client supports it."""
    assert action.edit is not None
    if versioned:
        assert action.edit.changes is None
        assert edit_version(action.edit) == version
    else:
        assert action.edit.document_changes is None
    return edits_of(action.edit, u)


@pytest.mark.parametrize("caps", PROFILES)
async def test_safe_fix_and_ignore_actions(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    versioned = caps == "visual-studio-code"  # Neovim 0.11 does not declare documentChanges
    q = project / "q.sql"
    u = uri(q)
    text = QUERY
    p = await open_doc(client, q, text)
    enc = encoding(client)
    star = only(p.diagnostics, "select-star", 0)

    actions = await code_actions(client, u, star.range, [star], only=["quickfix"])
    assert [(a.title, a.kind, a.is_preferred) for a in actions] == [
        ("Replace * with 4 columns", T.CodeActionKind.QuickFix, True),
        ("Ignore select-star for this statement", T.CodeActionKind.QuickFix, None),
        ("Ignore select-star in this file", T.CodeActionKind.QuickFix, None),
    ]
    fix, ignore_stmt, ignore_file = actions
    assert list(fix.diagnostics or []) == [star]
    assert check_edit(fix, u, 1, versioned) == [
        T.TextEdit(range=range_of(text, "*", enc), new_text="id, email, username, created_at")
    ]
    assert check_edit(ignore_stmt, u, 1, versioned) == [
        T.TextEdit(range=rng(text, 0, 0, enc), new_text="-- sql-lsp: ignore select-star\n")
    ]
    assert check_edit(ignore_file, u, 1, versioned) == [
        T.TextEdit(range=rng(text, 0, 0, enc), new_text="-- sql-lsp: ignore-file select-star\n")
    ]

    # the user picks "Ignore for this statement": the editor applies the edit as a didChange
    at = mark(client)
    ignored = send_edits(client, u, 2, text, edits_of(ignore_stmt.edit, u), enc)
    assert ignored == "-- sql-lsp: ignore select-star\n" + QUERY
    p = await published(client, u, 2, after=at)
    # that statement's select-star is gone; the other statement's stays, one line down
    assert sorted((d.code, d.range.start.line) for d in p.diagnostics) == [
        ("function-on-indexed-column", 1),
        ("select-star", 2),
    ]

    # then "Ignore in this file" for the remaining one
    star = only(p.diagnostics, "select-star", 2)
    actions = await code_actions(client, u, star.range, [star], only=["quickfix"])
    ignore_file = next(a for a in actions if a.title == "Ignore select-star in this file")
    at = mark(client)
    text = send_edits(client, u, 3, ignored, edits_of(ignore_file.edit, u), enc)
    assert text == "-- sql-lsp: ignore-file select-star\n" + ignored
    p = await published(client, u, 3, after=at)
    assert [d.code for d in p.diagnostics] == ["function-on-indexed-column"]


@pytest.mark.parametrize("caps", PROFILES)
async def test_unsafe_fixes_are_labelled_and_not_preferred(
    client: LanguageClient, project, caps
) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    p = await open_doc(client, q, ITEMS)
    enc = encoding(client)

    func_text = "SELECT id FROM users WHERE lower(email) = 'x';\n"
    f = project / "f.sql"
    pf = await open_doc(client, f, func_text)
    d = only(pf.diagnostics, "function-on-indexed-column")
    actions = await code_actions(client, uri(f), d.range, [d], only=["quickfix"])
    fix = actions[0]
    assert fix.title == (
        "Compare email directly with 'x' (unsafe: assumes stored values are already lower-case)"
    )
    assert fix.is_preferred is None
    assert edits_of(fix.edit, uri(f)) == [
        T.TextEdit(range=range_of(func_text, "lower(email)", enc), new_text="email")
    ]

    d = only(p.diagnostics, "redundant-index")
    assert d.range == range_of(ITEMS, "CREATE INDEX items_sku_idx ON items (sku)", enc)
    assert d.message == (
        "index items_sku_idx on items (sku) is redundant: "
        "its keys are a leading prefix of items_sku_id_idx (sku, id)"
    )
    actions = await code_actions(client, u, d.range, [d], only=["quickfix"])
    assert [(a.title, a.is_preferred) for a in actions] == [
        ("Delete the redundant index items_sku_idx (unsafe)", None),
        ("Ignore redundant-index for this statement", None),
        ("Ignore redundant-index in this file", None),
    ]
    assert edits_of(actions[0].edit, u) == [
        T.TextEdit(
            range=range_of(ITEMS, "CREATE INDEX items_sku_idx ON items (sku);\n", enc), new_text=""
        )
    ]


@pytest.mark.parametrize("caps", PROFILES)
async def test_fix_all_applies_every_safe_fix(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    p = await open_doc(client, q, ITEMS)
    enc = encoding(client)
    assert sorted(d.code for d in p.diagnostics) == [
        "missing-fk-index",
        "missing-fk-index",
        "redundant-index",
        "select-star",
    ]
    whole = rng(ITEMS, 0, len(ITEMS), enc)
    for kind in ("source.fixAll.sql-lsp", "source.fixAll", "source"):
        actions = await code_actions(client, u, whole, [], only=[kind])
        assert [(a.title, a.kind) for a in actions] == [
            ("Fix all safe sql-lsp findings (3)", "source.fixAll.sql-lsp")
        ], kind
    (fix_all,) = actions
    assert fix_all.is_preferred is None
    edits = edits_of(fix_all.edit, u)
    # the two index inserts share a position: their order is the order of the findings
    at = mark(client)
    text = send_edits(client, u, 2, ITEMS, edits, enc)
    expected = ITEMS.replace(
        ");\nCREATE INDEX items_sku_idx",
        ");\nCREATE INDEX items_order_id_idx ON items (order_id);\n"
        "CREATE INDEX items_buyer_id_idx ON items (buyer_id);\nCREATE INDEX items_sku_idx",
    ).replace("SELECT * FROM items", "SELECT id, order_id, buyer_id, sku FROM items")
    assert text == expected
    p = await published(client, u, 2, after=at)
    # only the unsafe finding is left
    assert [d.code for d in p.diagnostics] == ["redundant-index"]
    assert p.diagnostics[0].range == range_of(
        text, "CREATE INDEX items_sku_idx ON items (sku)", enc
    )

    # nothing left to fix: no fix-all action
    assert await code_actions(client, u, rng(text, 0, len(text), enc), [], only=[FIX]) == []


FIX = "source.fixAll.sql-lsp"


@pytest.mark.parametrize("caps", PROFILES)
async def test_stale_diagnostics_get_no_actions(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    p = await open_doc(client, q, QUERY)
    enc = encoding(client)
    star = only(p.diagnostics, "select-star", 0)
    # the document moves on (a line inserted above) before the client asks for actions
    at = mark(client)
    send_edits(client, u, 2, QUERY, [T.TextEdit(range=rng(QUERY, 0, 0, enc), new_text="\n")], enc)
    await published(client, u, 2, after=at)
    assert await code_actions(client, u, star.range, [star]) == []
    # with the fresh diagnostics, the actions are back, for the new position
    fresh = only(client.diagnostics[u], "select-star", 1)
    assert fresh.data == {"fix": "safe", "version": 2}
    actions = await code_actions(client, u, fresh.range, [fresh], only=["quickfix"])
    assert edits_of(actions[0].edit, u)[0].range == T.Range(
        start=T.Position(1, 7), end=T.Position(1, 8)
    )
