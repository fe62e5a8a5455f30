"""Editor settings: workspace/configuration on change, and bad values."""

from __future__ import annotations

import asyncio

import pytest
from lsp_helpers import PROFILES, hover, mark, open_doc, pos, published, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

QUERY = "SELECT * FROM users WHERE lower(email) = 'x';\n"


def did_change_configuration(client: LanguageClient, caps: str, settings: dict) -> None:
    """Tell the server settings changed, the way each editor does: VS Code sends no settings
    (the server asks with workspace/configuration); Neovim sends them in the notification."""
    client.set_configuration(settings, section="sqlLsp")
    payload = None if caps == "visual-studio-code" else {"sqlLsp": settings}
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings=payload))


@pytest.mark.parametrize("caps", PROFILES)
async def test_rule_turned_off_by_a_settings_change(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    p = await open_doc(client, q, QUERY)
    assert sorted(d.code for d in p.diagnostics) == ["function-on-indexed-column", "select-star"]
    # registered by then (the server registers before it reads the workspace)
    if caps == "visual-studio-code":  # it can only send changes it was asked to watch
        assert [
            (r.method, r.register_options)
            for r in client.registrations  # type: ignore[attr-defined]
            if r.method == T.WORKSPACE_DID_CHANGE_CONFIGURATION
        ] == [(T.WORKSPACE_DID_CHANGE_CONFIGURATION, {"section": "sqlLsp"})]

    at = mark(client)
    did_change_configuration(client, caps, {"rules": {"select-star": "off"}})
    p = await published(client, u, 1, after=at)
    assert [d.code for d in p.diagnostics] == ["function-on-indexed-column"]

    # and back on, with another severity
    at = mark(client)
    did_change_configuration(client, caps, {"rules": {"select-star": "error"}})
    p = await published(client, u, 1, after=at)
    assert sorted((d.code, d.severity) for d in p.diagnostics) == [
        ("function-on-indexed-column", T.DiagnosticSeverity.Warning),
        ("select-star", T.DiagnosticSeverity.Error),
    ]
    assert client.messages == []


@pytest.mark.parametrize("caps", PROFILES)
async def test_invalid_setting_shows_one_message(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    await open_doc(client, q, QUERY)
    assert client.messages == []

    at = mark(client)
    did_change_configuration(client, caps, {"diagnostics": {"debounceMs": "soon"}})
    p = await published(client, u, 1, after=at)
    await asyncio.sleep(0.3)  # a second message would come with the first
    assert len(client.messages) == 1, client.messages
    (message,) = client.messages
    assert message.type in (T.MessageType.Warning, T.MessageType.Error)
    assert "sqlLsp.diagnostics.debounceMs" in message.message
    assert "soon" in message.message
    # the rest of the settings still apply, and the server keeps working
    assert sorted(d.code for d in p.diagnostics) == ["function-on-indexed-column", "select-star"]
    h = await hover(client, u, pos(QUERY, QUERY.index("users") + 1))
    assert h is not None and "**table** `public.users`" in h.contents.value  # type: ignore[union-attr]


async def test_initialization_options_and_toml_settings(client: LanguageClient, project) -> None:
    """sql-lsp.toml applies; initializationOptions override it."""
    (project / "sql-lsp.toml").write_text(
        '[rules]\nselect-star = "off"\nfunction-on-indexed-column = "hint"\n'
    )
    await start(client, project, rules={"function-on-indexed-column": "error"})
    p = await open_doc(client, project / "q.sql", QUERY)
    assert [(d.code, d.severity) for d in p.diagnostics] == [
        ("function-on-indexed-column", T.DiagnosticSeverity.Error)
    ]
    assert client.messages == []
