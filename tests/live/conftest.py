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

import pytest
from live_support import FakeClock, LiveServer, drop_databases, load_databases, url_with
from pg_cluster import Cluster
from psycopg.conninfo import conninfo_to_dict


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
        shop, nohypo = load_databases(base, dbname, role, password)
        params = conninfo_to_dict(shop)
        host = str(params.get("host") or "127.0.0.1")
        port = int(params.get("port") or 5432)
        ro = f"postgresql://{role}:{password}@{host}:{port}/{dbname}"
        yield LiveServer(
            admin_url=shop,
            ro_url=ro,
            ro_user=role,
            ro_password=password,
            nohypo_url=url_with(nohypo, user=role, password=password),
            host=host,
            port=port,
            owned=cluster is not None,
        )
    finally:
        if cluster is not None:
            cluster.destroy()
        else:
            drop_databases(base, dbname, role)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
