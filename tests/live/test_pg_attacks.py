"""Statements that act outside a read-only, rolled-back transaction, replayed against the real
server with EXPLAIN ANALYZE asked for: each is answered with the estimated plan and one line
naming the function that made ANALYZE refuse, and afterwards nothing has changed — rows,
sequences, replication slots, server files, locks, statistics, settings, other sessions.

They run as a superuser on purpose (the safety must not depend on privileges), in a database
of their own with dblink installed in an extension schema (`ext`)."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from live_support import LiveServer, url_with
from lsprotocol import types as T
from psycopg.conninfo import conninfo_to_dict
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from sql_lsp.database import Database, Problem
from sql_lsp.explain.run import Explained, explain


@dataclass
class Target:
    admin: psycopg.AsyncConnection  # superuser, autocommit, on the attack database
    db: Database  # what sql-lsp uses: the same superuser
    dsn: str  # key=value conninfo of the attack database, for dblink
    bystander: psycopg.AsyncConnection  # another session the attacks try to kill
    server_file: Path  # where lo_export would write


SETUP = """
CREATE SCHEMA ext;
CREATE EXTENSION dblink SCHEMA ext;
CREATE TABLE victim (id int PRIMARY KEY, note text);
INSERT INTO victim SELECT g, 'row ' || g FROM generate_series(1, 10) g;
CREATE SEQUENCE victim_seq;
CREATE FUNCTION sneaky(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
  $$ BEGIN PERFORM ext.dblink_exec('{dsn}', 'DELETE FROM victim'); RETURN $1; END $$;
CREATE FUNCTION loud(int) RETURNS boolean LANGUAGE plpgsql VOLATILE AS
  $$ BEGIN PERFORM ext.dblink_exec('{dsn}', 'DELETE FROM victim'); RETURN true; END $$;
CREATE FUNCTION loud_eq(int, int) RETURNS boolean LANGUAGE plpgsql VOLATILE AS
  $$ BEGIN PERFORM ext.dblink_exec('{dsn}', 'DELETE FROM victim'); RETURN $1 = $2; END $$;
CREATE OPERATOR === (FUNCTION = loud_eq, LEFTARG = int, RIGHTARG = int);
CREATE DOMAIN checked_int AS int CHECK (loud(VALUE));
CREATE VIEW evil AS SELECT id, ext.dblink_exec('{dsn}', 'DELETE FROM victim') AS gone FROM victim;
CREATE VIEW evil_nested AS SELECT * FROM evil;
"""


@pytest.fixture
async def target(live_pg: LiveServer, tmp_path: Path) -> AsyncIterator[Target]:
    name = f"attack_{secrets.token_hex(4)}"
    base = await live_pg.admin()
    await base.execute(f'CREATE DATABASE "{name}"')
    url = url_with(live_pg.admin_url, dbname=name)
    params = conninfo_to_dict(url)
    dsn = " ".join(f"{k}={params[k]}" for k in ("host", "port", "dbname", "user") if k in params)
    admin = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await admin.execute(SETUP.replace("{dsn}", dsn))
    bystander = await psycopg.AsyncConnection.connect(url, autocommit=True)
    db = live_pg.database(url, max_size=2)
    server_file = Path(f"/tmp/sql-lsp-attack-{secrets.token_hex(4)}")
    try:
        yield Target(admin, db, dsn, bystander, server_file)
    finally:
        await db.close()
        await bystander.close()
        await admin.close()
        await base.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await base.close()
        if server_file.exists():
            os.unlink(server_file)


async def state(t: Target) -> dict[str, object]:
    """Everything an attack could change, as seen from outside."""

    async def one(sql: str) -> object:
        cur = await t.admin.execute(sql)
        row = await cur.fetchone()
        return row[0] if row else None

    return {
        "rows": await one("SELECT count(*) FROM victim"),
        "sequence": await one("SELECT last_value::text || is_called::text FROM victim_seq"),
        "slots": await one("SELECT count(*) FROM pg_replication_slots"),
        "advisory locks": await one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
        "stats reset": await one(
            "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()"
        ),
        "wal file": await one("SELECT pg_walfile_name(pg_current_wal_lsn())"),
        "large objects": await one("SELECT count(*) FROM pg_largeobject_metadata"),
        "bystander": await one(
            f"SELECT count(*) FROM pg_stat_activity WHERE pid = {t.bystander.info.backend_pid}"
        ),
        "server file": t.server_file.exists(),
        "prepared": await one("SELECT count(*) FROM pg_prepared_xacts"),
    }


async def pooled_session(t: Target) -> tuple:
    """What the pooled connection itself carries after the attack."""

    async def look(conn: psycopg.AsyncConnection) -> tuple:
        cur = await conn.execute(
            "SELECT current_setting('work_mem'), "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            " AND pid = pg_backend_pid()), "
            "(SELECT count(*) FROM pg_prepared_statements), "
            "(SELECT count(*) FROM pg_listening_channels()), "
            "ext.dblink_get_connections()"
        )
        return tuple(await cur.fetchone())

    return await t.db.run(look)


CLEAN_SESSION = ("4MB", 0, 0, 0, None)

VOLATILE = "a VOLATILE function that may act outside the transaction"


def refused(function: str, why: str = VOLATILE) -> str:
    return f"EXPLAIN ANALYZE refused: it calls {function}, {why}; showing the estimated plan"


ATTACKS = [
    (
        "SELECT ext.dblink_exec('{dsn}', 'DELETE FROM victim')",
        refused("ext.dblink_exec()"),
    ),
    (
        "SELECT * FROM ext.dblink('{dsn}', 'INSERT INTO victim VALUES (99) RETURNING id') "
        "AS t(id int)",
        refused("ext.dblink()"),
    ),
    ("SELECT pg_terminate_backend({bystander})", refused("pg_terminate_backend()")),
    ("SELECT pg_cancel_backend({bystander})", refused("pg_cancel_backend()")),
    (
        "SELECT * FROM pg_create_physical_replication_slot('evil', true)",
        refused("pg_create_physical_replication_slot()"),
    ),
    (
        "SELECT lo_export(lo_from_bytea(0, 'owned'), '{file}')",
        refused("lo_export()"),
    ),
    ("SELECT pg_stat_reset()", refused("pg_stat_reset()")),
    ("SELECT pg_reload_conf()", refused("pg_reload_conf()")),
    ("SELECT pg_switch_wal()", refused("pg_switch_wal()")),
    ("SELECT pg_advisory_lock(4242)", refused("pg_advisory_lock()")),
    ("SELECT nextval('victim_seq')", refused("nextval()")),
    ("SELECT setval('victim_seq', 500)", refused("setval()")),
    (
        "SELECT set_config('work_mem', '64kB', false)",
        refused("set_config()"),
    ),
    ("SELECT pg_notify('ch', 'x')", refused("pg_notify()")),
    ("SELECT pg_sleep(30)", refused("pg_sleep()")),
    # through a view, and a view of a view
    ("SELECT count(*) FROM evil", refused("ext.dblink_exec()")),
    ("SELECT id FROM evil_nested WHERE gone IS NOT NULL", refused("ext.dblink_exec()")),
    # a user-defined function labelled IMMUTABLE: the label cannot be trusted
    (
        "SELECT sneaky(id) FROM victim",
        refused(
            "sneaky()",
            "a user-defined function whose IMMUTABLE label cannot be verified",
        ),
    ),
    # an operator backed by a volatile function
    ("SELECT * FROM victim WHERE id OPERATOR(public.===) 3", refused("loud_eq()")),
    # a domain check calling a volatile function
    ("SELECT id::checked_int FROM victim", refused("loud()")),
    # built-ins that are not VOLATILE but act anyway
    ("SELECT txid_current()", refused("txid_current()", "which assigns a transaction id")),
]


@pytest.mark.parametrize(("sql", "note"), ATTACKS)
async def test_analyze_refuses_what_acts_outside_the_transaction(
    target: Target, sql: str, note: str
) -> None:
    sql = (
        sql.replace("{dsn}", target.dsn)
        .replace("{bystander}", str(target.bystander.info.backend_pid))
        .replace("{file}", str(target.server_file))
    )
    before = await state(target)
    result = await explain(target.db, sql, analyze=True)
    assert isinstance(result, Explained), result
    assert (result.analyzed, result.note) == (False, note)
    assert await state(target) == before
    assert await pooled_session(target) == CLEAN_SESSION


async def test_functions_that_run_queries_are_refused_even_without_analyze(target: Target) -> None:
    before = await state(target)
    result = await explain(
        target.db, "SELECT * FROM victim WHERE note = table_to_xml('evil', true, true, '')::text"
    )
    assert result.problem is Problem.NOT_ALLOWED
    assert result.message == (
        "cannot explain: table_to_xml() runs queries of its own, and planning may evaluate it"
    )
    assert await state(target) == before


async def test_analyze_still_runs_a_query_of_stable_and_immutable_builtins(target: Target) -> None:
    result = await explain(
        target.db,
        "SELECT id, upper(note), now() FROM victim WHERE id % 2 = 0 AND note LIKE 'row%'",
        analyze=True,
    )
    assert isinstance(result, Explained), result
    assert (result.analyzed, result.note) == (True, None)
    assert result.plan.root.actual_rows == 5


async def test_a_plain_explain_of_every_attack_changes_nothing(target: Target) -> None:
    """Hovers and background plans never analyze: the same statements, planned only."""
    before = await state(target)
    for sql, _ in ATTACKS:
        sql = (
            sql.replace("{dsn}", target.dsn)
            .replace("{bystander}", str(target.bystander.info.backend_pid))
            .replace("{file}", str(target.server_file))
        )
        result = await explain(target.db, sql)
        assert isinstance(result, Explained), (sql, result)
        assert result.analyzed is False
    assert await state(target) == before
    assert await pooled_session(target) == CLEAN_SESSION


async def test_a_connection_left_with_an_open_dblink_link_is_closed(target: Target) -> None:
    """dblink's connections outlive DISCARD ALL: the pool closes such a connection."""
    db = Database(target.db.settings, environ={}, max_size=1)

    async def link(conn: psycopg.AsyncConnection) -> int:
        await conn.execute("SELECT ext.dblink_connect('left_open', %s)", [target.dsn])
        return conn.info.backend_pid

    async def backend(conn: psycopg.AsyncConnection) -> tuple:
        cur = await conn.execute("SELECT pg_backend_pid(), ext.dblink_get_connections()")
        return tuple(await cur.fetchone())

    try:
        pid = await db.run(link)
        other, links = await db.run(backend)
        assert (other != pid, links) == (True, None)
    finally:
        await db.close()


async def test_the_language_server_replays_the_attacks_harmlessly(
    target: Target, live_pg: LiveServer, tmp_path: Path
) -> None:
    """The attacks of the report, end to end with explain.analyze on: hovers, code lenses and
    the "Explain analyze" command on each of them; afterwards nothing has changed."""
    attacks = [sql for sql, _ in ATTACKS if "{bystander}" not in sql]
    attacks = [
        s.replace("{dsn}", target.dsn).replace("{file}", str(target.server_file)) for s in attacks
    ]
    text = "".join(f"{sql};\n" for sql in attacks)
    path = tmp_path / "attacks.sql"
    path.write_text(text)
    (tmp_path / "sql-lsp.toml").write_text("")
    url = url_with(live_pg.admin_url, dbname=conninfo_to_dict(target.dsn)["dbname"])
    client: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=[sys.executable, "-m", "sql_lsp"]
    ).start()

    @client.feature(T.CLIENT_REGISTER_CAPABILITY)
    def register(params: T.RegistrationParams) -> None:
        return None

    @client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(params: None) -> None:
        return None

    before = await state(target)
    answers: list[str] = []
    try:
        await client.initialize_session(
            T.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=tmp_path.as_uri(),
                workspace_folders=[T.WorkspaceFolder(uri=tmp_path.as_uri(), name="w")],
                initialization_options={"database": {"url": url}, "explain": {"analyze": True}},
            )
        )
        uri = path.as_uri()
        client.text_document_did_open(
            T.DidOpenTextDocumentParams(T.TextDocumentItem(uri, "sql", 1, text))
        )
        for line in range(len(attacks)):
            hover = await client.text_document_hover_async(
                T.HoverParams(T.TextDocumentIdentifier(uri), T.Position(line, 0))
            )
            assert hover is not None and isinstance(hover.contents, T.MarkupContent)
            assert hover.contents.value.startswith("**EXPLAIN** · "), hover.contents.value
            answer = await client.workspace_execute_command_async(
                T.ExecuteCommandParams(
                    command="sql-lsp.explain",
                    arguments=[
                        {"uri": uri, "position": {"line": line, "character": 0}, "analyze": True}
                    ],
                )
            )
            answers.append(answer["markdown"])
        lenses = await client.text_document_code_lens_async(
            T.CodeLensParams(T.TextDocumentIdentifier(uri))
        )
        assert {lens.command.title for lens in lenses} == {"Explain", "Explain analyze"}
    finally:
        await client.shutdown_session()
        await client.stop()
    assert all(a.startswith("# EXPLAIN\n") for a in answers), answers
    assert all("_EXPLAIN ANALYZE refused: it calls " in a for a in answers)
    assert await state(target) == before
