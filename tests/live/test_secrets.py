"""A password never appears in any output, whatever the shape of the connection string: not in
a hover, window/showMessage, window/logMessage, the log file, stderr, nor in the output of
`sql-lsp check --database-url`. The redaction knows the secrets from the settings; it does not
rely on libpq leaving them out (a malformed URL makes libpq echo parts of it)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_support import LiveServer
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from sql_lsp.database import Database
from sql_lsp.explain.run import explain
from sql_lsp.redaction import Redactor, secrets_in

ENV_PASSWORD = "EnvS3cret77"


@dataclass(frozen=True)
class Shape:
    name: str
    url: str  # {host} and {port} are filled in
    secrets: tuple[str, ...]  # none of these may appear anywhere


SHAPES = [
    Shape(
        "bad percent-encoding",
        "postgresql://u:50%offXyz@{host}:{port}/shop",
        ("50%offXyz", "offXyz"),
    ),
    Shape(
        "a space", "postgresql://u:pa55 w0rdQ@{host}:{port}/shop", ("pa55 w0rdQ", "pa55", "w0rdQ")
    ),
    Shape(
        "an unencoded @",
        "postgresql://u:s3cr@tP4ss@{host}:{port}/shop",
        ("s3cr@tP4ss", "s3cr", "tP4ss"),
    ),
    Shape("an unencoded /", "postgresql://u:ab/cdXyz9@{host}:{port}/shop", ("ab/cdXyz9", "cdXyz9")),
    Shape(
        "an encoded password",
        "postgresql://u:Enc%40ded99@{host}:{port}/shop",
        ("Enc%40ded99", "Enc@ded99"),
    ),
    Shape("?password=", "postgresql://u@{host}:{port}/shop?password=Qu3ryS3cret", ("Qu3ryS3cret",)),
    Shape(
        "?password= among others",
        "postgresql://u@{host}:{port}/shop?sslmode=disable&password=Qu3ry%20Two&x=1",
        ("Qu3ry%20Two", "Qu3ry Two", "Qu3ry"),
    ),
    Shape(
        "key=value",
        "host={host} port={port} dbname=shop user=u password=KvS3cret99",
        ("KvS3cret99",),
    ),
    Shape(
        "key=value quoted",
        "host={host} port={port} dbname=shop user=u password='qu0ted s3cret'",
        ("qu0ted s3cret", "qu0ted", "s3cret"),
    ),
    Shape(
        "key=value unterminated quote",
        "host={host} port={port} dbname=shop user=u password='Unterm1nated",
        ("Unterm1nated",),
    ),
    Shape("PGPASSWORD", "postgresql://u@{host}:{port}/shop", (ENV_PASSWORD,)),
]


def _url(shape: Shape, live_pg: LiveServer) -> str:
    return shape.url.replace("{host}", live_pg.host).replace("{port}", str(live_pg.port))


def _wrong_password(live_pg: LiveServer) -> Shape:
    """The real role with a wrong password: the server itself answers."""
    url = f"postgresql://{live_pg.ro_user}:Wr0ngPassw0rd@{{host}}:{{port}}/shop"
    return Shape("wrong password", url, ("Wr0ngPassw0rd",))


def _leaks(text: str, shapes: list[Shape]) -> list[tuple[str, str]]:
    return [(s.name, secret) for s in shapes for secret in s.secrets if secret in text]


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_secrets_in_knows_every_shape(shape: Shape) -> None:
    url = shape.url.replace("{host}", "h").replace("{port}", "5432")
    found = Redactor()
    found.add(url)
    if shape.name == "PGPASSWORD":
        assert secrets_in(url) == set()
        found.add_environment({"PGPASSWORD": ENV_PASSWORD})
    text = f"libpq said: {url} / {' | '.join(shape.secrets)}"
    assert _leaks(found(text), [shape]) == []


async def test_database_messages_name_no_secret(
    live_pg: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sql_lsp")
    shapes = [*SHAPES, _wrong_password(live_pg)]
    texts = []
    for shape in shapes:
        db = Database(live_pg.settings(_url(shape, live_pg)), environ={"PGPASSWORD": ENV_PASSWORD})
        try:
            result = await explain(db, "SELECT 1")
            texts += [str(result), db.status(), db.target]
        finally:
            await db.close()
    texts += [r.getMessage() for r in caplog.records]
    assert all(t for t in texts[:3])
    assert _leaks("\n".join(texts), shapes) == []


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_check_prints_no_secret(shape: Shape, live_pg: LiveServer, tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT id FROM orders WHERE id = 1;\n")
    env = {**os.environ, "PGPASSWORD": ENV_PASSWORD}
    env.pop("SQL_LSP_DATABASE_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sql_lsp",
            "check",
            "--database-url",
            _url(shape, live_pg),
            str(sql),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert done.returncode in (0, 2), out
    assert out.startswith("sql-lsp: "), out  # it says why the database is not used
    assert _leaks(out, [shape]) == []


async def test_the_language_server_shows_and_logs_no_secret(
    live_pg: LiveServer, tmp_path: Path
) -> None:
    """One server, the database setting changed to every shape in turn: hovers, messages, log
    messages, the log file and stderr."""
    log_file, err_file = tmp_path / "server.log", tmp_path / "stderr.txt"
    shapes = [*SHAPES, _wrong_password(live_pg)]
    env = {**os.environ, "PGPASSWORD": ENV_PASSWORD}
    env.pop("SQL_LSP_DATABASE_URL", None)
    config = ClientServerConfig(
        server_command=[
            "sh",
            "-c",
            'exec "$0" -m sql_lsp --log-file "$1" 2>"$2"',
            sys.executable,
            str(log_file),
            str(err_file),
        ],
        server_env=env,
    )
    client: LanguageClient = await config.start()  # type: ignore[assignment]

    @client.feature(T.CLIENT_REGISTER_CAPABILITY)
    def register(params: T.RegistrationParams) -> None:
        return None

    @client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(params: None) -> None:
        return None

    hovers: list[str] = []
    try:
        (tmp_path / "sql-lsp.toml").write_text("")
        first = _url(shapes[0], live_pg)
        await client.initialize_session(
            T.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=tmp_path.as_uri(),
                workspace_folders=[T.WorkspaceFolder(uri=tmp_path.as_uri(), name="w")],
                initialization_options={"database": {"url": first}},
            )
        )
        uri = (tmp_path / "q.sql").as_uri()
        client.text_document_did_open(
            T.DidOpenTextDocumentParams(
                T.TextDocumentItem(uri, "sql", 1, "SELECT id FROM orders WHERE id = 1;\n")
            )
        )
        for shape in shapes:
            client.workspace_did_change_configuration(
                T.DidChangeConfigurationParams(
                    settings={"sqlLsp": {"database": {"url": _url(shape, live_pg)}}}
                )
            )
            await asyncio.sleep(0.3)  # the server reconnects and logs why it cannot
            hover = await client.text_document_hover_async(
                T.HoverParams(T.TextDocumentIdentifier(uri), T.Position(0, 0))
            )
            assert hover is not None and isinstance(hover.contents, T.MarkupContent)
            hovers.append(hover.contents.value)
            assert hover.contents.value.startswith("**EXPLAIN** — "), hover.contents.value
    finally:
        await client.shutdown_session()
        await client.stop()
    shown = [m.message for m in client.messages]
    logged = [m.message for m in client.log_messages]
    assert any("database" in m for m in logged)  # the failures were logged...
    assert log_file.read_text()  # ...and written
    everything = "\n".join([*hovers, *shown, *logged, log_file.read_text(), err_file.read_text()])
    assert _leaks(everything, shapes) == []
