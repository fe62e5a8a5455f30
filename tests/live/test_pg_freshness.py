"""What a hover shows is what the database says now: an outage message disappears as soon as
the database is back (and never shows a stale "next try in"), and a dropped table loses its
cached plan at the next hover."""

from __future__ import annotations

from live_support import FakeClock, LiveServer
from pg_proxy import Proxy

from sql_lsp.config import Config, DatabaseSettings
from sql_lsp.database import Database, Failure, Problem
from sql_lsp.explain.plan import Plan
from sql_lsp.explain.run import Explained
from sql_lsp.live import LiveState

QUERY = "SELECT * FROM orders WHERE user_id = 42"


def refused(port: int) -> str:
    return (
        f'database unavailable: connection to server at "127.0.0.1", port {port} failed: '
        "Connection refused"
    )


async def test_the_outage_message_ends_with_the_outage(live_pg: LiveServer, clock: FakeClock):
    proxy = Proxy(live_pg.host, live_pg.port)
    await proxy.start()
    url = f"postgresql://{live_pg.ro_user}:{live_pg.ro_password}@127.0.0.1:{proxy.port}/shop"
    config = Config(database=live_pg.settings(url))
    live = LiveState(
        config,
        database_factory=lambda c: Database(c.database, environ={}, clock=clock),
        clock=clock,
    )
    try:
        assert isinstance(await live.plan(QUERY), Plan)
        await proxy.cut()
        await live.refresh()  # finds the server gone: backoff of 1 s, then 2 s
        clock.advance(1)
        await live.refresh()
        down = await live.plan("SELECT count(*) FROM users")
        assert isinstance(down, Failure)
        assert down.message == refused(proxy.port) + " (next try in 2 s)"
        # still down a second later: the cached answer says when the next try really is
        clock.advance(1)
        again = await live.plan("SELECT count(*) FROM users")
        assert isinstance(again, Failure)
        assert again.message == refused(proxy.port) + " (next try in 1 s)"
        await proxy.start()  # back
        clock.advance(1)  # the backoff is over: the next question gets the plan at once
        back = await live.plan("SELECT count(*) FROM users")
        assert isinstance(back, Plan), back
        assert live.db.status().startswith("connected to ")
    finally:
        await live.close()
        await proxy.cut()


async def test_a_dropped_table_loses_its_cached_plan(live_pg: LiveServer):
    admin = await live_pg.admin()
    await admin.execute("DROP TABLE IF EXISTS soon_gone")
    await admin.execute("CREATE TABLE soon_gone (id int PRIMARY KEY, note text)")
    await admin.execute("GRANT SELECT ON soon_gone TO PUBLIC")
    sql = "SELECT note FROM soon_gone WHERE id = 1"
    live = LiveState(Config(database=DatabaseSettings(**vars(live_pg.settings()))))
    try:
        await live.refresh()
        assert isinstance(await live.plan(sql), Plan)  # what the background planned
        facts = live.facts()
        assert facts is not None and isinstance(facts.plan(sql), Plan)
        hovered = await live.explain(sql)
        assert isinstance(hovered, Explained)
        await admin.execute("DROP TABLE soon_gone")
        # the next hover asks again and says so; the rules no longer see the old plan
        gone = await live.explain(sql)
        assert gone == Failure(Problem.NOT_IN_DATABASE, 'table "soon_gone" is not in the database')
        assert facts.plan(sql) is None
        assert await live.plan(sql) == gone
    finally:
        await live.close()
        await admin.execute("DROP TABLE IF EXISTS soon_gone")
        await admin.close()
