from __future__ import annotations

from lsp_helpers import start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient


async def test_open_publishes(client: LanguageClient, project) -> None:
    await start(client, project)
    q = project / "q.sql"
    text = "SELECT * FROM users WHERE lower(email) = 'x';\n"
    q.write_text(text)
    waiter = client.protocol.wait_for_notification_async(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    client.text_document_did_open(
        T.DidOpenTextDocumentParams(
            T.TextDocumentItem(uri=uri(q), language_id="sql", version=1, text=text)
        )
    )
    await waiter
    diags = client.diagnostics[uri(q)]
    print([(d.code, d.range) for d in diags])
