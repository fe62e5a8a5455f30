"""The language server with a live database: plan hovers, code lenses, the explain command,
HypoPG costs in fix titles, and what happens when the database is down. End to end over stdio."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest_lsp
from live_support import LiveServer
from lsprotocol import types as T
from pg_cluster import free_port
from pg_proxy import Proxy
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [sys.executable, "-m", "sql_lsp"]

QUERIES = """\
SELECT id, total FROM orders WHERE status = 'paid';
SELECT email FROM users WHERE id + 1 = 42;
UPDATE orders SET total = total + 1 WHERE id = 7;
CREATE TABLE notes (id bigint PRIMARY KEY, body text);
"""

MIGRATION = """\
CREATE TABLE order_items (
    order_id    bigint NOT NULL,
    line        int NOT NULL,
    product_id  bigint NOT NULL REFERENCES products (id),
    quantity    int NOT NULL,
    PRIMARY KEY (order_id, line)
);
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    @lsp_client.feature(T.CLIENT_REGISTER_CAPABILITY)
    def register(params: T.RegistrationParams) -> None:
        return None

    @lsp_client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(params: None) -> None:
        return None

    lsp_client.database_states = []  # the sql-lsp/databaseState notifications, in order

    @lsp_client.feature("sql-lsp/databaseState")
    def database_state(ls: LanguageClient, params: object) -> None:
        lsp_client.database_states.append(params)

    yield lsp_client
    await lsp_client.shutdown_session()


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


async def _start(client: LanguageClient, root: Path, **options: object) -> None:
    options.setdefault("diagnostics", {"debounceMs": 0})
    (root / "sql-lsp.toml").write_text("")
    await client.initialize_session(
        T.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=_uri(root),
            workspace_folders=[T.WorkspaceFolder(uri=_uri(root), name="shop")],
            initialization_options=options,
        )
    )


async def _open(client: LanguageClient, path: Path, text: str) -> str:
    path.write_text(text)
    uri = _uri(path)
    client.text_document_did_open(
        T.DidOpenTextDocumentParams(T.TextDocumentItem(uri, "sql", 1, text))
    )
    return uri


async def _until(check, timeout: float = 20.0):
    """Poll `check` (an async callable) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


async def _hover(client: LanguageClient, uri: str, line: int, character: int = 0) -> str | None:
    result = await client.text_document_hover_async(
        T.HoverParams(T.TextDocumentIdentifier(uri), T.Position(line, character))
    )
    if result is None:  # before the server has read its settings
        return None
    assert isinstance(result.contents, T.MarkupContent)
    return result.contents.value


async def test_plan_hover_code_lens_and_explain_command(
    client: LanguageClient, live_pg: LiveServer, tmp_path: Path
) -> None:
    await _start(client, tmp_path, database={"url": live_pg.ro_url})
    uri = await _open(client, tmp_path / "queries.sql", QUERIES)

    # the plan of the statement under the cursor, as markdown
    text = await _until(lambda: _hover(client, uri, 0, 2))
    assert text.startswith("**EXPLAIN** · ")
    assert "Seq Scan on orders" in text
    assert "Filter: (status = 'paid'::text)" in text

    # a DDL statement has no plan: no lens; queries and DML get "Explain"
    lenses = await client.text_document_code_lens_async(
        T.CodeLensParams(T.TextDocumentIdentifier(uri))
    )
    assert [(lens.range.start.line, lens.command.title) for lens in lenses] == [
        (0, "Explain"),
        (1, "Explain"),
        (2, "Explain"),
    ]
    command = lenses[0].command
    assert command.command == "sql-lsp.explain"

    # running a lens answers with the plan document and opens it in the client
    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    assert "Seq Scan on orders" in answer["markdown"]
    assert answer["json"][0]["Plan"]["Node Type"] == "Seq Scan"
    # the same plan as plain data for the VS Code plan view
    view = answer["view"]
    assert (view["title"], view["root"]["label"], view["root"]["costliest"]) == (
        "EXPLAIN",
        "Seq Scan on orders",
        True,
    )
    assert view["statement"] == "SELECT id, total FROM orders WHERE status = 'paid'"
    assert answer["whatIf"] is None  # no index fix on this statement

    # the client hears that the database is connected (once the live catalog is loaded)
    async def connected() -> bool:
        return [getattr(s, "state", None) for s in client.database_states][-1:] == ["connected"]

    assert await _until(connected)
    assert len(client.shown_documents) == 1
    shown = Path(client.shown_documents[0].uri.removeprefix("file://"))
    assert shown.suffix == ".md"
    assert "Seq Scan on orders" in shown.read_text()


async def test_explain_analyze_lens_only_for_plain_queries_and_dml_changes_nothing(
    client: LanguageClient, live_pg: LiveServer, tmp_path: Path
) -> None:
    await _start(client, tmp_path, database={"url": live_pg.admin_url}, explain={"analyze": True})
    uri = await _open(client, tmp_path / "queries.sql", QUERIES)

    async def lenses():
        got = await client.text_document_code_lens_async(
            T.CodeLensParams(T.TextDocumentIdentifier(uri))
        )
        return got if any(lens.command.title == "Explain analyze" for lens in got or []) else None

    got = await _until(lenses)
    assert [(lens.range.start.line, lens.command.title) for lens in got] == [
        (0, "Explain"),
        (0, "Explain analyze"),
        (1, "Explain"),
        (1, "Explain analyze"),
        (2, "Explain"),
    ]
    async with await live_pg.admin() as conn:
        before = await (await conn.execute("SELECT total FROM orders WHERE id = 7")).fetchone()
    # the hover of an UPDATE with explain.analyze on: a plan, never an execution
    text = await _hover(client, uri, 2)
    assert text.startswith("**EXPLAIN** · ")
    assert "Index Scan using orders_pkey on orders" in text
    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(
            command="sql-lsp.explain",
            arguments=[{"uri": uri, "position": {"line": 2, "character": 0}, "analyze": True}],
        )
    )
    assert "ANALYZE" not in answer["markdown"].split("\n", 1)[0]
    assert (
        "_EXPLAIN ANALYZE would run this UPDATE; showing the estimated plan_"
        in (answer["markdown"])
    )
    async with await live_pg.admin() as conn:
        after = await (await conn.execute("SELECT total FROM orders WHERE id = 7")).fetchone()
    assert after == before
    # a hover never analyzes, even a plain SELECT with explain.analyze on
    text = await _hover(client, uri, 0)
    assert text.startswith("**EXPLAIN** · ")
    # the "Explain analyze" lens (the command with analyze) does
    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(
            command="sql-lsp.explain",
            arguments=[{"uri": uri, "position": {"line": 0, "character": 0}, "analyze": True}],
        )
    )
    assert answer["markdown"].startswith("# EXPLAIN ANALYZE")


async def test_index_fixes_carry_the_hypopg_cost(
    client: LanguageClient, live_pg: LiveServer, tmp_path: Path
) -> None:
    await _start(client, tmp_path, database={"url": live_pg.ro_url})
    migration = await _open(client, tmp_path / "migration.sql", MIGRATION)

    async def fk_fix():
        actions = await client.text_document_code_action_async(
            T.CodeActionParams(
                T.TextDocumentIdentifier(migration),
                T.Range(T.Position(3, 30), T.Position(3, 30)),
                T.CodeActionContext(diagnostics=[]),
            )
        )
        titles = [a.title for a in actions or [] if isinstance(a, T.CodeAction)]
        return next((t for t in titles if "cost" in t), None)

    title = await _until(fk_fix)
    assert title is not None
    assert title.startswith("Create index on order_items (product_id) — cost ")
    before, after = title.rsplit("cost ", 1)[1].split(" → ")
    assert float(after) < float(before) * 0.7


async def test_database_down_keeps_linting_and_says_why(
    client: LanguageClient, tmp_path: Path
) -> None:
    url = f"postgresql://nobody:secret-pw@127.0.0.1:{free_port()}/shop"
    await _start(
        client,
        tmp_path,
        database={"url": url, "connectTimeoutMs": 500, "refreshIntervalSeconds": 0},
    )
    waiter = client.protocol.wait_for_notification_async(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    uri = await _open(client, tmp_path / "q.sql", "SELECT * FROM t;\n")
    await asyncio.wait_for(waiter, 5)
    assert [d.code for d in client.diagnostics[uri]] == ["select-star"]
    started = time.monotonic()
    text = await _hover(client, uri, 0)
    assert time.monotonic() - started < 3
    assert "\n" not in text.strip()
    assert "secret-pw" not in text
    assert "database" in text.lower() or "connect" in text.lower()
    states = [(s.state, s.message) for s in client.database_states]
    assert states[0] == ("connecting", "connecting")
    assert states[-1][0] == "unreachable" and "secret-pw" not in states[-1][1]


async def test_database_killed_mid_session_then_back(
    client: LanguageClient, live_pg: LiveServer, tmp_path: Path
) -> None:
    proxy = Proxy(live_pg.host, live_pg.port)
    await proxy.start()
    url = f"postgresql://{live_pg.ro_user}:{live_pg.ro_password}@127.0.0.1:{proxy.port}/shop"
    try:
        await _start(client, tmp_path, database={"url": url, "connectTimeoutMs": 1000})
        uri = await _open(client, tmp_path / "queries.sql", QUERIES)
        text = await _until(lambda: _hover(client, uri, 0))
        assert text is not None and text.startswith("**EXPLAIN** · ")

        await proxy.cut()  # the server dies: open connections break, new ones are refused
        # linting goes on
        client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                T.VersionedTextDocumentIdentifier(version=2, uri=uri),
                [T.TextDocumentContentChangeWholeDocument("SELECT * FROM orders;\n" + QUERIES)],
            )
        )

        async def linted():
            found = [(d.code, d.range.start.line) for d in client.diagnostics.get(uri, [])]
            return ("select-star", 0) in found

        assert await _until(linted, timeout=5)
        # a statement never planned: the hover says what happened, in one line, at once
        started = time.monotonic()
        text = await _hover(client, uri, 0)
        assert time.monotonic() - started < 3
        assert text is not None and "\n" not in text.strip()
        assert "Connection refused" in text
        assert live_pg.ro_password not in text

        await proxy.start()  # back on the same port: the hover recovers after the backoff

        async def plan_again():
            got = await _hover(client, uri, 0)
            return got if got and got.startswith("**EXPLAIN** · ") else None

        assert await _until(plan_again, timeout=40) is not None
    finally:
        await proxy.cut()


# -- hovers have their own lane ----------------------------------------------------------------


async def test_a_held_lock_delays_no_hover_and_analyze_takes_no_advisory_lock(
    client: LanguageClient, live_pg: LiveServer, tmp_path: Path
) -> None:
    """Another session holds ACCESS EXCLUSIVE on orders while a file of 300 statements on orders
    is being planned in the background: a hover on another table still gets its plan (it
    would get the budget's timeout line if it queued behind the background work), and a hover
    on orders says in one line that a lock is held, within the budget."""
    await _start(
        client,
        tmp_path,
        database={"url": live_pg.admin_url},
        explain={"analyze": True},
    )
    many = "".join(f"SELECT id FROM orders WHERE total > {i};\n" for i in range(300))
    text = many + "SELECT email FROM users WHERE id = 42;\nSELECT pg_advisory_lock(4242);\n"
    uri = await _open(client, tmp_path / "many.sql", text)
    assert (await _until(lambda: _hover(client, uri, 300))).startswith("**EXPLAIN** · ")
    admin = await live_pg.admin()
    try:
        await admin.execute("BEGIN")
        await admin.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        # new statement texts: the background plans them all again, each waiting for the lock
        edited = text.replace("total >", "total >=")
        client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                T.VersionedTextDocumentIdentifier(version=2, uri=uri),
                [T.TextDocumentContentChangeWholeDocument(text=edited)],
            )
        )
        client.text_document_did_save(T.DidSaveTextDocumentParams(T.TextDocumentIdentifier(uri)))
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"

        async def background_waits() -> bool:
            return (await (await admin.execute(waiting)).fetchone())[0] >= 1

        assert await _until(background_waits)  # the background work is under way
        started = time.monotonic()
        other = await _hover(client, uri, 300)
        other_s = time.monotonic() - started
        started = time.monotonic()
        locked = await _hover(client, uri, 7)
        locked_s = time.monotonic() - started
        print(
            f"hover under a held lock: other table {other_s * 1000:.0f} ms, "
            f"locked table {locked_s * 1000:.0f} ms"
        )
        assert other is not None and other.startswith("**EXPLAIN** · ")
        assert "Index Scan using users_pkey on users" in other
        assert locked == (
            "**EXPLAIN** — another session holds a lock on a table of this statement "
            "(waited 500 ms, database.lockTimeoutMs); try again later"
        )
        # a budget shorter than the lock timeout: the hover gives up first, and says so
        client.workspace_did_change_configuration(
            T.DidChangeConfigurationParams(settings={"sqlLsp": {"explain": {"hoverBudgetMs": 200}}})
        )
        await asyncio.sleep(0.3)
        assert await _hover(client, uri, 8) == (
            "**EXPLAIN** — no answer from the database within 200 ms (explain.hoverBudgetMs)"
        )
    finally:
        await admin.execute("ROLLBACK")
        await admin.close()
    # the "Explain analyze" command on pg_advisory_lock: refused, and no lock is left anywhere
    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(
            command="sql-lsp.explain",
            arguments=[{"uri": uri, "position": {"line": 301, "character": 0}, "analyze": True}],
        )
    )
    assert (
        "_EXPLAIN ANALYZE refused: it calls pg_advisory_lock(), a VOLATILE function that may act "
        "outside the transaction; showing the estimated plan_"
    ) in answer["markdown"]
    assert (await _hover(client, uri, 301)).startswith("**EXPLAIN** · ")
    async with await live_pg.admin() as conn:
        cur = await conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert await cur.fetchone() == (0,)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def slow_settings_client(lsp_client: LanguageClient):
    """A client that takes a second to answer workspace/configuration."""

    async def configuration(params: T.ConfigurationParams) -> list[object]:
        await asyncio.sleep(1.0)
        return [None for _ in params.items]

    lsp_client.protocol.fm.features[T.WORKSPACE_CONFIGURATION] = configuration

    @lsp_client.feature(T.CLIENT_REGISTER_CAPABILITY)
    def register(params: T.RegistrationParams) -> None:
        return None

    @lsp_client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(params: None) -> None:
        return None

    yield lsp_client
    await lsp_client.shutdown_session()


async def test_a_hover_right_after_opening_waits_for_the_settings(
    slow_settings_client: LanguageClient, live_pg: LiveServer, tmp_path: Path
) -> None:
    client = slow_settings_client
    await _start(client, tmp_path, database={"url": live_pg.ro_url})
    uri = await _open(client, tmp_path / "queries.sql", QUERIES)
    text = await _hover(client, uri, 0, 2)  # at once: the settings are still being fetched
    assert text is not None and text.startswith("**EXPLAIN** · ")
    assert "Seq Scan on orders" in text
