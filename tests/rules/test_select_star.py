"""select-star against a catalog merged from the workspace and a database."""

from __future__ import annotations

from sql_lsp.catalog.model import Catalog, Column, Table
from sql_lsp.config import Config, merge
from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

DDL = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"


def _fixes(catalog: Catalog, text: str) -> list[str]:
    doc = Document("file:///q.sql", text)
    findings = [f for f in Linter().lint(doc, catalog) if f.rule == "select-star"]
    assert len(findings) == 1
    return [e.text for f in findings for fix in f.fixes for e in fix.edits]


def _live(*columns: str) -> Catalog:
    live = Catalog()
    table = Table("public", "users", source="database")
    table.columns = {c: Column(c, "text") for c in columns}
    live.tables[table.key] = table
    return live


def test_database_and_workspace_agree() -> None:
    catalog = build_catalog([Document("file:///schema.sql", DDL)]).merge(_live("id", "email"))
    assert _fixes(catalog, "SELECT * FROM users;") == ["id, email"]


def test_database_has_more_columns_than_the_workspace() -> None:
    # PostgreSQL may list `name` anywhere: no fix rather than a guess
    catalog = build_catalog([Document("file:///schema.sql", DDL)]).merge(
        _live("id", "name", "email")
    )
    assert _fixes(catalog, "SELECT * FROM users;") == []


def test_database_only() -> None:
    assert _fixes(_live("id", "name", "email"), "SELECT * FROM users;") == ["id, name, email"]


def test_stars_frozen_at_creation_get_their_own_message_and_severity() -> None:
    text = (
        DDL
        + "CREATE VIEW v AS SELECT * FROM users;\n"
        + "CREATE MATERIALIZED VIEW mv AS SELECT * FROM users;\n"
        + "CREATE TABLE copy AS SELECT * FROM users;\n"
        + "SELECT * FROM users;\n"
    )
    doc = Document("file:///q.sql", text)
    found = [f for f in Linter().lint(doc, build_catalog([doc])) if f.rule == "select-star"]
    later = "is expanded once, when it is created: columns added to users later will not appear"
    assert [(doc.lines.line_of(f.start) + 1, f.severity, f.message) for f in found] == [
        (2, "info", f"* in a view {later} in it; list the columns"),
        (3, "info", f"* in a materialized view {later} in it; list the columns"),
        (4, "info", f"* in CREATE TABLE … AS {later} in it; list the columns"),
        (5, "warning", "* selects every column of users; list the columns the query needs"),
    ]
    assert all(f.fixes for f in found)
    # a configured severity applies to every finding of the rule
    config, _ = merge(Config(), {"rules": {"select-star": "error"}})
    assert {
        f.severity
        for f in Linter(config).lint(doc, build_catalog([doc]))
        if f.rule == "select-star"
    } == {"error"}
