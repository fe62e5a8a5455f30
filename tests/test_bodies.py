"""Statements inside function bodies are checked by every rule, at their offsets in the file."""

from __future__ import annotations

from sql_lsp import bodies
from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

SCHEMA = """\
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);
CREATE INDEX users_email_idx ON users (email);
"""

PLPGSQL = """\
CREATE FUNCTION find(p_email text) RETURNS SETOF users LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM users WHERE lower(email) = p_email;
  PERFORM * FROM users WHERE name = NULL;
  -- sql-lsp: ignore select-star
  RETURN QUERY SELECT * FROM users;
  DELETE FROM users;
  IF NOT FOUND THEN
    UPDATE users SET name = 'x';
  END IF;
  RETURN;
END $fn$;
"""

SQL_FUNCTION = """\
CREATE FUNCTION everyone() RETURNS SETOF users LANGUAGE sql AS $$
  SELECT * FROM users;
$$;
"""


def _lint(text: str):
    doc = Document("file:///project/q.sql", text)
    catalog = build_catalog([Document("file:///project/schema.sql", SCHEMA), doc])
    return doc, Linter().lint(doc, catalog)


def _spans(text: str) -> list[tuple[str, str]]:
    _, findings = _lint(text)
    return [(f.rule, text[f.start : f.end]) for f in findings]


def test_plpgsql_body_findings_at_their_offsets() -> None:
    assert _spans(PLPGSQL) == [
        ("select-star", "*"),
        ("function-on-indexed-column", "lower(email)"),
        ("select-star", "*"),
        ("null-comparison", "name = NULL"),
        ("delete-without-where", "DELETE FROM users"),
        ("update-without-where", "UPDATE users"),
    ]
    doc, findings = _lint(PLPGSQL)
    lines = [doc.lines.line_of(f.start) + 1 for f in findings]
    assert lines == [5, 5, 6, 6, 9, 11]


def test_sql_function_body_and_its_fix_inside_the_body() -> None:
    assert _spans(SQL_FUNCTION) == [("select-star", "*")]
    _, findings = _lint(SQL_FUNCTION)
    fixes = [(f.rule, f.fix) for f in findings if f.fix and f.fix.safe]
    assert apply_edits(SQL_FUNCTION, fixes)[0] == SQL_FUNCTION.replace(
        "SELECT * FROM", "SELECT id, email, name FROM"
    )


def test_fix_inside_a_plpgsql_body_keeps_into() -> None:
    _, findings = _lint(PLPGSQL)
    star = next(f for f in findings if f.rule == "select-star")
    fixed = apply_edits(PLPGSQL, [(star.rule, star.fix)])[0]
    assert "SELECT id, email, name INTO r FROM users WHERE lower(email) = p_email;" in fixed


def test_the_outer_statement_s_ignore_covers_its_body() -> None:
    assert _spans("-- sql-lsp: ignore select-star\n" + SQL_FUNCTION) == []


def test_names_syntax_and_catalog_are_not_judged_inside_bodies() -> None:
    text = (
        "CREATE FUNCTION f(p int) RETURNS int LANGUAGE plpgsql AS $$\n"
        "DECLARE v int;\n"
        "BEGIN\n"
        "  SELECT no_such_column INTO v FROM no_such_table WHERE x = p;\n"
        "  CREATE TABLE made_at_runtime (id int);\n"
        "  RETURN v;\n"
        "END $$;\n"
    )
    doc = Document("file:///project/q.sql", text)
    catalog = build_catalog([doc])
    assert catalog.table("made_at_runtime", None, ("public",)) is None
    assert [f.rule for f in Linter().lint(doc, catalog)] == []


def test_bodies_that_cannot_be_mapped_give_nothing() -> None:
    quoted = "CREATE FUNCTION f() RETURNS SETOF users LANGUAGE sql AS 'SELECT * FROM users';"
    assert list(bodies.inner_statements(Document("file:///q.sql", quoted).statements[0])) == []
    c = "CREATE FUNCTION f() RETURNS int LANGUAGE c AS $$x$$;"
    assert list(bodies.inner_statements(Document("file:///q.sql", c).statements[0])) == []


def test_migration_lock_rules_are_silent_inside_bodies() -> None:
    """A function runs in one transaction: CREATE INDEX CONCURRENTLY is refused there ("cannot
    be executed from a function"), NOT VALID + VALIDATE releases no lock in between, and the
    table is often one the body made with EXECUTE. The same statements outside a body are
    findings."""
    ddl = (
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total int);\n"
        "CREATE TABLE scratch (l1id bigint);\n"
    )
    inside = (
        "CREATE INDEX scratch_idx ON scratch (l1id);\n"
        "  ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);\n"
        "  ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n"
    )
    body = (
        "CREATE FUNCTION rebuild() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  "
        + inside
        + "END $$;\n"
    )
    schema = [
        Document("file:///project/schema.sql", SCHEMA),
        Document("file:///project/d.sql", ddl),
    ]
    doc = Document("file:///project/q.sql", body)
    assert [f.rule for f in Linter().lint(doc, build_catalog([*schema, doc]))] == []
    outside = Document("file:///project/m.sql", inside)
    assert sorted(f.rule for f in Linter().lint(outside, build_catalog([*schema, outside]))) == [
        "column-type-rewrite",
        "foreign-key-not-valid",
        "missing-fk-index",
        "non-concurrent-index",
    ]
