"""The statement splitter and the per-statement parser (sql_lsp/statements.py)."""

from __future__ import annotations

import random
import time

import pytest
from helpers import catalog_of, lint_text
from sqlglot import exp

from sql_lsp.statements import parse, split


def pieces(text: str, dialect: str = "postgres") -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in split(text, dialect)]


def sql(text: str) -> list[str]:
    return [t for kind, t in pieces(text) if kind == "sql"]


# -- where statements end -----------------------------------------------------------------------


def test_semicolons_in_strings_identifiers_and_comments() -> None:
    text = (
        "SELECT 'a;b', 'it''s;' AS \"x;y\" FROM \"t;\"\"q\"; -- trailing; comment\n"
        "/* leading; comment */ SELECT 2;\n"
        "SELECT 3 /* a /* nested; */ still; comment */ + 1;"
    )
    spans = split(text)
    assert pieces(text) == [
        ("sql", "SELECT 'a;b', 'it''s;' AS \"x;y\" FROM \"t;\"\"q\""),
        ("sql", "SELECT 2"),
        ("sql", "SELECT 3 /* a /* nested; */ still; comment */ + 1"),
    ]
    assert [s.semicolon for s in spans] == [
        text.index("; --"),
        text.index("2;") + 1,
        len(text) - 1,
    ]
    assert all(s.issue is None for s in spans)


def test_last_statement_without_semicolon_and_blank_input() -> None:
    assert pieces("SELECT 1;\n  SELECT 2  \n") == [("sql", "SELECT 1"), ("sql", "SELECT 2")]
    assert split("SELECT 2")[0].semicolon == -1
    assert split("") == []
    assert split("  \n-- only a comment\n/* and another */\n;;") == []


def test_dollar_quotes() -> None:
    text = (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
        "DO $body$ BEGIN PERFORM 'x;'; RAISE NOTICE $$;$$; END $body$;\n"
        "SELECT $a$ $b$ ; $b$ $a$, a$b FROM t$1;\n"
        "SELECT $1, $2 FROM t WHERE a = $3;"
    )
    assert sql(text) == [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
        "DO $body$ BEGIN PERFORM 'x;'; RAISE NOTICE $$;$$; END $body$",
        "SELECT $a$ $b$ ; $b$ $a$, a$b FROM t$1",
        "SELECT $1, $2 FROM t WHERE a = $3",
    ]


def test_escape_strings() -> None:
    text = "SELECT E'it\\'s; fine', e'\\\\'; SELECT 'plain\\'; SELECT 3; SELECT be'x;';"
    assert sql(text) == [
        "SELECT E'it\\'s; fine', e'\\\\'",
        "SELECT 'plain\\'",  # a backslash is an ordinary character in a standard string
        "SELECT 3",
        "SELECT be'x;'",  # `be` is an identifier, then a standard string
    ]


def test_begin_atomic_bodies() -> None:
    text = (
        "CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "SELECT 3;"
    )
    assert sql(text) == [
        "CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
        "SELECT 3",
    ]


def test_psql_meta_commands() -> None:
    text = "\\set ON_ERROR_STOP on\nSELECT 1\n\\gset\n\\i other.sql\n  \\echo 'a; b'\nSELECT 2;"
    assert pieces(text) == [
        ("psql", "\\set ON_ERROR_STOP on"),
        ("sql", "SELECT 1"),  # a meta-command ends the statement in progress
        ("psql", "\\gset"),
        ("psql", "\\i other.sql"),
        ("psql", "\\echo 'a; b'"),
        ("sql", "SELECT 2"),
    ]
    parsed = [s for s in split(text) if s.kind == "psql"]
    assert len(parsed) == 4


def test_meta_commands_inside_a_statement_keep_it_going() -> None:
    # psql keeps the query buffer across `\\if`/`\\echo` lines: one statement, blanked for parsing
    text = "CREATE TABLE t (\n  a int\n\\if :{?extra}\n  , b int\n\\endif\n);\nSELECT 2;"
    assert sql(text) == [
        "CREATE TABLE t (\n  a int\n\\if :{?extra}\n  , b int\n\\endif\n)",
        "SELECT 2",
    ]
    assert parse(sql(text)[0]).error is None
    # `\\;` puts a `;` into the buffer: the server receives two statements
    assert sql("SELECT 1 \\; DROP TABLE victim") == ["SELECT 1", "DROP TABLE victim"]


def test_copy_from_stdin_data() -> None:
    text = (
        "COPY users (id, email) FROM stdin;\n"
        "1\tada@example.com; 'quote\n"
        "2\t$$ /* not sql\n"
        "\\.\n"
        "SELECT 1;\n"
        "\\copy users FROM stdin\n"
        "3\tcarl\n"
        "\\.\n"
        "COPY users TO stdout;\n"
        "SELECT 2;"
    )
    assert pieces(text) == [
        ("sql", "COPY users (id, email) FROM stdin"),
        ("copydata", "1\tada@example.com; 'quote\n2\t$$ /* not sql\n\\."),
        ("sql", "SELECT 1"),
        ("psql", "\\copy users FROM stdin"),
        ("copydata", "3\tcarl\n\\."),
        ("sql", "COPY users TO stdout"),
        ("sql", "SELECT 2"),
    ]


def test_copy_data_without_terminator_runs_to_the_end() -> None:
    text = "COPY t FROM stdin;\na\nb;"
    assert pieces(text) == [("sql", "COPY t FROM stdin"), ("copydata", "a\nb;")]


def test_unterminated_constructs_are_reported_and_scanning_resumes() -> None:
    text = "SELECT 'oops;\nSELECT 2;\nSELECT \"x;\nSELECT 3; /* never closed\nSELECT 4;"
    spans = split(text)
    assert [(s.kind, text[s.start : s.end], s.issue and s.issue[0]) for s in spans] == [
        ("sql", "SELECT 'oops;", "unterminated quoted string"),
        ("sql", "SELECT 2", None),
        ("sql", 'SELECT "x;', "unterminated quoted identifier"),
        ("sql", "SELECT 3", None),
        ("sql", "/* never closed", "unterminated /* comment"),
        ("sql", "SELECT 4", None),
    ]
    _, start, end = spans[0].issue
    assert text[start:end] == "'oops;"
    assert pieces("SELECT $$ body") == [("sql", "SELECT $$ body")]
    assert split("SELECT $$ body")[0].issue[0] == "unterminated dollar-quoted string"


def test_crlf_and_unicode() -> None:
    text = "SELECT 'é😀;'\r\n;\r\nSELECT 2;\r\n"
    assert sql(text) == ["SELECT 'é😀;'", "SELECT 2"]


def test_other_dialects() -> None:
    assert sql_of("SELECT `a;b`, 'it\\'s;' FROM t # c;\n; SELECT 2;", "mysql") == [
        "SELECT `a;b`, 'it\\'s;' FROM t",
        "SELECT 2",
    ]
    assert sql_of("SELECT [a;b] FROM t; SELECT 2;", "sqlite") == ["SELECT [a;b] FROM t", "SELECT 2"]
    mysql = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\nSELECT 2;"
    assert pieces(mysql, "mysql") == [
        ("psql", "DELIMITER //"),
        ("sql", "CREATE PROCEDURE p() BEGIN SELECT 1; END"),
        ("psql", "DELIMITER ;"),
        ("sql", "SELECT 2"),
    ]
    # `;;` (mysqldump's delimiter) starts with the default one: it must not swallow the file
    dump = "DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END;;\nDELIMITER ;\nSELECT 2;\nSELECT 3;"
    assert sql_of(dump, "mysql") == [
        "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END",
        "SELECT 2",
        "SELECT 3",
    ]


def test_dollar_quote_tags_are_postgresql_s() -> None:
    """A tag is a letter, `_` or any non-ASCII character (an emoji too), then those or digits;
    `$1` is a parameter, not a tag."""
    text = "SELECT $😀$a;b$😀$; SELECT $é1$x;y$é1$; SELECT $1; SELECT $_a$q;$_a$;"
    assert sql(text) == [
        "SELECT $😀$a;b$😀$",
        "SELECT $é1$x;y$é1$",
        "SELECT $1",
        "SELECT $_a$q;$_a$",
    ]
    assert [f.rule for f in lint_text(text)] == []


def test_a_query_name_comment_starts_a_statement() -> None:
    """Query files (aiosql, sqlc, yesql: `-- name: x`; PugSQL, HugSQL: `-- :name x`) need no
    semicolons: the next name comment, at the start of its line, ends the query before it."""
    text = (
        "-- name: get-user\n-- Get one user\nSELECT id FROM users WHERE id = :id\n\n"
        "-- name: count-users$\nSELECT count(*) FROM users\n"
        "  -- :name insert-user :! :n\nINSERT INTO users (email) VALUES (:email)\n"
        "-- name: GetAuthor :one\nSELECT id FROM authors WHERE id = $1;\n"
        "SELECT 1 -- name: not at the start of its line\n, 2;\n"
    )
    assert sql(text) == [
        "SELECT id FROM users WHERE id = :id",
        "SELECT count(*) FROM users",
        "INSERT INTO users (email) VALUES (:email)",
        "SELECT id FROM authors WHERE id = $1",
        "SELECT 1 -- name: not at the start of its line\n, 2",
    ]
    assert [f.rule for f in lint_text(text)] == []
    # without a name comment between them, two statements need a semicolon, as in psql
    script = "CREATE TABLE a (id int)\n\n-- the second table\nCREATE TABLE b (id int);\n"
    assert [(f.rule, script[f.start : f.end]) for f in lint_text(script)] == [
        ("syntax-error", "CREATE")
    ]


def sql_of(text: str, dialect: str) -> list[str]:
    return [t for kind, t in pieces(text, dialect) if kind == "sql"]


# -- parameters and psql variables -----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id FROM users WHERE id = $1 AND org = $2",
        "SELECT id FROM users WHERE id = %s",
        "SELECT id FROM users WHERE id = %(user_id)s",
        "SELECT id FROM users WHERE id = :user_id",
        "SELECT id FROM users WHERE email = :'email'",
        'SELECT :"column" FROM users',
        "SELECT id FROM users WHERE id = ?",
        "SELECT id FROM users WHERE id = :{?flag}",
        "SELECT id FROM users WHERE created_at >= $1::date",
    ],
)
def test_every_parameter_style_parses(query: str) -> None:
    parsed = parse(query)
    assert parsed.error is None
    assert isinstance(parsed.tree, exp.Select)
    assert len(parsed.source) == len(query)  # substitutions keep every offset
    assert lint_text(query + ";") == []


EXTENSION_SCRIPT = """\
\\echo Use "CREATE EXTENSION demo" to load this file. \\quit
CREATE TABLE @extschema@.items (id bigint PRIMARY KEY, name text NOT NULL);
CREATE INDEX ON @extschema@.items (name);
CREATE FUNCTION @extschema:other-ext@.item_name(bigint) RETURNS text
  LANGUAGE sql STABLE AS $$ SELECT name FROM @extschema@.items WHERE id = $1 $$;
ALTER LANGUAGE plpgsql OWNER TO @extowner@;
SELECT id, nme FROM @extschema@.items WHERE id = 1;
ALTER LANGUAGE plpgsql OWNER TO @owner@;
ALTER EXTENSION demo OWNER TO @extowner@;
"""


def test_an_extension_scripts_placeholders_are_valid_and_unread() -> None:
    """CREATE EXTENSION fills in @extschema@, @extschema:name@ and @extowner@ before PostgreSQL
    parses the script: those statements are valid; which schema they name is unknown, so the
    catalog and the rules leave them alone. Other errors are still found."""
    found = [
        (f.rule, EXTENSION_SCRIPT[f.start : f.end], f.message) for f in lint_text(EXTENSION_SCRIPT)
    ]
    assert found == [
        ("syntax-error", "@", 'syntax error at or near "@"'),
        ("syntax-error", "OWNER", 'syntax error at or near "OWNER"'),  # not in ALTER EXTENSION
    ]
    assert catalog_of(EXTENSION_SCRIPT).tables == {}
    assert parse('SELECT "@extschema@"').tree is not None  # a quoted name is just a name
    # an error at a placeholder names it as written, not as the name that stood in for it
    error = parse("@extschema@.COPY users").error
    assert error is not None and (error.message, error.start, error.end) == (
        'syntax error at or near "@extschema@"',
        0,
        11,
    )
    error = parse("SELECT %s FROM %s junk").error
    assert error is not None and error.message == 'syntax error at or near "%s"'


# -- parse results ------------------------------------------------------------------------------


def test_parse_is_cached_by_dialect_and_text() -> None:
    assert parse("SELECT 1") is parse("SELECT 1")
    assert parse("SELECT 1", "mysql") is not parse("SELECT 1")


def test_syntax_error_points_at_the_offending_token() -> None:
    text = "SELECT id FROM users WHERE;"
    parsed = parse(text[:-1])
    assert parsed.tree is None
    assert parsed.error is not None
    assert text[parsed.error.start : parsed.error.end] == "WHERE"
    assert parsed.error.message == "syntax error at end of input"


def test_a_syntax_error_hides_nothing_else() -> None:
    text = "SELECT * FROM t;\nSELECT id FRM t WHERE;\nSELECT * FROM u;"
    assert [(f.rule, text.count("\n", 0, f.start) + 1) for f in lint_text(text)] == [
        ("select-star", 1),
        ("syntax-error", 2),
        ("select-star", 3),
    ]


def test_statements_sqlglot_does_not_know_are_not_errors() -> None:
    for text in (
        "LISTEN channel",
        "SAVEPOINT a",
        "VACUUM (ANALYZE) users",
        "CREATE EXTENSION IF NOT EXISTS hypopg",
        "ALTER TABLE users OWNER TO app",
        "GRANT SELECT ON users TO reader",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY stats",
    ):
        assert parse(text).error is None, text
        assert lint_text(text + ";") == [], text


# -- nothing raises -----------------------------------------------------------------------------


def _lint_quickly(text: str, seconds: float = 10.0) -> list[tuple[str, str]]:
    t0 = time.perf_counter()
    split(text)
    findings = lint_text(text)
    assert time.perf_counter() - t0 < seconds
    return [(f.rule, f.message) for f in findings]


def test_nul_bytes() -> None:
    text = "SELECT 'a\x00b' FROM t;\nSELECT 1;"
    assert _lint_quickly(text) == [("syntax-error", "NUL byte in SQL text")]


def test_binary_junk() -> None:
    rng = random.Random(1)
    for _ in range(5):
        junk = bytes(rng.randrange(256) for _ in range(50_000)).decode("latin-1")
        _lint_quickly(junk)
        _lint_quickly(junk.encode("latin-1").decode("utf-8", errors="replace"))


def test_deep_nesting() -> None:
    deep = "SELECT " + "(" * 5000 + "1" + ")" * 5000 + ";\nSELECT * FROM t;"
    # valid for PostgreSQL, too deep for the rules' tree: not analysed, and not an error
    assert parse(deep.split(";")[0]).note == "the statement is nested too deeply"
    assert _lint_quickly(deep) == [
        (
            "analysis-skipped",
            "not analysed: the statement is nested too deeply; only its syntax was checked",
        ),
        ("select-star", "* selects every column of t; list the columns the query needs"),
    ]
    calls = "SELECT " + "f(" * 3000 + "1" + ")" * 3000 + ";"
    assert [r for r, _ in _lint_quickly(calls)] == ["analysis-skipped"]
    _lint_quickly("SELECT " + "(" * 100_000 + ";")
    _lint_quickly("/*" * 50_000 + "*/" * 50_000 + "SELECT 1;")


def test_ten_megabyte_literals() -> None:
    big = "x" * 10_000_000
    text = f"SELECT '{big}';\nSELECT E'{big}';\nSELECT $${big}$$;\nSELECT * FROM t;"
    t0 = time.perf_counter()
    assert pieces(text)[3] == ("sql", "SELECT * FROM t")
    assert time.perf_counter() - t0 < 2.0
    assert [r for r, _ in _lint_quickly(text)] == [*["analysis-skipped"] * 3, "select-star"]


def test_pathological_quotes() -> None:
    for text in ("'" * 100_001, "$$" * 50_001, "E'\\" * 30_000, '"' * 99_999, "$a$" * 33_333):
        _lint_quickly(text, seconds=5.0)


def test_the_shared_tokenizer_and_parser_keep_threads_apart() -> None:
    """Each thread reads with its own sqlglot tokenizer and parser: statements parsed at the same
    time in eight threads, errors among them, give the trees and errors of a parse in one."""
    from concurrent.futures import ThreadPoolExecutor

    from sql_lsp.statements import _parse  # not `parse`: its cache would answer the second pass

    texts = [
        f"SELECT c{i}, count(*) FROM t{i} WHERE x > {i} GROUP BY 1 ORDER BY 2 LIMIT {i}"
        if i % 3
        else f"SELECT ( FROM t{i} WHERE"
        for i in range(400)
    ]

    def shape(text: str) -> tuple[str | None, str | None]:
        parsed = _parse("mysql", text)  # sqlglot decides errors in this dialect
        tree = parsed.tree.sql() if parsed.tree is not None else None
        return tree, parsed.error.message if parsed.error else None

    alone = [shape(t) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(shape, texts))
    assert together == alone
    assert alone[1][0] == "SELECT c1, COUNT(*) FROM t1 WHERE x > 1 GROUP BY 1 ORDER BY 2 LIMIT 1"
    assert alone[0][0] is None and alone[0][1]
