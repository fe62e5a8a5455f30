"""Helpers for the end-to-end language server tests."""

from __future__ import annotations

import sys
from pathlib import Path

from lsprotocol import types as T
from pytest_lsp import LanguageClient, client_capabilities

SERVER = [sys.executable, "-m", "sql_lsp"]
SCHEMA = """CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    username text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_lower_username_idx ON users (lower(username));
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    status text NOT NULL
);
"""


def uri(path: Path) -> str:
    return path.resolve().as_uri()


async def start(
    client: LanguageClient, root: Path, caps: str = "visual-studio-code", **options
) -> None:
    options.setdefault("diagnostics", {"debounceMs": 0})
    await client.initialize_session(
        T.InitializeParams(
            capabilities=client_capabilities(caps),
            root_uri=uri(root),
            workspace_folders=[T.WorkspaceFolder(uri=uri(root), name="project")],
            initialization_options=options,
        )
    )
