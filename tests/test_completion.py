"""Completion at given positions (the core: offsets and items, no LSP types)."""

from __future__ import annotations

import pytest

from sql_lsp.completion import MAX_ITEMS, STATEMENT_KEYWORDS, complete
from sql_lsp.project import Project

SCHEMA = """CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    "Display Name" text,
    "order" int
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    status text NOT NULL
);
CREATE INDEX orders_status_idx ON orders (status);
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, order_id bigint REFERENCES orders (id));
CREATE VIEW active_users AS SELECT id, email FROM users;
"""


@pytest.fixture(scope="module")
def project() -> Project:
    p = Project()
    p.open_document("file:///schema.sql", SCHEMA, 1)
    return p


def at(project: Project, text: str, uri: str = "file:///q.sql"):
    """Completion where `|` is in `text` (the bar removed)."""
    offset = text.index("|")
    project.open_document(uri, text.replace("|", "", 1), 1)
    return complete(project.document(uri), offset, project.catalog)


def labels(result, kind: str | None = None) -> list[str]:
    return [i.label for i in result.items if kind is None or i.kind == kind]


def test_alias_dot_gives_that_source_columns_only(project) -> None:
    r = at(project, "SELECT o.| FROM users u JOIN orders o ON o.user_id = u.id")
    assert labels(r) == ["id", "user_id", "status"]
    assert [i.detail for i in r.items] == [
        "bigint PK · orders",
        "bigint · orders",
        "text indexed · orders",
    ]
    assert (r.start, r.cursor, r.end) == (9, 9, 9)


def test_word_range_covers_the_whole_word(project) -> None:
    r = at(project, "SELECT u.em|ail FROM users u")
    assert (r.start, r.cursor, r.end) == (9, 11, 14)
    assert labels(r) == ["email"]


def test_quoted_identifiers(project) -> None:
    r = at(project, "SELECT u.| FROM users u")
    assert labels(r) == ["id", "email", '"Display Name"', '"order"']
    assert [i.insert for i in r.items] == labels(r)


def test_tables_after_from_join_update_insert_delete(project) -> None:
    # visible tables and views first (by name), then schemas, then tables of other schemas
    expected = ["active_users", "orders", "users", "billing", "public", "billing.invoices"]
    for text in (
        "SELECT * FROM |",
        "SELECT * FROM users u JOIN |",
        "SELECT * FROM users u LEFT JOIN |",
        "UPDATE |",
        "INSERT INTO |",
        "DELETE FROM |",
        "SELECT * FROM users u, |",
    ):
        assert labels(at(project, text)) == expected, text
    # what was typed filters (its letters in order); names that start with it first
    assert labels(at(project, "SELECT * FROM us|")) == ["users", "active_users"]
    assert labels(at(project, "SELECT * FROM bil|")) == ["billing", "billing.invoices"]
    r = at(project, "SELECT * FROM |")
    view = r.items[0]
    assert (view.kind, view.detail) == ("view", "view (id, email)")
    assert r.items[1].detail == "table (id, user_id, status)"
    assert r.items[3].kind == "schema"
    assert r.items[5].ref == ("table", "billing", "invoices")


def test_schema_dot_gives_its_tables(project) -> None:
    r = at(project, "SELECT * FROM billing.|")
    assert labels(r) == ["invoices"]
    r = at(project, "SELECT i.| FROM billing.invoices i")
    assert labels(r) == ["id", "order_id"]


def test_columns_of_sources_in_scope_qualified_when_several(project) -> None:
    r = at(project, "SELECT | FROM users u JOIN orders o ON o.user_id = u.id")
    cols = labels(r, "column")
    assert cols == [
        "u.id",
        "u.email",
        'u."Display Name"',
        'u."order"',
        "o.id",
        "o.user_id",
        "o.status",
    ]
    assert r.items[0].filter == "id"
    kinds = [i.kind for i in r.items]
    assert kinds.index("function") > kinds.index("column")  # columns first, then functions
    assert kinds[-1] == "keyword"


def test_unqualified_with_one_source(project) -> None:
    for text in (
        "SELECT * FROM orders WHERE |",
        "SELECT * FROM orders WHERE status = 'x' AND |",
        "SELECT count(*) FROM orders GROUP BY |",
        "SELECT * FROM orders ORDER BY |",
        "UPDATE orders SET |",
        "DELETE FROM orders WHERE |",
    ):
        assert labels(at(project, text), "column") == ["id", "user_id", "status"], text


def test_join_condition_from_foreign_keys(project) -> None:
    r = at(project, "SELECT * FROM users u JOIN orders o ON |")
    assert r.items[0].label == "o.user_id = u.id"
    assert r.items[0].kind == "join"
    assert r.items[0].snippet == "o.user_id = u.id$0"
    r = at(project, "SELECT * FROM orders o JOIN users u ON |")
    assert r.items[0].label == "u.id = o.user_id"
    r = at(project, "SELECT * FROM orders JOIN billing.invoices i ON |")
    assert r.items[0].label == "i.order_id = orders.id"
    r = at(project, "SELECT * FROM users u JOIN billing.invoices i ON |")
    assert "join" not in [i.kind for i in r.items]  # no foreign key between them


def test_keywords_after_a_source_and_at_statement_start(project) -> None:
    r = at(project, "SELECT * FROM users u |")
    assert labels(r)[:3] == ["WHERE", "JOIN", "LEFT JOIN"]
    assert labels(at(project, "|")) == list(STATEMENT_KEYWORDS)
    assert labels(at(project, "SELECT 1;\n|")) == list(STATEMENT_KEYWORDS)


def test_cte_names_and_columns(project) -> None:
    text = "WITH recent (uid, n) AS (SELECT user_id, count(*) FROM orders GROUP BY 1), "
    text += "big AS (SELECT id, email AS mail FROM users) SELECT |"
    r = at(project, text + " FROM recent r JOIN big b ON b.id = r.uid")
    assert labels(r, "column") == ["r.uid", "r.n", "b.id", "b.mail"]
    r = at(project, text.replace("SELECT |", "SELECT * FROM |"))
    assert labels(r)[:2] == ["recent", "big"]
    assert r.items[0].detail == "CTE (uid, n)"


def test_scopes_follow_parentheses(project) -> None:
    text = "SELECT * FROM users u WHERE u.id IN (SELECT | FROM orders o) AND EXISTS (SELECT 1 FROM billing.invoices i)"
    cols = labels(at(project, text), "column")
    assert cols == [
        "o.id",
        "o.user_id",
        "o.status",
        "u.id",
        "u.email",
        'u."Display Name"',
        'u."order"',
    ]


def test_half_typed_statement_among_others(project) -> None:
    text = "SELECT 1;\nSELECT u.| FROM users u WHERE\nSELECT 2;\n"
    assert labels(at(project, text)) == ["id", "email", '"Display Name"', '"order"']
    # a statement being typed at the end of the file, past its last word
    assert labels(at(project, "SELECT * FROM users |"))[0] == "WHERE"
    assert labels(at(project, "SELECT * FROM orders WHERE status = 'a' AND (|"), "column") == [
        "id",
        "user_id",
        "status",
    ]


def test_nothing_in_strings_and_comments(project) -> None:
    assert at(project, "SELECT 'ab|c' FROM users").items == []
    assert at(project, "SELECT * FROM users -- us|").items == []
    assert at(project, "SELECT /* u| */ 1").items == []
    assert at(project, "SELECT 'unterminated |").items == []


def test_unknown_alias_gives_nothing(project) -> None:
    assert at(project, "SELECT x.| FROM users u").items == []
    assert at(project, "SELECT f.| FROM generate_series(1, 3) f").items == []


def test_columns_as_they_stand_at_the_statement() -> None:
    p = Project()
    migration = (
        "CREATE TABLE t (a int);\n"
        "SELECT | FROM t;\n"
        "ALTER TABLE t ADD COLUMN b int;\n"
        "SELECT * FROM t;\n"
    )
    assert labels(at(p, migration, "file:///m.sql"), "column") == ["a"]
    later = migration.replace("SELECT | FROM t;", "SELECT 1;").replace("SELECT *", "SELECT |")
    assert labels(at(p, later, "file:///m.sql"), "column") == ["a", "b"]


def test_long_lists_are_cut_and_marked_incomplete() -> None:
    p = Project()
    ddl = "".join(f"CREATE TABLE t{i:03d} (id int);\n" for i in range(MAX_ITEMS + 50))
    p.open_document("file:///s.sql", ddl, 1)
    r = at(p, "SELECT * FROM |")
    assert r.incomplete is True
    assert len(r.items) == MAX_ITEMS
    assert r.items[0].label == "t000"
    r = at(p, "SELECT * FROM t24|")
    assert r.incomplete is False
    assert labels(r)[:10] == [f"t24{i}" for i in range(10)]  # starting with it first
    assert labels(r)[10:12] == ["t024", "t124"]  # then the others with its letters in order


def test_insert_column_list_and_ddl_places(project) -> None:
    assert labels(at(project, "INSERT INTO orders (|"), "column") == ["id", "user_id", "status"]
    text = "INSERT INTO orders (id, |) VALUES (1, 2)"
    assert labels(at(project, text), "column") == ["id", "user_id", "status"]
    tables = ["active_users", "orders", "users", "billing", "public", "billing.invoices"]
    assert labels(at(project, "CREATE INDEX ON |")) == tables
    assert labels(at(project, "CREATE TABLE x (id int REFERENCES |")) == tables
    assert labels(at(project, "TRUNCATE |")) == tables


def test_quoted_qualifier(project) -> None:
    r = at(project, 'SELECT "o".| FROM orders "o"')
    assert labels(r) == ["id", "user_id", "status"]
    assert r.start == r.cursor
