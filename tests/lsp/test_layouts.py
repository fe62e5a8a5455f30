"""The server's catalog follows the migration layout: rollback files and sections are checked but
not applied, and a FIFO named *.sql in the workspace does not stop the scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lsp_helpers import (
    PROFILES,
    SCHEMA,
    change,
    diag,
    encoding,
    mark,
    open_doc,
    published,
    span,
    start,
)
from lsp_helpers import rng as lsp_range
from lsp_helpers import uri as uri_of
from lsprotocol import types as T
from pytest_lsp import LanguageClient

from sql_lsp.lsp.workspace import apply_file_events
from sql_lsp.project import Project

INDEX = "CREATE INDEX orders_user_id_idx ON orders (user_id);\n"
DROP = "DROP INDEX orders_user_id_idx;\n"
MISSING = (
    "foreign key orders (user_id) -> users has no index on orders (user_id): deleting or "
    "updating a users row scans orders, and joins on it cannot use an index"
)


@pytest.mark.parametrize("caps", PROFILES)
async def test_rollbacks_are_not_applied(client: LanguageClient, tmp_path: Path, caps) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    up = migrations / "9_create.up.sql"
    up.write_text(SCHEMA)
    (migrations / "9_index.up.sql").write_text(INDEX)  # read by the scan only
    (migrations / "9_index.down.sql").write_text(DROP)
    (migrations / "9_index_down.sql").write_text(DROP)  # sorts after the up file
    os.mkfifo(tmp_path / "0_pipe.sql")  # scanned first; opening it would block the scan

    await start(client, tmp_path, caps)
    p = await open_doc(client, up, SCHEMA)
    assert p.diagnostics == []

    # a later migration drops the index: the foreign key is reported
    later = migrations / "10_tune.sql"
    text = "-- migrate:up\nSELECT 1;\n" + DROP
    at = mark(client)
    await open_doc(client, later, text)
    p = await published(client, uri_of(up), 1, after=at)
    s, e = span(SCHEMA, "REFERENCES users (id)")
    enc = encoding(client)
    assert p.diagnostics == [diag(SCHEMA, s, e, "missing-fk-index", MISSING, enc, 1, fix="safe")]

    # the DROP becomes a rollback section: applied no more
    at = mark(client)
    where = text.index("DROP")
    change(client, uri_of(later), 2, (lsp_range(text, where, where, enc), "-- migrate:down\n"))
    p = await published(client, uri_of(up), 1, after=at)
    assert p.diagnostics == []


def test_sqitch_plan_change_plans_the_order_again(tmp_path: Path) -> None:
    (tmp_path / "sqitch.plan").write_text("orders 2020\nusers 2020\n")
    project = Project()
    project.set_roots([tmp_path])
    for name, text in [
        ("deploy/users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);"),
        ("deploy/orders.sql", "CREATE TABLE orders (id bigint);"),
        ("revert/users.sql", "DROP TABLE users;"),
    ]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
        project.set_file(uri_of(tmp_path / name), text)
    names = [Path(d.uri).name for d in project.catalog_documents()]
    assert names == ["orders.sql", "users.sql"]
    (tmp_path / "sqitch.plan").write_text("users 2020\norders 2020\n")
    event = T.FileEvent(uri=uri_of(tmp_path / "sqitch.plan"), type=T.FileChangeType.Changed)
    assert apply_file_events(project, [event]) == (True, False)
    assert [Path(d.uri).name for d in project.catalog_documents()] == ["users.sql", "orders.sql"]
    assert ("public", "users") in project.catalog.tables
