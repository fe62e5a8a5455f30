"""Folding ranges of a document and workspace symbols of the catalog (core, no LSP types)."""

from __future__ import annotations

from sql_lsp.document import Document
from sql_lsp.navigation import Fold, folding_ranges, workspace_symbols
from sql_lsp.project import Project

TEXT = """-- header one
-- header two
CREATE TABLE t (
    id int
);
SELECT 1;
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    RETURN 1;
END;
$$;
/* a
   block */
-- one line only
SELECT 2;
"""


def test_folding_ranges() -> None:
    assert folding_ranges(Document("file:///x.sql", TEXT)) == [
        Fold(0, 1, "comment"),
        Fold(2, 4, "region"),  # CREATE TABLE over three lines
        Fold(6, 10, "region"),  # CREATE FUNCTION
        Fold(6, 9, "region"),  # its $$ body, up to the line before the closing $$
        Fold(11, 12, "comment"),  # the block comment
    ]


def test_one_line_statements_and_comments_do_not_fold() -> None:
    assert folding_ranges(Document("file:///x.sql", "-- a\nSELECT 1;\nSELECT 2;\n")) == []


def test_workspace_symbols() -> None:
    p = Project()
    p.open_document(
        "file:///schema.sql",
        "CREATE TABLE users (id int PRIMARY KEY, email text);\n"
        "CREATE INDEX users_email_idx ON users (email);\n"
        "CREATE VIEW user_emails AS SELECT email FROM users;\n"
        "CREATE TABLE orders (id int);\n",
        1,
    )
    got = [(s.name, s.kind, s.container) for s in workspace_symbols(p.catalog, "user")]
    assert got == [
        ("user_emails", "view", "public"),
        ("users", "table", "public"),
        ("users_email_idx", "index", "users"),
        ("users_pkey", "index", "users"),
    ]
    assert [s.name for s in workspace_symbols(p.catalog, "ord")] == ["orders"]
    assert [s.name for s in workspace_symbols(p.catalog, "uei")] == [
        "user_emails",
        "users_email_idx",
    ]
    places = {}
    for sym in workspace_symbols(p.catalog, ""):
        doc, start, end = p.locate(sym.origin)
        places[sym.name] = doc.text[start:end]
    assert places == {
        "orders": "orders",
        "user_emails": "user_emails",
        "users": "users",
        "users_email_idx": "CREATE INDEX users_email_idx ON users (email)",
        "users_pkey": "id",  # the column declared PRIMARY KEY
    }
