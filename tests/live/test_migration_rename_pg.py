"""Rename in a new migration, proven on the suite's PostgreSQL: the old migrations and then the
new one load without an error, the renamed queries are accepted and return what the original
queries returned before the rename, and the views of old migrations (which PostgreSQL follows
through a rename) still answer the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from live_support import LiveServer, scratch_database

from sql_lsp.document import Document
from sql_lsp.project import build_catalog
from sql_lsp.references import migration_rename, target_at

MIGRATIONS = {
    "file:///p/db/001_users.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"
        "INSERT INTO users VALUES (1, 'a@x'), (2, 'b@x');\n"
    ),
    "file:///p/db/002_email_idx.sql": "CREATE INDEX users_email_idx ON users (email);\n",
    "file:///p/db/003_report.sql": "CREATE VIEW report AS SELECT u.id, u.email FROM users u;\n",
}
QUERIES = {
    "file:///p/app/queries.sql": (
        "SELECT email FROM users WHERE id = 1;\n"
        "SELECT u.id, u.email FROM users AS u ORDER BY u.email;\n"
        "SELECT count(*) FROM users WHERE users.email LIKE '%@x';\n"
    ),
}
LATER = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def database(live_pg: LiveServer) -> Iterator[str]:
    with scratch_database(live_pg.admin_url, "rename") as url:
        yield url


def _rows(conn: psycopg.Connection, text: Document) -> list[list[tuple]]:
    return [conn.execute(s.text).fetchall() for s in text.sql_statements]


@pytest.mark.parametrize(
    ("needle", "new_name"),
    [
        ("email FROM users WHERE", "address"),  # a column
        ("email FROM users WHERE", '"E-Mail"'),  # a column whose name must stay quoted
        ("users WHERE id", "accounts"),  # a table
    ],
)
def test_the_new_migration_loads_and_the_renamed_queries_return_the_same(
    database: str, needle: str, new_name: str
) -> None:
    docs = [Document(u, t) for u, t in {**MIGRATIONS, **QUERIES}.items()]
    queries = docs[-1]
    catalog = build_catalog(docs)
    target = target_at(queries, queries.text.index(needle), catalog)
    assert target is not None
    plan = migration_rename(target, queries, docs, catalog, new_name, LATER)
    assert set(plan.edits) == set(QUERIES)  # old migrations are left as they are
    text = queries.text
    for e in sorted(plan.edits[queries.uri], key=lambda e: -e.start):
        text = text[: e.start] + e.text + text[e.end :]
    renamed = Document(queries.uri, text)
    (uri, up), *_ = plan.files
    assert uri.startswith("file:///p/db/004_rename_")
    with psycopg.connect(database, autocommit=True) as conn:
        for text in MIGRATIONS.values():
            conn.execute(text)
        before = _rows(conn, queries)
        report = conn.execute("SELECT * FROM report ORDER BY 1").fetchall()
        up_part = up.split("-- migrate:down")[0]
        conn.execute(up_part)  # PostgreSQL accepts the new migration
        assert _rows(conn, renamed) == before
        assert conn.execute("SELECT * FROM report ORDER BY 1").fetchall() == report
