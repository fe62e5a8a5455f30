"""sql_lsp.references: what a name resolves to and where else it is used."""

from __future__ import annotations

import pytest

from sql_lsp.document import Document
from sql_lsp.project import build_catalog
from sql_lsp.references import RenameError, references, rename_edits, spelling, target_at

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
