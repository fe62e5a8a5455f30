"""Bad input never kills the server; the process starts and ends the way editors expect."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lsp_helpers import (
    SERVER,
    change,
    hover,
    mark,
    open_doc,
    pos,
    published,
    rng,
    start,
    uri,
)
from lsprotocol import types as T
from pytest_lsp import LanguageClient

import sql_lsp

GOOD = "SELECT * FROM users;\n"


async def still_works(client: LanguageClient, project: Path, version: int) -> None:
    """A hover answers and an edit is re-checked."""
    g = project / "good.sql"
    u = uri(g)
    if version == 1:
        await open_doc(client, g, GOOD)
    h = await hover(client, u, pos(GOOD, GOOD.index("users") + 1))
    assert h is not None
    assert h.contents.value.startswith("**table** `public.users`")  # type: ignore[union-attr]
    at = mark(client)
    text = GOOD if version == 1 else "SELECT * FROM users;\n"
    change(client, u, version + 1, (rng(text, 0, 0), ""))
    p = await published(client, u, version + 1, after=at)
    assert [d.code for d in p.diagnostics] == ["select-star"]


async def test_garbage_does_not_kill_the_server(client: LanguageClient, project) -> None:
    await start(client, project)
    await still_works(client, project, 1)

    junk = bytes(range(256)).decode("latin-1") * 20 + "\x00\x00;\x00 SELECT * FROM \x00;"
    p = await open_doc(client, project / "junk.sql", junk)
    assert all(d.source == "sql-lsp" for d in p.diagnostics)
    await still_works(client, project, 2)

    half = (
        "SELECT * FROM users WHERE;\n"
        "SELECT 'unterminated FROM users;\nSELECT 1;\n"
        "CREATE TABLE (\n" + "SELECT (" * 300 + "\n"
        "$$ unclosed\n"
    )
    p = await open_doc(client, project / "half.sql", half)
    assert p.diagnostics and p.diagnostics[0].code == "syntax-error"
    assert p.diagnostics[0].severity == T.DiagnosticSeverity.Error
    # WHERE without a condition
    assert p.diagnostics[0].range == T.Range(start=T.Position(0, 20), end=T.Position(0, 25))
    await still_works(client, project, 3)

    # typing a half statement, character by character, into an open document
    h = project / "typing.sql"
    await open_doc(client, h, "")
    text = ""
    at = mark(client)
    for i, ch in enumerate("SELECT * FROM users WHERE id = (SELECT"):
        change(client, uri(h), i + 2, (rng(text, len(text), len(text)), ch))
        text += ch
    await published(client, uri(h), len(text) + 1, after=at)
    await still_works(client, project, 4)


async def test_huge_single_line(client: LanguageClient, project) -> None:
    await start(client, project)
    big = "SELECT '" + "x" * 5_000_000 + "' AS big, * FROM users;"
    p = await open_doc(client, project / "big.sql", big)
    # over the analysis budget: checked by PostgreSQL's parser only, and it says so
    assert [(d.code, d.range) for d in p.diagnostics] == [("analysis-skipped", rng(big, 0, 6))]
    await still_works(client, project, 1)


async def test_shutdown_and_exit_end_the_process(client: LanguageClient, project) -> None:
    await start(client, project)
    await open_doc(client, project / "good.sql", GOOD)
    server = client._server
    assert server is not None
    began = time.monotonic()
    assert await client.shutdown_async(None) is None
    client.exit(None)
    code = await asyncio.wait_for(server.wait(), timeout=5)
    assert code == 0
    assert time.monotonic() - began < 3
    client.capabilities = None  # the fixture must not shut it down again


def test_version() -> None:
    # names the distribution, so that editors can tell this server from other programs
    expected = f"{sql_lsp.version_line()}\n"
    out = subprocess.run(
        [*SERVER, "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout == expected
    script = Path(sys.executable).parent / "sql-lsp"
    if script.exists():
        out = subprocess.run(
            [str(script), "--version"], capture_output=True, text=True, timeout=60, check=True
        )
        assert out.stdout == expected


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read(reader: asyncio.StreamReader) -> dict:
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(await reader.readexactly(length))


async def test_python_m_stdio_starts(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sql_lsp",
        "--stdio",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(
            _frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}},
                }
            )
        )
        await proc.stdin.drain()
        while True:
            msg = await asyncio.wait_for(_read(proc.stdout), timeout=30)
            if msg.get("id") == 1:
                break
        assert msg["result"]["serverInfo"] == {"name": "sql-lsp", "version": sql_lsp.__version__}
        assert "hoverProvider" in msg["result"]["capabilities"]
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        await proc.stdin.drain()
        while True:
            msg = await asyncio.wait_for(_read(proc.stdout), timeout=10)
            if msg.get("id") == 2:
                break
        assert msg["result"] is None
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), timeout=5) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
