"""Live PostgreSQL for the tests in this folder: one server per test session.

Unless SQL_LSP_TEST_DATABASE_URL names a server (a superuser URL; a throwaway database and role
are created there and dropped at the end), a throwaway cluster is created with initdb + pg_ctl in
a temporary directory (see pg_cluster.py) and removed at the end. Either way the database gets
HypoPG, the shop schema with data (shop.sql), and a read-only role that logs in with a password.
A second small database without HypoPG serves the "HypoPG missing" case.

Nothing here skips: without PostgreSQL binaries or HypoPG the fixture fails with what to install.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pg_cluster import PASSWORD_GROUP, Cluster
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sql_lsp.config import DatabaseSettings
from sql_lsp.database import Database

HERE = Path(__file__).parent


@dataclass(frozen=True)
class LiveServer:
    """The server the live tests use. `admin_url` is a superuser; `ro_url` the read-only role
    (`ro_user` / `ro_password`), both on the shop database; `nohypo_url` a database without
    HypoPG."""

    admin_url: str
    ro_url: str
    ro_user: str
    ro_password: str
    nohypo_url: str
    host: str
    port: int
    owned: bool  # a throwaway cluster started by the tests (not SQL_LSP_TEST_DATABASE_URL)

    def settings(self, url: str | None = None, **overrides: object) -> DatabaseSettings:
        """DatabaseSettings for `url` (default: the read-only role) with test-friendly values."""
        values: dict[str, object] = {
            "url": url or self.ro_url,
            "connect_timeout_ms": 3000,
            "statement_timeout_ms": 5000,
            "lock_timeout_ms": 1000,
        }
        values.update(overrides)
        return DatabaseSettings(**values)  # type: ignore[arg-type]

    def database(self, url: str | None = None, **kwargs: object) -> Database:
        """A Database on `url` (default: the read-only role); settings overrides as kwargs."""
        fields = set(DatabaseSettings.__dataclass_fields__)
        settings = {k: v for k, v in kwargs.items() if k in fields}
        rest = {k: v for k, v in kwargs.items() if k not in fields}
        return Database(self.settings(url, **settings), environ={}, **rest)  # type: ignore[arg-type]

    async def admin(self) -> psycopg.AsyncConnection:
        """A new autocommit superuser connection to the shop database (close it)."""
        return await psycopg.AsyncConnection.connect(self.admin_url, autocommit=True)


def _url_with(url: str, **params: object) -> str:
    return make_conninfo(url, **params)


def _load(admin_url: str, dbname: str, role: str, password: str) -> tuple[str, str]:
    """Create the shop database (and the no-HypoPG one) through `admin_url`; return both
    superuser conninfos."""
    nohypo = f"{dbname}_nohypo"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
        conn.execute(f'CREATE DATABASE "{nohypo}"')
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", [PASSWORD_GROUP]
        ).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {PASSWORD_GROUP} NOLOGIN")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' IN ROLE {PASSWORD_GROUP}")
        conn.execute(f"GRANT pg_read_all_data, pg_read_all_stats TO {role}")
    shop = _url_with(admin_url, dbname=dbname)
    with psycopg.connect(shop, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION hypopg")
        except psycopg.Error as e:
            raise RuntimeError(
                f"cannot create the hypopg extension ({e}); run scripts/ensure-postgres"
            ) from e
        conn.execute((HERE / "shop.sql").read_text(encoding="utf-8"))
        conn.execute("VACUUM ANALYZE")
    other = _url_with(admin_url, dbname=nohypo)
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE TABLE things (id bigint PRIMARY KEY, name text)")
        conn.execute("INSERT INTO things SELECT g, 'thing ' || g FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE things")
    return shop, other


def _drop(admin_url: str, dbname: str, role: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in (dbname, f"{dbname}_nohypo"):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture(scope="session")
def live_pg() -> Iterator[LiveServer]:
    external = os.environ.get("SQL_LSP_TEST_DATABASE_URL")
    suffix = secrets.token_hex(4)
    role = f"lsp_ro_{suffix}"
    password = f"Ro-Pa55-{secrets.token_hex(6)}"
    cluster: Cluster | None = None
    if external:
        base = external
        dbname = f"sql_lsp_test_{suffix}"
    else:
        cluster = Cluster.create()
        cluster.start()
        base = cluster.url("postgres")
        dbname = "shop"
    try:
        shop, nohypo = _load(base, dbname, role, password)
        params = conninfo_to_dict(shop)
        host = str(params.get("host") or "127.0.0.1")
        port = int(params.get("port") or 5432)
        ro = f"postgresql://{role}:{password}@{host}:{port}/{dbname}"
        yield LiveServer(
            admin_url=shop,
            ro_url=ro,
            ro_user=role,
            ro_password=password,
            nohypo_url=_url_with(nohypo, user=role, password=password),
            host=host,
            port=port,
            owned=cluster is not None,
        )
    finally:
        if cluster is not None:
            cluster.destroy()
        else:
            _drop(base, dbname, role)


class FakeClock:
    """A monotonic clock the tests move by hand (for the reconnection backoff)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
