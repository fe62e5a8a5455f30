"""column-type-rewrite with the table declared in another file: the type before the change
comes from the history-aware catalog."""

from __future__ import annotations

from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

SCHEMA = (
    "CREATE TABLE orders (id int PRIMARY KEY, code varchar(10), label varchar, body text,\n"
    "    total numeric(10, 2), qty numeric(5), n int, ip inet, at timestamp);\n"
)
MIGRATION = """ALTER TABLE orders ALTER COLUMN code TYPE varchar(20);
ALTER TABLE orders ALTER COLUMN code TYPE varchar(5);
ALTER TABLE orders ALTER COLUMN label TYPE text;
ALTER TABLE orders ALTER COLUMN body TYPE varchar;
ALTER TABLE orders ALTER COLUMN body TYPE varchar(30);
ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2);
ALTER TABLE orders ALTER COLUMN total TYPE numeric(14, 3);
ALTER TABLE orders ALTER COLUMN qty TYPE numeric;
ALTER TABLE orders ALTER COLUMN n TYPE int;
ALTER TABLE orders ALTER COLUMN n TYPE text;
ALTER TABLE orders ALTER COLUMN ip TYPE cidr;
ALTER TABLE orders ALTER COLUMN at TYPE timestamptz;
"""


def test_changes_judged_from_the_type_before() -> None:
    schema = Document("file:///a/001_schema.sql", SCHEMA)
    migration = Document("file:///a/002_migrate.sql", MIGRATION)
    catalog = build_catalog([schema, migration])
    found = [
        (migration.lines.line_of(f.start) + 1, MIGRATION[f.start : f.end], f.message)
        for f in Linter().lint(migration, catalog)
        if f.rule == "column-type-rewrite"
    ]
    tail = " rewrites the whole table and its indexes under an ACCESS EXCLUSIVE lock (no reads or writes until done)"
    assert found == [
        (2, "ALTER COLUMN code TYPE", "changing orders.code from varchar(20) to varchar(5)" + tail),
        (5, "ALTER COLUMN body TYPE", "changing orders.body from varchar to varchar(30)" + tail),
        (
            7,
            "ALTER COLUMN total TYPE",
            "changing orders.total from decimal(12, 2) to decimal(14, 3)" + tail,
        ),
        (10, "ALTER COLUMN n TYPE", "changing orders.n from int to text" + tail),
    ]


def test_a_composite_types_attribute_is_not_a_table_column() -> None:
    """ALTER TYPE … ALTER ATTRIBUTE … TYPE changes a composite type, which has no rows (found on
    graphile-worker's migrations); the same change to a table beside it is a finding."""
    schema = Document(
        "file:///a/001_schema.sql",
        "CREATE TYPE job_spec AS (queue text, priority int);\n"
        "CREATE TABLE jobs (id bigint PRIMARY KEY, priority int);\n",
    )
    text = (
        "ALTER TYPE job_spec ALTER ATTRIBUTE priority TYPE smallint;\n"
        "ALTER TABLE jobs ALTER COLUMN priority TYPE smallint;\n"
    )
    migration = Document("file:///a/002_migrate.sql", text)
    catalog = build_catalog([schema, migration])
    found = [
        (migration.lines.line_of(f.start) + 1, f.rule)
        for f in Linter().lint(migration, catalog)
        if f.rule == "column-type-rewrite"
    ]
    assert found == [(2, "column-type-rewrite")]
