"""pytest-lsp fixtures: the real server over stdio, with recorded client capabilities.

Every test in this folder runs with LSP specification warnings as errors, so a server that
sends something the client did not declare support for fails the test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import SCHEMA, SERVER
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "schema.sql").write_text(SCHEMA)
    return tmp_path


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    registrations: list[T.Registration] = []

    @lsp_client.feature(T.CLIENT_REGISTER_CAPABILITY)
    def register(params: T.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    # record every publishDiagnostics (with its version), not only the last list per URI
    publishes: list[T.PublishDiagnosticsParams] = []
    cond = asyncio.Condition()
    wakeups: set[asyncio.Future] = set()

    async def notify() -> None:
        async with cond:
            cond.notify_all()

    def on_publish(params: T.PublishDiagnosticsParams) -> None:
        params.diagnostics = list(params.diagnostics)
        lsp_client.diagnostics[params.uri] = params.diagnostics
        publishes.append(params)
        wakeup = asyncio.ensure_future(notify())
        wakeups.add(wakeup)
        wakeup.add_done_callback(wakeups.discard)

    lsp_client.protocol.fm._features.pop(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, None)
    lsp_client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(on_publish)

    lsp_client.registrations = registrations  # type: ignore[attr-defined]
    lsp_client.publishes = publishes  # type: ignore[attr-defined]
    lsp_client.publish_cond = cond  # type: ignore[attr-defined]
    lsp_client.encoding = "utf-16"  # type: ignore[attr-defined]
    yield lsp_client
    await lsp_client.shutdown_session()
