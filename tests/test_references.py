"""sql_lsp.references: what a name resolves to and where else it is used."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sql_lsp.document import Document
from sql_lsp.project import build_catalog
from sql_lsp.references import (
    RenameError,
    migration_folder,
    migration_rename,
    references,
    rename_edits,
    spelling,
    target_at,
)

SCHEMA = """CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE "Users" (id bigint PRIMARY KEY, email text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, email text,
    FOREIGN KEY (user_id) REFERENCES users (id));
CREATE INDEX users_email_idx ON users (email);
"""
QUERY = """SELECT o.email, u.email FROM orders o JOIN users u ON u.id = o.user_id;
WITH users AS (SELECT 1 AS id, 'x' AS email) SELECT users.email FROM users;
SELECT email FROM "Users";
INSERT INTO users (id, email) VALUES (1, 'a');
ALTER INDEX users_email_idx SET (fillfactor = 70);
"""


@pytest.fixture
def docs() -> tuple[Document, Document]:
    return Document("file:///s.sql", SCHEMA), Document("file:///q.sql", QUERY)


def found(docs, doc: Document, needle: str, nth: int = 0) -> list[tuple[str, str, int, bool]]:
    catalog = build_catalog(docs)
    offset = -1
    for _ in range(nth + 1):
        offset = doc.text.index(needle, offset + 1)
    target = target_at(doc, offset, catalog)
    assert target is not None, needle
    by_uri = {d.uri: d for d in docs}
    return [
        (
            o.uri[-5:],
            by_uri[o.uri].text[o.start : o.end],
            by_uri[o.uri].lines.line_of(o.start),
            o.is_declaration,
        )
        for o in references(target, doc, docs, catalog)
    ]


def test_a_column_resolves_through_aliases_not_to_same_named_columns(docs) -> None:
    _, q = docs
    assert found(docs, q, "email", 1) == [  # u.email
        ("q.sql", "email", 0, False),
        ("q.sql", "email", 3, False),  # INSERT INTO users (id, email)
        ("s.sql", "email", 0, True),
        ("s.sql", "email", 4, False),  # the index key
    ]
    # orders.email is another column; the CTE's email and "Users".email are others still
    assert found(docs, q, "email", 0) == [("q.sql", "email", 0, False), ("s.sql", "email", 2, True)]


def test_a_cte_shadows_the_table_of_its_name(docs) -> None:
    s, q = docs
    tables = found(docs, s, "users")
    assert ("q.sql", "users", 1, False) not in tables
    assert tables == [
        ("q.sql", "users", 0, False),
        ("q.sql", "users", 3, False),
        ("s.sql", "users", 0, True),
        ("s.sql", "users", 3, False),  # REFERENCES users
        ("s.sql", "users", 4, False),  # CREATE INDEX … ON users
    ]
    assert found(docs, q, "users", 1) == [  # WITH users AS …
        ("q.sql", "users", 1, True),
        ("q.sql", "users", 1, False),
        ("q.sql", "users", 1, False),
    ]


def test_quoted_names_keep_their_case(docs) -> None:
    _, q = docs
    assert found(docs, q, '"Users"') == [
        ("q.sql", '"Users"', 2, False),
        ("s.sql", '"Users"', 1, True),
    ]


def test_indexes(docs) -> None:
    _, q = docs
    assert found(docs, q, "users_email_idx") == [
        ("q.sql", "users_email_idx", 4, False),
        ("s.sql", "users_email_idx", 4, True),
    ]


def test_nothing_on_keywords_and_literals(docs) -> None:
    _, q = docs
    catalog = build_catalog(docs)
    assert target_at(q, q.text.index("JOIN") + 1, catalog) is None
    assert target_at(q, q.text.index("'a'") + 1, catalog) is None


@pytest.mark.parametrize(
    ("new", "written"),
    [
        ("accounts", "accounts"),
        ("Accounts", "Accounts"),  # folds to accounts, kept as typed
        ('"Accounts"', '"Accounts"'),
        ("order", '"order"'),
        ("e-mail", '"e-mail"'),
        ('"a""b"', '"a""b"'),
        ("  x  ", "x"),
    ],
)
def test_spelling(new: str, written: str) -> None:
    assert spelling(new) == written


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("", "empty"),
        ('""', "cannot be empty"),
        ('"a"b"', "not a valid quoted identifier"),
        ("a\x00b", "NUL"),
        ("x" * 64, "longer than 63 bytes"),
    ],
)
def test_invalid_names(new: str, message: str) -> None:
    with pytest.raises(RenameError, match=message):
        spelling(new)
    with pytest.raises(RenameError):
        rename_edits([], new)


BODIES = """CREATE FUNCTION user_count() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(u.email) FROM users u
$$;
CREATE FUNCTION touch(p_id bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  email text;
BEGIN
  SELECT users.email INTO email FROM users WHERE id = p_id;
  UPDATE users SET email = lower(email) WHERE users.id = p_id;
  PERFORM 1 FROM orders o WHERE o.user_id = p_id;
END
$fn$;
CREATE FUNCTION quoted() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM users';
"""


def spans(doc: Document, occurrences) -> list[tuple[int, int, int, str]]:
    """(line, column, end column, text) of each occurrence in `doc`."""
    out = []
    for o in occurrences:
        if o.uri != doc.uri:
            continue
        line = doc.lines.line_of(o.start)
        col = o.start - doc.lines.line_start(line)
        out.append((line, col, col + o.end - o.start, doc.text[o.start : o.end]))
    return out


def test_references_inside_function_bodies_at_their_offsets_in_the_file(docs) -> None:
    s, _ = docs
    b = Document("file:///b.sql", BODIES)
    all_docs = [s, b]
    catalog = build_catalog(all_docs)
    table = target_at(s, s.text.index("users"), catalog)
    # the LANGUAGE sql body, the PL/pgSQL queries (INTO blanked, PERFORM read as SELECT);
    # the single-quoted body is not mapped
    assert spans(b, references(table, s, all_docs, catalog)) == [
        (1, 29, 34, "users"),
        (7, 9, 14, "users"),  # users.email
        (7, 37, 42, "users"),  # FROM users
        (8, 9, 14, "users"),  # UPDATE users
        (8, 46, 51, "users"),  # users.id
    ]
    email = target_at(s, s.text.index("email"), catalog)
    # u.email and users.email resolve; `SET email` names the column; the bare `email`s of the
    # PL/pgSQL body are also a variable: left out
    assert spans(b, references(email, s, all_docs, catalog)) == [
        (1, 17, 22, "email"),
        (7, 15, 20, "email"),
        (8, 19, 24, "email"),
    ]
    orders_user_id = target_at(b, b.text.index("user_id"), catalog)
    assert orders_user_id is not None and orders_user_id.key == ("public", "orders", "user_id")
    assert spans(b, references(orders_user_id, b, all_docs, catalog)) == [(9, 34, 41, "user_id")]


def test_a_target_inside_a_body_and_its_alias() -> None:
    s = Document("file:///s.sql", SCHEMA)
    b = Document("file:///b.sql", BODIES)
    catalog = build_catalog([s, b])
    target = target_at(b, b.text.index("users u") + 1, catalog)
    assert target is not None and target.kind == "table" and target.key == ("public", "users")
    alias = target_at(b, b.text.index("u.email"), catalog)
    assert alias is not None and alias.kind == "alias"
    assert spans(b, references(alias, b, [s, b], catalog)) == [
        (1, 15, 16, "u"),
        (1, 35, 36, "u"),
    ]
    edits = rename_edits(references(target, b, [s, b], catalog), "accounts")
    assert [(e.start, e.end, e.text) for e in edits["file:///b.sql"]][:1] == [
        (b.text.index("users u"), b.text.index("users u") + 5, "accounts")
    ]


MIGRATIONS = {
    "file:///p/db/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
    "file:///p/db/002_email_idx.sql": "CREATE INDEX users_email_idx ON users (email);\n",
    "file:///p/db/003_report.sql": "CREATE VIEW report AS SELECT u.email FROM users u;\n",
    "file:///p/app/queries.sql": "SELECT email FROM users WHERE id = $1;\nSELECT 1 FROM orders;\n",
    "file:///p/app/views.sql": "CREATE VIEW emails AS SELECT users.email FROM users;\n",
    "file:///p/schema.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, email text);\n",
}
LATER = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def migration_docs() -> list[Document]:
    return [Document(uri, text) for uri, text in MIGRATIONS.items()]


def rename_at(docs: list[Document], uri: str, needle: str, new_name: str):
    doc = next(d for d in docs if d.uri == uri)
    catalog = build_catalog(docs)
    target = target_at(doc, doc.text.index(needle), catalog)
    assert target is not None
    return migration_rename(target, doc, docs, catalog, new_name, LATER)


def edited(docs: list[Document], edits) -> dict[str, str]:
    out = {}
    for d in docs:
        text = d.text
        for e in sorted(edits.get(d.uri, []), key=lambda e: -e.start):
            text = text[: e.start] + e.text + text[e.end :]
        if text != d.text:
            out[d.uri] = text
    return out


def test_rename_a_column_in_a_new_migration_leaves_old_migrations_alone() -> None:
    docs = migration_docs()
    plan = rename_at(docs, "file:///p/app/queries.sql", "email", "address")
    assert plan.files == [
        (
            "file:///p/db/004_rename_users_email_to_address.sql",
            "ALTER TABLE users RENAME COLUMN email TO address;\n",
        )
    ]
    # the queries and the view outside the migrations; not 001-003, not orders.email
    assert edited(docs, plan.edits) == {
        "file:///p/app/queries.sql": (
            "SELECT address FROM users WHERE id = $1;\nSELECT 1 FROM orders;\n"
        ),
        "file:///p/app/views.sql": "CREATE VIEW emails AS SELECT users.address FROM users;\n",
    }


def test_rename_a_table_in_a_new_migration_quotes_per_postgresql() -> None:
    docs = migration_docs()
    plan = rename_at(docs, "file:///p/db/003_report.sql", "users", "User Accounts")
    assert plan.files == [
        (
            "file:///p/db/004_rename_users_to_user_accounts.sql",
            'ALTER TABLE users RENAME TO "User Accounts";\n',
        )
    ]
    assert edited(docs, plan.edits) == {
        "file:///p/app/queries.sql": (
            'SELECT email FROM "User Accounts" WHERE id = $1;\nSELECT 1 FROM orders;\n'
        ),
        "file:///p/app/views.sql": (
            'CREATE VIEW emails AS SELECT "User Accounts".email FROM "User Accounts";\n'
        ),
    }
    # a plain word is kept as typed: it names the folded table
    plan = rename_at(docs, "file:///p/app/views.sql", "users", "Accounts")
    assert plan.files[0] == (
        "file:///p/db/004_rename_users_to_accounts.sql",
        "ALTER TABLE users RENAME TO Accounts;\n",
    )


def test_no_rename_in_a_migration_postgresql_would_refuse_or_without_a_folder() -> None:
    docs = migration_docs()
    with pytest.raises(RenameError, match="A table orders exists already"):
        rename_at(docs, "file:///p/app/queries.sql", "users", "ORDERS")
    with pytest.raises(RenameError, match="already named"):
        rename_at(docs, "file:///p/app/queries.sql", "email", "Email")
    with pytest.raises(RenameError, match="has a column id already"):
        rename_at(docs, "file:///p/app/queries.sql", "email", "id")
    # orders comes from schema.sql, not a migration: no folder, nothing offered
    catalog = build_catalog(docs)
    q = docs[3]
    orders = target_at(q, q.text.index("orders"), catalog)
    users = target_at(q, q.text.index("users"), catalog)
    assert orders is not None and migration_folder(orders, catalog) is None
    assert users is not None and str(migration_folder(users, catalog)) == "/p/db"
    with pytest.raises(RenameError, match="not declared in a migration folder"):
        migration_rename(orders, q, docs, catalog, "purchases", LATER)
