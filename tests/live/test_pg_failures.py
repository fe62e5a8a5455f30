"""A database that is down, goes away, is slow, locked or refuses the login: one-line answers,
backoff instead of a retry storm, recovery when it is back, and never a password in sight."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap

import psycopg
import pytest
from live_support import FakeClock, LiveServer
from pg_cluster import free_port
from pg_proxy import Proxy

from sql_lsp.config import DatabaseSettings
from sql_lsp.database import Database, DatabaseError, Problem
from sql_lsp.explain.plan import Plan
from sql_lsp.explain.run import Explained, explain

QUERY = "SELECT * FROM orders WHERE user_id = 42"


def refused(port: int) -> str:
    return (
        f'database unavailable: connection to server at "127.0.0.1", port {port} failed: '
        "Connection refused"
    )


async def test_down_at_start_answers_at_once_and_backs_off(live_pg: LiveServer, clock: FakeClock):
    port = free_port()
    db = live_pg.database(
        f"postgresql://{live_pg.ro_user}:{live_pg.ro_password}@127.0.0.1:{port}/shop",
        clock=clock,
    )
    try:
        first = await explain(db, QUERY)
        assert first.problem is Problem.UNAVAILABLE
        assert first.message == refused(port) + " (next try in 1 s)"
        assert db.connect_attempts == 1
        # while backing off: the same answer, without touching the network
        for _ in range(50):
            again = await explain(db, QUERY)
            assert again.message == refused(port) + " (next try in 1 s)"
        assert db.connect_attempts == 1
        clock.advance(0.5)
        assert (await explain(db, QUERY)).message == refused(port) + " (next try in 1 s)"
        assert db.connect_attempts == 1
        # the delay doubles after each failed attempt
        clock.advance(0.5)
        assert (await explain(db, QUERY)).message == refused(port) + " (next try in 2 s)"
        assert db.connect_attempts == 2
        clock.advance(2)
        assert (await explain(db, QUERY)).message == refused(port) + " (next try in 4 s)"
        assert db.connect_attempts == 3
        assert db.status() == refused(port) + " (next try in 4 s)"
    finally:
        await db.close()


async def test_backoff_delay_is_capped(clock: FakeClock):
    db = Database(
        DatabaseSettings(url=f"postgresql://nobody@127.0.0.1:{free_port()}/x"),
        environ={},
        clock=clock,
        backoff_initial=1,
        backoff_max=8,
    )
    delays = []
    for _ in range(6):
        await explain(db, QUERY)
        delays.append(db.retry_in())
        clock.advance(db.retry_in())
    assert delays == [1, 2, 4, 8, 8, 8]
    assert db.connect_attempts == 6
    await db.close()


async def test_killed_mid_session_then_back(live_pg: LiveServer, clock: FakeClock):
    proxy = Proxy(live_pg.host, live_pg.port)
    await proxy.start()
    url = f"postgresql://{live_pg.ro_user}:{live_pg.ro_password}@127.0.0.1:{proxy.port}/shop"
    db = live_pg.database(url, clock=clock)
    try:
        assert isinstance(await explain(db, QUERY), Explained)
        assert db.connect_attempts == 1

        await proxy.cut()  # the server "dies": open connections break, new ones are refused
        lost = await explain(db, QUERY)
        # the broken connection was dropped and one reconnection tried at once, which failed
        assert lost.problem is Problem.UNAVAILABLE
        assert lost.message == refused(proxy.port) + " (next try in 1 s)"
        assert db.connect_attempts == 2
        for _ in range(20):
            assert (await explain(db, QUERY)).problem is Problem.UNAVAILABLE
        assert db.connect_attempts == 2  # no retry storm

        await proxy.start()  # back on the same port
        # still inside the backoff window: the answer stays the failure, nothing is tried
        assert (await explain(db, QUERY)).problem is Problem.UNAVAILABLE
        assert db.connect_attempts == 2
        clock.advance(1)
        recovered = await explain(db, QUERY)
        assert isinstance(recovered, Explained)
        assert db.connect_attempts == 3
        assert db.failure is None
        assert db.status().startswith(f"connected to {live_pg.ro_user}@127.0.0.1:{proxy.port}/shop")
    finally:
        await db.close()
        await proxy.cut()


async def test_connection_lost_while_server_stays_up_recovers_transparently(
    live_pg: LiveServer, clock: FakeClock
):
    db = live_pg.database(max_size=1, clock=clock)
    admin = await live_pg.admin()
    try:
        assert isinstance(await explain(db, QUERY), Explained)

        async def backend_pid(conn: psycopg.AsyncConnection) -> int:
            return conn.info.backend_pid

        pid = await db.run(backend_pid)
        for _ in range(500):  # the pool resets a returned connection in the background
            cur = await admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'idle' "
                "AND query LIKE 'DEALLOCATE ALL%%'",
                [pid],
            )
            if await cur.fetchone() is not None:
                break
            await asyncio.sleep(0.01)
        await admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(500):  # the backend exits asynchronously
            cur = await admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if await cur.fetchone() is None:
                break
            await asyncio.sleep(0.01)
        # the pooled connection is dead; the call reconnects once and succeeds
        again = await explain(db, QUERY)
        assert isinstance(again, Explained)
        assert await db.run(backend_pid) != pid
        assert db.connect_attempts == 2
        assert db.failure is None
    finally:
        await admin.close()
        await db.close()


async def test_statement_timeout(live_pg: LiveServer):
    db = live_pg.database(statement_timeout_ms=200)
    try:
        # a slow query that calls no volatile function (pg_sleep is volatile: never analyzed)
        result = await explain(
            db, "SELECT count(*) FROM generate_series(1, 500000000) g", analyze=True
        )
        assert result.problem is Problem.TIMEOUT
        assert result.message == "cancelled after 200 ms (database.statementTimeoutMs)"
        # the connection is fine afterwards
        assert isinstance(await explain(db, "SELECT 1"), Explained)
    finally:
        await db.close()


async def test_lock_held_by_another_session(live_pg: LiveServer):
    db = live_pg.database(lock_timeout_ms=100, statement_timeout_ms=5000)
    admin = await live_pg.admin()
    try:
        await admin.execute("BEGIN")
        await admin.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        result = await explain(db, "SELECT * FROM products WHERE price > 10")
        assert result.problem is Problem.LOCK_TIMEOUT
        assert result.message == (
            "another session holds a lock on a table of this statement (waited 100 ms, "
            "database.lockTimeoutMs); try again later"
        )
        await admin.execute("ROLLBACK")
        assert isinstance(await explain(db, "SELECT * FROM products WHERE price > 10"), Explained)
    finally:
        await admin.close()
        await db.close()


async def test_wrong_password_names_no_password(
    live_pg: LiveServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
):
    wrong = "Wr0ng-Secret-Value"
    url = f"postgresql://{live_pg.ro_user}:{wrong}@{live_pg.host}:{live_pg.port}/shop"
    db = live_pg.database(url, clock=clock)
    caplog.set_level(logging.DEBUG)
    try:
        result = await explain(db, QUERY)
        assert result.problem is Problem.AUTH
        assert result.message == (
            f'database login failed: connection to server at "{live_pg.host}", port '
            f'{live_pg.port} failed: password authentication failed for user "{live_pg.ro_user}"'
            " (next try in 1 s)"
        )
        with pytest.raises(DatabaseError) as raised:
            await db.run(_noop)
        texts = [result.message, str(raised.value), repr(raised.value), db.status(), caplog.text]
        for text in texts:
            assert wrong not in text
            assert live_pg.ro_password not in text
        assert db.connect_attempts == 1
    finally:
        await db.close()


async def _noop(conn: psycopg.AsyncConnection) -> None:
    return None


async def test_right_password_works(live_pg: LiveServer):
    db = live_pg.database()
    try:
        result = await explain(db, QUERY)
        assert isinstance(result, Explained)
        assert isinstance(result.plan, Plan)
        assert db.hypopg
        assert live_pg.ro_password not in db.status()
    finally:
        await db.close()


async def test_not_configured():
    db = Database(DatabaseSettings(), environ={})
    assert not db.configured
    result = await explain(db, QUERY)
    assert result.problem is Problem.NOT_CONFIGURED
    assert result.message == "no database configured (set database.url or SQL_LSP_DATABASE_URL)"
    assert db.status() == "no database configured"


async def test_invalid_url_names_no_password():
    db = Database(DatabaseSettings(url="host=localhost password=Hunter2-Secret port"), environ={})
    assert db.configured
    result = await explain(db, QUERY)
    assert result.problem is Problem.BAD_SETTINGS
    assert result.message.startswith("invalid database.url: ")
    assert "Hunter2-Secret" not in result.message
    assert "Hunter2-Secret" not in db.status()
    assert db.connect_attempts == 0


async def test_closed_database_answers_at_once(live_pg: LiveServer):
    db = live_pg.database()
    assert isinstance(await explain(db, QUERY), Explained)
    await db.close()
    result = await explain(db, QUERY)
    assert result.problem is Problem.UNAVAILABLE
    assert result.message == "database connection closed"
    assert db.connect_attempts == 1


async def test_cancelling_the_task_cancels_the_server_query(live_pg: LiveServer):
    db = live_pg.database(max_size=1, statement_timeout_ms=60_000)
    admin = await live_pg.admin()
    marker = "cancel_me_7f3a"
    try:
        slow = f"SELECT count(*) AS {marker} FROM generate_series(1, 2000000000) g"
        task = asyncio.ensure_future(explain(db, slow, analyze=True))
        running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND state = 'active'"
        pattern = f"%ANALYZE%{marker}%"
        for _ in range(200):  # wait until the server runs it
            cur = await admin.execute(running, [pattern])
            if (await cur.fetchone())[0] == 1:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the statement never started")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cur = await admin.execute(running, [pattern])
        assert (await cur.fetchone())[0] == 0
        # the one pooled connection is reusable
        assert isinstance(await explain(db, QUERY), Explained)
    finally:
        await admin.close()
        await db.close()


def test_process_exits_after_close(live_pg: LiveServer, tmp_path):
    """An opened pool, closed with `close()`, lets `asyncio.run` and the process end."""
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio
            from sql_lsp.config import DatabaseSettings
            from sql_lsp.database import Database
            from sql_lsp.explain.run import explain, Explained

            async def main():
                db = Database(DatabaseSettings(url={live_pg.ro_url!r}), environ={{}})
                result = await explain(db, "SELECT 1")
                await db.close()
                print(type(result).__name__)

            asyncio.run(main())
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Explained\n"
    assert live_pg.ro_password not in proc.stderr
