"""Exact ranges, messages and fixes of the rules that read PL/pgSQL bodies or several
statements of a file: query-in-loop, dynamic-sql-injection, repeated-query."""

from __future__ import annotations

from sql_lsp import plpgsql
from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog


def _findings(text: str, rule: str):
    doc = Document("file:///project/q.sql", text)
    return [f for f in Linter().lint(doc, build_catalog([doc])) if f.rule == rule]


def found(rule: str, text: str) -> list[tuple[str, str, str | None]]:
    return [(text[f.start : f.end], f.message, f.fix_safety) for f in _findings(text, rule)]


LOOP = """\
CREATE FUNCTION f() RETURNS void
LANGUAGE plpgsql AS $body$
DECLARE r record; n int;
BEGIN
  FOR r IN SELECT id FROM customers LOOP
    SELECT count(*) INTO n FROM orders
      WHERE customer_id = r.id;
    PERFORM 1 FROM orders WHERE customer_id = r.id;
  END LOOP;
END $body$;
"""


def test_query_in_loop_points_at_each_inner_query() -> None:
    message = (
        "this query runs once per row of the loop over `r` (N+1); write one set-based "
        "statement (a join, `= ANY(…)` or `INSERT … SELECT`) instead"
    )
    assert found("query-in-loop", LOOP) == [
        ("SELECT count(*) INTO n FROM orders\n      WHERE customer_id = r.id", message, None),
        ("PERFORM 1 FROM orders WHERE customer_id = r.id", message, None),
    ]


def test_query_in_loop_is_silent_on_quoted_bodies_and_other_languages() -> None:
    quoted = LOOP.replace("$body$", "'")
    assert found("query-in-loop", quoted) == []
    assert found("query-in-loop", LOOP.replace("plpgsql", "sql")) == []


def test_ignore_comments_inside_a_body_work_on_lines() -> None:
    own_line = LOOP.replace(
        "    PERFORM 1",
        "    -- sql-lsp: ignore query-in-loop\n    -- why: small table\n    PERFORM 1",
    )
    assert [t for t, _, _ in found("query-in-loop", own_line)] == [
        "SELECT count(*) INTO n FROM orders\n      WHERE customer_id = r.id"
    ]
    trailing = LOOP.replace("r.id;\n    PERFORM", "r.id; -- sql-lsp: ignore\n    PERFORM")
    assert [t for t, _, _ in found("query-in-loop", trailing)] == [
        "PERFORM 1 FROM orders WHERE customer_id = r.id"
    ]
    other_rule = LOOP.replace("    PERFORM 1", "    -- sql-lsp: ignore select-star\n    PERFORM 1")
    assert len(found("query-in-loop", other_rule)) == 2
    assert found("query-in-loop", "-- sql-lsp: ignore query-in-loop\n" + LOOP) == []


def test_dynamic_sql_injection_names_the_variable() -> None:
    text = (
        "CREATE FUNCTION f(tbl text, n int) RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  EXECUTE 'DELETE FROM ' || tbl || ' WHERE id = ' || n;\n"
        "  EXECUTE format('DELETE FROM %s', tbl);\n"
        "  EXECUTE format('DELETE FROM %I WHERE id = %s', tbl, n);\n"
        "  EXECUTE format('DELETE FROM %2$s WHERE id = %1$s', n, tbl);\n"
        "END $$;\n"
    )
    advice = (
        "into dynamic SQL unquoted (SQL injection); use format() with %I (names) or %L "
        "(values), quote_ident()/quote_literal(), or EXECUTE … USING"
    )
    assert found("dynamic-sql-injection", text) == [
        (
            "'DELETE FROM ' || tbl || ' WHERE id = ' || n",
            f"the text parameter `tbl` is concatenated {advice}",
            None,
        ),
        (
            "format('DELETE FROM %s', tbl)",
            f"the text parameter `tbl` is put with format('%s') {advice}",
            None,
        ),
        (
            "format('DELETE FROM %2$s WHERE id = %1$s', n, tbl)",
            f"the text parameter `tbl` is put with format('%s') {advice}",
            None,
        ),
    ]


def test_repeated_query_names_the_other_lines_and_offers_one_statement() -> None:
    text = (
        "SELECT name FROM users WHERE id = 1;\n"
        "SELECT name FROM users WHERE id = 2;\n"
        "SELECT name FROM users WHERE id = 3;\n"
    )
    tail = "`IN (…)` / `= ANY(…)` or a join"
    assert found("repeated-query", text) == [
        (
            "SELECT name FROM users WHERE id = 1",
            "this statement is repeated 3 times with only its literals changed (also on lines "
            f"2, 3): run it once for all values, with {tail}",
            "unsafe",
        ),
        (
            "SELECT name FROM users WHERE id = 2",
            "this statement is repeated 3 times with only its literals changed (also on lines "
            f"1, 3): run it once for all values, with {tail}",
            None,
        ),
        (
            "SELECT name FROM users WHERE id = 3",
            "this statement is repeated 3 times with only its literals changed (also on lines "
            f"1, 2): run it once for all values, with {tail}",
            None,
        ),
    ]
    fixes = [(f.rule, f.fix) for f in _findings(text, "repeated-query") if f.fix]
    assert apply_edits(text, fixes)[0] == "SELECT name FROM users WHERE id IN (1, 2, 3);\n"


def test_repeated_query_follows_edits() -> None:
    text = "".join(f"DELETE FROM users WHERE id = {n};\n" for n in (1, 2, 3))
    linter = Linter()
    doc = Document("file:///project/q.sql", text)
    assert len([f for f in linter.lint(doc) if f.rule == "repeated-query"]) == 3
    start = text.index("DELETE FROM users WHERE id = 3")
    edited = doc.edit(start, start + len("DELETE FROM users WHERE id = 3;"), "SELECT 1;")
    assert [f for f in linter.lint(edited) if f.rule == "repeated-query"] == []


def test_plpgsql_body_maps_queries_back() -> None:
    body = plpgsql.body(LOOP)
    assert body is not None
    assert LOOP[body.start : body.start + 9] == "\nDECLARE "
    assert body.parameters == frozenset()
    assert body.variables["n"] == "int4"
    assert plpgsql.body("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$") is None
    assert plpgsql.body("CREATE FUNCTION f( RETURNS") is None
