"""The server keeps each opened file's findings in the persistent cache (`.sql-lsp-cache/`
beside the settings file, when `sql-lsp check` made it) and publishes them at once when the file
is opened again unchanged; the linter's own findings follow, and are published when they differ.
It never creates the folder itself."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from lsp_helpers import PROFILES, mark, open_doc, published, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

QUERIES = (
    "SELECT * FROM users WHERE lower(email) = 'ada@example.com';\n"
    "SELECT id FROM orders WHERE;\n"
    "SELECT é FROM users;\r\n"
    "DELETE FROM orders;\n"
)


async def _close(client: LanguageClient, path: Path) -> None:
    at = mark(client)
    client.text_document_did_close(
        T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=uri(path)))
    )
    cleared = await published(client, uri(path), None, after=at)
    assert cleared.diagnostics == []


async def _entry(project: Path) -> Path:
    """The one cache entry (written just after the diagnostics are sent)."""
    for _ in range(200):
        found = [p for p in (project / ".sql-lsp-cache").glob("*/*.json")]
        if found:
            (entry,) = found
            return entry
        await asyncio.sleep(0.025)
    raise AssertionError("no cache entry was written")


def _shown(p: T.PublishDiagnosticsParams) -> list[tuple]:
    return [(d.range, d.code, d.message, d.severity, d.data) for d in p.diagnostics]


@pytest.mark.parametrize("caps", PROFILES)
async def test_reopened_file_gets_the_same_diagnostics_from_the_cache(
    client: LanguageClient, project: Path, caps
) -> None:
    (project / ".sql-lsp-cache").mkdir()  # as `sql-lsp check` leaves it
    await start(client, project, caps)
    path = project / "queries.sql"
    path.write_text(QUERIES, newline="")
    first = await open_doc(client, path, QUERIES)
    assert len(first.diagnostics) >= 3
    entry = await _entry(project)
    assert json.loads(entry.read_text())["path"] == str(path.resolve())
    assert (project / ".sql-lsp-cache" / ".gitignore").read_text().endswith("*\n")

    await _close(client, path)
    again = await open_doc(client, path, QUERIES)
    assert _shown(again) == _shown(first)


async def test_a_stale_entry_is_shown_then_corrected(client: LanguageClient, project: Path) -> None:
    (project / ".sql-lsp-cache").mkdir()
    await start(client, project)
    path = project / "queries.sql"
    path.write_text(QUERIES, newline="")
    first = await open_doc(client, path, QUERIES)
    await _close(client, path)
    # an entry whose findings are not what the linter finds (it cannot happen but by hand):
    # it proves the first publish comes from the cache, and that the linter corrects it
    entry = await _entry(project)
    data = json.loads(entry.read_text())
    for row in data["findings"]:
        row[2] = "stale: " + row[2]
    entry.write_text(json.dumps(data))
    at = mark(client)
    shown = await open_doc(client, path, QUERIES)
    assert [d.message for d in shown.diagnostics] == [
        "stale: " + d.message for d in first.diagnostics
    ]
    fixed = await published(client, uri(path), 1, after=at + 1)
    assert _shown(fixed) == _shown(first)


async def test_an_edited_file_is_not_served_from_the_cache(
    client: LanguageClient, project: Path
) -> None:
    (project / ".sql-lsp-cache").mkdir()
    await start(client, project)
    path = project / "queries.sql"
    path.write_text(QUERIES, newline="")
    await open_doc(client, path, QUERIES)
    await _close(client, path)
    entry = await _entry(project)
    data = json.loads(entry.read_text())
    data["findings"] = []  # wrong for QUERIES, but this text is another one
    entry.write_text(json.dumps(data))
    other = QUERIES + "SELECT * FROM users;\n"
    p = await open_doc(client, path, other)
    assert "select-star" in [d.code for d in p.diagnostics]


async def test_the_server_creates_no_cache_folder_in_the_project(
    client: LanguageClient, project: Path
) -> None:
    await start(client, project)
    path = project / "queries.sql"
    path.write_text(QUERIES, newline="")
    first = await open_doc(client, path, QUERIES)
    assert len(first.diagnostics) >= 3
    await asyncio.sleep(0.5)  # an entry would be written just after the diagnostics
    assert not (project / ".sql-lsp-cache").exists()
