"""Nothing a hover sends can change the user's database, and every pooled connection comes
back clean. These run as a superuser on purpose: the safety must not depend on privileges."""

from __future__ import annotations

import psycopg
import pytest
from live_support import LiveServer

from sql_lsp.database import Database, DatabaseError, Problem
from sql_lsp.explain.run import Explained, explain, safe_session
from sql_lsp.explain.whatif import what_if


@pytest.fixture
async def victim(live_pg: LiveServer):
    """A table with 10 rows that the tests try (and must fail) to damage."""
    admin = await live_pg.admin()
    await admin.execute("DROP TABLE IF EXISTS victim")
    await admin.execute("CREATE TABLE victim (id int PRIMARY KEY, note text)")
    await admin.execute("INSERT INTO victim SELECT g, 'row ' || g FROM generate_series(1, 10) g")
    yield admin
    await admin.execute("DROP TABLE IF EXISTS victim")
    await admin.close()


async def victim_rows(admin: psycopg.AsyncConnection) -> list[tuple[int, str]]:
    cur = await admin.execute("SELECT id, note FROM victim ORDER BY id")
    return await cur.fetchall()


INTACT = [(i, f"row {i}") for i in range(1, 11)]


@pytest.fixture
async def superuser_db(live_pg: LiveServer):
    db = live_pg.database(live_pg.admin_url)
    yield db
    await db.close()


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN SELECT 1; COMMIT; DROP TABLE victim",
        "SELECT 1; COMMIT; DROP TABLE victim",
        "SELECT 1; DROP TABLE victim;",
        "SELECT * FROM victim;\nDELETE FROM victim",
        "SELECT 1 \\; DROP TABLE victim",
    ],
)
async def test_more_than_one_statement_is_refused(superuser_db: Database, victim, sql: str):
    result = await explain(superuser_db, sql)
    assert result.problem is Problem.NOT_ALLOWED
    assert result.message == "only a single statement can be explained"
    assert await victim_rows(victim) == INTACT


async def test_the_server_rejects_smuggled_statements_even_without_our_check(
    superuser_db: Database, victim
):
    """Second layer: the extended protocol runs exactly one statement."""

    async def smuggle(conn: psycopg.AsyncConnection) -> None:
        async with safe_session(conn, statement_timeout_ms=2000, lock_timeout_ms=500) as s:
            await s.execute("EXPLAIN SELECT 1; COMMIT; DROP TABLE victim")

    with pytest.raises(DatabaseError) as raised:
        await superuser_db.run(smuggle)
    assert raised.value.problem is Problem.SYNTAX
    assert raised.value.failure.message == (
        "PostgreSQL: cannot insert multiple commands into a prepared statement"
    )
    assert await victim_rows(victim) == INTACT


async def test_the_transaction_is_read_only_even_without_our_check(superuser_db: Database, victim):
    """Third layer: EXPLAIN ANALYZE of a DELETE, sent directly, is refused by PostgreSQL."""

    async def delete(conn: psycopg.AsyncConnection) -> None:
        async with safe_session(conn, statement_timeout_ms=2000, lock_timeout_ms=500) as s:
            await s.execute("EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM victim")

    with pytest.raises(DatabaseError) as raised:
        await superuser_db.run(delete)
    assert raised.value.problem is Problem.NOT_ALLOWED
    assert raised.value.failure.message == (
        "refused in a read-only transaction: cannot execute DELETE in a read-only transaction"
    )
    assert await victim_rows(victim) == INTACT


@pytest.mark.parametrize(
    ("sql", "note"),
    [
        (
            "DELETE FROM victim",
            "EXPLAIN ANALYZE would run this DELETE; showing the estimated plan",
        ),
        (
            "UPDATE victim SET note = 'changed'",
            "EXPLAIN ANALYZE would run this UPDATE; showing the estimated plan",
        ),
        (
            "INSERT INTO victim VALUES (11, 'new')",
            "EXPLAIN ANALYZE would run this INSERT; showing the estimated plan",
        ),
        (
            "MERGE INTO victim v USING (SELECT 1 AS id) s ON v.id = s.id WHEN MATCHED THEN DELETE",
            "EXPLAIN ANALYZE would run this MERGE; showing the estimated plan",
        ),
        (
            "WITH gone AS (DELETE FROM victim RETURNING *) SELECT count(*) FROM gone",
            "EXPLAIN ANALYZE would run its data-modifying CTE; showing the estimated plan",
        ),
        (
            "SELECT * INTO victim_copy FROM victim",
            "EXPLAIN ANALYZE would create a table (SELECT INTO); showing the estimated plan",
        ),
        (
            "SELECT * FROM victim FOR UPDATE",
            "EXPLAIN ANALYZE would lock rows (FOR UPDATE/SHARE); showing the estimated plan",
        ),
    ],
)
async def test_analyze_is_never_used_for_statements_that_write(
    superuser_db: Database, victim, sql: str, note: str
):
    result = await explain(superuser_db, sql, analyze=True)
    assert isinstance(result, Explained), result
    assert result.analyzed is False
    assert result.plan.analyzed is False
    assert result.note == note
    assert await victim_rows(victim) == INTACT
    cur = await victim.execute("SELECT to_regclass('victim_copy')")
    assert (await cur.fetchone())[0] is None


async def test_analyze_runs_plain_selects(superuser_db: Database, victim):
    result = await explain(superuser_db, "SELECT * FROM victim WHERE note <> 'row 3'", analyze=True)
    assert isinstance(result, Explained)
    assert result.analyzed is True
    assert result.note is None
    assert result.plan.root.node_type == "Seq Scan"
    assert result.plan.root.actual_rows == 9
    assert result.plan.root.rows_removed_by_filter == 1


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "DROP TABLE victim",
            "DROP TABLE cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        (
            "CREATE INDEX ON victim (note)",
            "CREATE INDEX cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        (
            "TRUNCATE victim",
            "TRUNCATE cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        (
            "DO $$ BEGIN DELETE FROM victim; END $$",
            "DO cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        (
            "CALL something()",
            "CALL cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        (
            "EXPLAIN ANALYZE DELETE FROM victim",
            "this is already an EXPLAIN: write the statement alone",
        ),
        (
            "LISTEN victim",
            "only SELECT, INSERT, UPDATE, DELETE and MERGE statements can be explained",
        ),
        (
            "COPY victim TO STDOUT",
            "COPY cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        ("\\! rm -rf /", "only a single statement can be explained"),
        ("", "no statement to explain"),
    ],
)
async def test_other_statements_are_refused(superuser_db: Database, victim, sql: str, message: str):
    result = await explain(superuser_db, sql, analyze=True)
    assert result.problem is Problem.NOT_ALLOWED
    assert result.message == message
    assert await victim_rows(victim) == INTACT


async def _session_state(conn: psycopg.AsyncConnection) -> tuple:
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM pg_prepared_statements), "
        "(SELECT count(*) FROM hypopg_list_indexes), "
        "current_setting('transaction_read_only'), current_setting('statement_timeout'), "
        "current_setting('lock_timeout'), current_setting('plan_cache_mode')"
    )
    row = await cur.fetchone()
    return (conn.info.transaction_status.name, *row)


CLEAN = ("IDLE", 0, 0, "off", "0", "0", "auto")


async def test_generic_plans_leave_no_prepared_statement(live_pg: LiveServer):
    db = live_pg.database(max_size=1)
    try:
        for _ in range(3):
            result = await explain(db, "SELECT * FROM orders WHERE user_id = %s")
            assert isinstance(result, Explained) and result.generic
        assert await db.run(_session_state) == CLEAN
    finally:
        await db.close()


async def test_failed_generic_plan_leaves_no_prepared_statement(live_pg: LiveServer):
    db = live_pg.database(max_size=1)
    try:
        # PREPARE succeeds, planning at EXPLAIN EXECUTE fails (constant folding of 1 / 0):
        # the prepared statement must still be deallocated
        result = await explain(
            db, "SELECT * FROM generate_series(1, 10) g WHERE g = $1 AND g > 1 / 0"
        )
        assert result.problem is Problem.ERROR
        assert result.message == "PostgreSQL: division by zero"
        assert await db.run(_session_state) == CLEAN
    finally:
        await db.close()


async def test_what_if_leaves_no_hypothetical_index(live_pg: LiveServer):
    db = live_pg.database(max_size=1)
    try:
        result = await what_if(
            db, "SELECT * FROM orders WHERE total = $1", "CREATE INDEX ON orders (total)"
        )
        assert result.index_used
        assert await db.run(_session_state) == CLEAN
    finally:
        await db.close()


async def test_pool_reset_cleans_what_work_left_behind(live_pg: LiveServer):
    """The pool's reset hook is the safety net for anything our own cleanup missed."""
    db = live_pg.database(max_size=1)

    async def litter(conn: psycopg.AsyncConnection) -> None:
        await conn.execute("PREPARE leftover AS SELECT 1")
        await conn.execute("SELECT hypopg_create_index('CREATE INDEX ON orders (status)')")
        await conn.execute("BEGIN")
        await conn.execute("SET LOCAL statement_timeout = 1234")

    try:
        await db.run(litter)
        assert await db.run(_session_state) == CLEAN
    finally:
        await db.close()


async def test_pooled_connection_is_clean_after_every_kind_of_explain(live_pg: LiveServer):
    db = live_pg.database(max_size=1, statement_timeout_ms=300)
    try:
        await explain(db, "SELECT * FROM users WHERE id = 5", analyze=True)
        await explain(db, "SELECT * FROM users WHERE email = :email")
        await explain(db, "SELECT pg_sleep(2)", analyze=True)  # times out
        await explain(db, "SELECT * FROM missing_table")  # fails
        assert await db.run(_session_state) == CLEAN
    finally:
        await db.close()


async def test_read_only_role_cannot_be_tricked_either(live_pg: LiveServer):
    db = live_pg.database()
    try:
        result = await explain(db, "SELECT 1; DROP TABLE orders")
        assert result.problem is Problem.NOT_ALLOWED
        assert isinstance(await explain(db, "SELECT count(*) FROM orders"), Explained)
    finally:
        await db.close()


async def test_pool_reset_leaves_no_lock_setting_temp_object_or_listener(live_pg: LiveServer):
    """Whatever a function run by planning could leave in the session — a session advisory
    lock, a setting, a temporary table, a LISTEN, a prepared statement — is gone before the
    connection serves the next request."""
    db = live_pg.database(live_pg.admin_url, max_size=1)
    admin = await live_pg.admin()

    async def litter(conn: psycopg.AsyncConnection) -> int:
        await conn.execute("SELECT pg_advisory_lock(4242), pg_advisory_lock_shared(7, 8)")
        await conn.execute("SET work_mem = '64kB'")
        await conn.execute("SET ROLE " + live_pg.ro_user)
        await conn.execute("CREATE TEMP TABLE litter (a int)")
        await conn.execute("LISTEN litter")
        await conn.execute("PREPARE leftover AS SELECT 1")
        return conn.info.backend_pid

    async def look(conn: psycopg.AsyncConnection) -> tuple:
        cur = await conn.execute(
            "SELECT pg_backend_pid(), current_setting('work_mem'), current_user = session_user, "
            "to_regclass('pg_temp.litter') IS NULL, "
            "(SELECT count(*) FROM pg_listening_channels()), "
            "(SELECT count(*) FROM pg_prepared_statements)"
        )
        return tuple(await cur.fetchone())

    try:
        pid = await db.run(litter)
        # the next request gets the same backend, cleaned
        assert await db.run(look) == (pid, "4MB", True, True, 0, 0)
        cur = await admin.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = %s", [pid]
        )
        assert await cur.fetchone() == (0,)
    finally:
        await admin.close()
        await db.close()
