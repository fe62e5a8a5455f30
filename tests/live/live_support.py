"""What the live tests share: the server description (`LiveServer`), how the throwaway databases
are filled, and a clock the tests move by hand.

Kept out of conftest.py so test modules import it by a name no other test folder uses.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pg_cluster import PASSWORD_GROUP
from psycopg.conninfo import make_conninfo

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


def url_with(url: str, **params: object) -> str:
    return make_conninfo(url, **params)


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new empty database on the suite's server (its superuser conninfo), dropped after."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_with(admin_url, dbname=name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_databases(admin_url: str, dbname: str, role: str, password: str) -> tuple[str, str]:
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
    shop = url_with(admin_url, dbname=dbname)
    with psycopg.connect(shop, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION hypopg")
        except psycopg.Error as e:
            raise RuntimeError(
                f"cannot create the hypopg extension ({e}); run scripts/ensure-postgres"
            ) from e
        conn.execute((HERE / "shop.sql").read_text(encoding="utf-8"))
        conn.execute("VACUUM ANALYZE")
    other = url_with(admin_url, dbname=nohypo)
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE TABLE things (id bigint PRIMARY KEY, name text)")
        conn.execute("INSERT INTO things SELECT g, 'thing ' || g FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE things")
    return shop, other


def drop_databases(admin_url: str, dbname: str, role: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in (dbname, f"{dbname}_nohypo"):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f"DROP ROLE IF EXISTS {role}")


class FakeClock:
    """A monotonic clock the tests move by hand (for the reconnection backoff)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
