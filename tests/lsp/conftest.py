"""pytest-lsp fixtures: the real server over stdio, with recorded client capabilities."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import SCHEMA, SERVER
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient


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

    lsp_client.registrations = registrations  # type: ignore[attr-defined]
    yield lsp_client
    await lsp_client.shutdown_session()
