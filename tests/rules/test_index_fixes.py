"""The index fixes (missing-fk-index, function-on-indexed-column): the exact CREATE INDEX, where
it goes, how it names the table and the index. tests/live/test_index_fixes_pg.py loads the
results into PostgreSQL."""

from __future__ import annotations

import pytest

from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

MAX_PASSES = 10


def fix_file(text: str, rule: str, *others: str) -> tuple[str, int]:
    """`text` after every fix of `rule` (safe and unsafe), pass after pass as `--fix` does, with
    `others` as the other files of the project; and the number of fixes applied."""
    uri = "file:///project/z.sql"
    linter = Linter()
    count = 0
    for _ in range(MAX_PASSES):
        doc = Document(uri, text)
        docs = [Document(f"file:///project/{i}.sql", t) for i, t in enumerate(others)]
        catalog = build_catalog([*docs, doc])
        fixes = [(f.rule, f.fix) for f in linter.lint(doc, catalog) if f.rule == rule and f.fix]
        text, applied = apply_edits(text, fixes)
        if not applied:
            break
        count += len(applied)
    return text, count


USERS = "CREATE TABLE {s}users (id bigint PRIMARY KEY);\n"
ORDERS = "CREATE TABLE {s}orders (id bigint PRIMARY KEY, user_id bigint REFERENCES {s}users);\n"


@pytest.mark.parametrize(
    ("head", "qualifier", "target"),
    [
        ("", "", "orders"),  # the file relies on the connection's search_path: so does the fix
        ("", "public.", "public.orders"),  # the file says public: so does the fix
        ("SELECT pg_catalog.set_config('search_path', '', false);\n", "public.", "public.orders"),
        ("SET search_path = '';\n", "public.", "public.orders"),
        ("SET search_path TO app;\nCREATE SCHEMA app;\n", "", "app.orders"),
        ("CREATE SCHEMA app;\n", "app.", "app.orders"),
        ('CREATE SCHEMA "My App";\n', '"My App".', '"My App".orders'),
    ],
)
def test_missing_fk_index_names_the_table_as_its_file_resolves_it(
    head: str, qualifier: str, target: str
) -> None:
    text = head + USERS.format(s=qualifier) + ORDERS.format(s=qualifier)
    fixed, n = fix_file(text, "missing-fk-index")
    assert (fixed, n) == (text + f"CREATE INDEX orders_user_id_idx ON {target} (user_id);\n", 1)


def test_missing_fk_index_name_avoids_every_relation_of_the_schema() -> None:
    text = (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders_user_id_idx (id int);\n"  # a table
        "CREATE SEQUENCE Orders_User_Id_Idx1;\n"  # a sequence (folded)
        "CREATE TYPE orders_user_id_idx2 AS (a int);\n"  # a composite type
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n"
        "CREATE SEQUENCE other.orders_user_id_idx3;\n"  # another schema: no clash
    )
    fixed, _ = fix_file(text, "missing-fk-index")
    line = "CREATE INDEX orders_user_id_idx3 ON orders (user_id);\n"
    assert fixed == text.replace("REFERENCES users);\n", "REFERENCES users);\n" + line)


def test_two_fixes_never_create_the_same_index_name() -> None:
    # a_b (c) and a (b_c) both get PostgreSQL's name a_b_c_idx
    text = (
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE a_b (c int REFERENCES p);\n"
        "CREATE TABLE a (b_c int REFERENCES p);\n"
    )
    fixed, n = fix_file(text, "missing-fk-index")
    assert n == 2
    assert fixed == (
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE a_b (c int REFERENCES p);\n"
        "CREATE INDEX a_b_c_idx ON a_b (c);\n"
        "CREATE TABLE a (b_c int REFERENCES p);\n"
        "CREATE INDEX a_b_c_idx1 ON a (b_c);\n"
    )


def test_a_long_index_name_stays_within_63_bytes() -> None:
    table = "t" * 60
    text = (
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        f"CREATE TABLE {table} (c int REFERENCES p);\n"
        f"CREATE TABLE {'t' * 57}_c_idx (id int);\n"  # PostgreSQL's name for the index
    )
    fixed, _ = fix_file(text, "missing-fk-index")
    assert f"CREATE INDEX {'t' * 57}_c_id1 ON {table} (c);\n" in fixed


BOOKINGS = (
    "CREATE TABLE {s}bookings (id int PRIMARY KEY, starttime timestamp NOT NULL);\n"
    "CREATE INDEX bookings_starttime_idx ON {s}bookings (starttime);\n"
)


@pytest.mark.parametrize(
    ("head", "qualifier", "target"),
    [
        ("", "", "bookings"),
        ("SELECT pg_catalog.set_config('search_path', '', false);\n", "public.", "public.bookings"),
        ("CREATE SCHEMA app;\nSET search_path TO app, public;\n", "", "app.bookings"),
    ],
)
def test_expression_index_fix_indexes_the_expression_once(
    head: str, qualifier: str, target: str
) -> None:
    queries = "".join(
        f"SELECT id FROM {qualifier}bookings b WHERE extract(year from b.starttime) = {year};\n"
        for year in range(2015, 2025)
    )
    text = head + BOOKINGS.format(s=qualifier) + queries
    fixed, n = fix_file(text, "function-on-indexed-column")
    create = (
        f"CREATE INDEX bookings_extract_starttime_idx ON {target} "
        "((EXTRACT(YEAR FROM starttime)));\n"
    )
    assert (fixed, n) == (head + BOOKINGS.format(s=qualifier) + create + queries, 1)


def test_expression_index_keeps_the_spelling_it_can_locate() -> None:
    text = (
        BOOKINGS.format(s="") + "SELECT id FROM bookings WHERE date_trunc('day', starttime) = $1;\n"
    )
    fixed, _ = fix_file(text, "function-on-indexed-column")
    assert fixed == BOOKINGS.format(s="") + (
        "CREATE INDEX bookings_date_trunc_starttime_idx ON bookings "
        "((date_trunc('day', starttime)));\n"
        "SELECT id FROM bookings WHERE date_trunc('day', starttime) = $1;\n"
    )


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_inserted_statements_use_the_files_line_break(newline: str) -> None:
    schema = (USERS + ORDERS).format(s="").replace("\n", newline)
    fixed, _ = fix_file(schema + "-- end", "missing-fk-index")
    index = "CREATE INDEX orders_user_id_idx ON orders (user_id);"
    assert fixed == schema + index + newline + "-- end"
    text = BOOKINGS.format(s="").replace("\n", newline) + "SELECT 1;  SELECT id FROM bookings"
    text += " WHERE extract(year from starttime) = 2020;" + newline
    fixed, _ = fix_file(text, "function-on-indexed-column")
    create = (
        "CREATE INDEX bookings_extract_starttime_idx ON bookings ((EXTRACT(YEAR FROM starttime)));"
    )
    assert fixed == text.replace("SELECT id FROM", create + newline + "SELECT id FROM")


@pytest.mark.parametrize(
    ("after", "offered"),
    [
        ("", True),
        ("CREATE INDEX t_a_idx_2 ON t (b);\n", True),  # another name that starts the same way
        ("COMMENT ON INDEX t_a_idx IS 'lookups';\n", False),
        ("ALTER INDEX parent_a_idx ATTACH PARTITION T_A_IDX;\n", False),
        ('CLUSTER t USING "t_a_idx";\n', False),
    ],
)
def test_redundant_index_deletion_only_when_nothing_else_names_it(
    after: str, offered: bool
) -> None:
    text = (
        "CREATE TABLE t (a int, b int);\n"
        "CREATE INDEX t_a_b_idx ON t (a, b);\n"
        "CREATE INDEX t_a_idx ON t (a);\n"
    ) + after
    fixed, n = fix_file(text, "redundant-index")
    assert (n, fixed) == (
        (1, text.replace("CREATE INDEX t_a_idx ON t (a);\n", "")) if offered else (0, text)
    )
