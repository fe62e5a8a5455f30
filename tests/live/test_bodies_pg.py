"""Why the migration-lock rules stay silent inside function bodies, proven on the suite's
PostgreSQL: the fix `non-concurrent-index` offers elsewhere, put in a body, makes the function
fail when it runs, and the linter offers no such finding there."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from live_support import LiveServer, scratch_database

from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

SCHEMA = "CREATE TABLE scratch (id bigint);\n"
BODY = """\
CREATE FUNCTION rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CREATE INDEX{how} scratch_idx ON scratch (id);
END $$;
"""


@pytest.fixture
def database(live_pg: LiveServer) -> Iterator[str]:
    with scratch_database(live_pg.admin_url, "bodies") as url:
        yield url


def test_concurrently_is_refused_inside_a_function_and_not_suggested_there(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(BODY.format(how=" CONCURRENTLY"))
        with pytest.raises(psycopg.errors.ActiveSqlTransaction, match="from a function"):
            conn.execute("SELECT rebuild()")
        conn.execute("DROP FUNCTION rebuild()")
        conn.execute(BODY.format(how=""))
        conn.execute("SELECT rebuild()")  # the body as written works
    doc = Document("file:///p/f.sql", BODY.format(how=""))
    catalog = build_catalog([Document("file:///p/schema.sql", SCHEMA), doc])
    assert [f.rule for f in Linter().lint(doc, catalog)] == []
    outside = Document("file:///p/m.sql", "CREATE INDEX scratch_idx ON scratch (id);\n")
    catalog = build_catalog([Document("file:///p/schema.sql", SCHEMA), outside])
    assert [f.rule for f in Linter().lint(outside, catalog)] == ["non-concurrent-index"]
