"""`sql-lsp check`, `sql-lsp rules` and `sql-lsp rule ID`, run as a user runs them: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sql_lsp.rules import ALL_RULES, RULES_BY_ID
from sql_lsp.statements import parse, split

SCHEMA = """\
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));
"""
QUERIES = """\
SELECT * FROM users WHERE lower(email) = 'Ada@Example.com';
SELECT 'é😀', * FROM users;
SELECT id FROM orders WHERE;
"""

SELECT_STAR = "* selects every column of users; list the columns the query needs"
LOWER_EMAIL = (
    "users.email is indexed (unique constraint users_email_key), "
    "but lower(email) cannot use that index"
)
FK = (
    "foreign key orders (user_id) -> users has no index on orders (user_id): deleting or "
    "updating a users row scans orders, and joins on it cannot use an index"
)
EMPTY_WHERE = "syntax error at end of input"


def run(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SQL_LSP_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sql_lsp", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=environ,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "q.sql").write_text(QUERIES, encoding="utf-8")
    return tmp_path


def _error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line a usage/configuration/I-O error prints on stderr."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- output and exit codes --------------------------------------------------------------------


def test_text_output(project: Path) -> None:
    proc = run("check", ".", cwd=project)
    assert proc.returncode == 1
    assert proc.stderr == ""
    assert proc.stdout == (
        f"q.sql:1:8: warning select-star {SELECT_STAR}\n"
        f"q.sql:1:27: warning function-on-indexed-column {LOWER_EMAIL}\n"
        f"q.sql:2:14: warning select-star {SELECT_STAR}\n"
        f"q.sql:3:23: error syntax-error {EMPTY_WHERE}\n"
        f"schema.sql:2:69: warning missing-fk-index {FK}\n"
    )


def test_json_output(project: Path) -> None:
    proc = run("check", "q.sql", "--format", "json", cwd=project)
    assert proc.returncode == 1
    assert proc.stderr == ""
    star_fix = {"title": "Replace * with 3 columns", "safety": "safe"}
    assert json.loads(proc.stdout) == [
        {
            "path": "q.sql",
            "rule": "select-star",
            "severity": "warning",
            "message": SELECT_STAR,
            "line": 1,
            "column": 8,
            "end_line": 1,
            "end_column": 9,
            "fix": star_fix,
        },
        {
            "path": "q.sql",
            "rule": "function-on-indexed-column",
            "severity": "warning",
            "message": LOWER_EMAIL,
            "line": 1,
            "column": 27,
            "end_line": 1,
            "end_column": 39,
            "fix": {
                "title": "Compare email directly with 'ada@example.com' "
                "(unsafe: assumes stored values are already lower-case)",
                "safety": "unsafe",
            },
        },
        {  # columns count characters: 'é😀' is 4 of them (5 UTF-16 code units, 8 bytes)
            "path": "q.sql",
            "rule": "select-star",
            "severity": "warning",
            "message": SELECT_STAR,
            "line": 2,
            "column": 14,
            "end_line": 2,
            "end_column": 15,
            "fix": star_fix,
        },
        {
            "path": "q.sql",
            "rule": "syntax-error",
            "severity": "error",
            "message": EMPTY_WHERE,
            "line": 3,
            "column": 23,
            "end_line": 3,
            "end_column": 28,
            "fix": None,
        },
    ]


def test_clean_files_exit_0(project: Path) -> None:
    (project / "clean.sql").write_text("SELECT id, email FROM users WHERE id = $1;\n")
    proc = run("check", "clean.sql", cwd=project)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    proc = run("check", "clean.sql", "--format", "json", cwd=project)
    assert (proc.returncode, json.loads(proc.stdout)) == (0, [])


def test_findings_below_warning_exit_0(project: Path) -> None:
    (project / "sql-lsp.toml").write_text(
        '[rules]\nselect-star = "info"\nfunction-on-indexed-column = "hint"\n'
        'syntax-error = "off"\nmissing-fk-index = "off"\n',
        encoding="utf-8",
    )
    proc = run("check", ".", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        f"q.sql:1:8: info select-star {SELECT_STAR}\n"
        f"q.sql:1:27: hint function-on-indexed-column {LOWER_EMAIL}\n"
        f"q.sql:2:14: info select-star {SELECT_STAR}\n"
    )


def test_pyproject_settings_and_explicit_config(project: Path) -> None:
    (project / "sql-lsp.toml").unlink()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.sql-lsp.rules]\nselect-star = "error"\n', encoding="utf-8"
    )
    proc = run("check", "q.sql", cwd=project)
    assert [line.split(" ")[1:3] for line in proc.stdout.splitlines()] == [
        ["error", "select-star"],
        ["warning", "function-on-indexed-column"],
        ["error", "select-star"],
        ["error", "syntax-error"],
    ]
    other = project / "other.toml"
    other.write_text('[rules]\nselect-star = "off"\nsyntax-error = "off"\n', encoding="utf-8")
    proc = run("check", "q.sql", "--config", "other.toml", cwd=project)
    assert proc.stdout == f"q.sql:1:27: warning function-on-indexed-column {LOWER_EMAIL}\n"


def test_stdin(project: Path) -> None:
    proc = run("check", "-", cwd=project, stdin="SELECT * FROM users;\n")
    assert proc.returncode == 1
    assert proc.stdout == f"-:1:8: warning select-star {SELECT_STAR}\n"
    # the catalog of the project around the current folder still applies
    proc = run("check", "--stdin-filename", "new.sql", "-", cwd=project, stdin="SELECT 1;\n")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


# -- errors: exit 2 and one line on stderr ----------------------------------------------------


def test_missing_path(project: Path) -> None:
    line = _error_line(run("check", "nope.sql", cwd=project))
    assert line == "sql-lsp: error: nope.sql: no such file or directory"


def test_unreadable_file(project: Path) -> None:
    if os.geteuid() == 0:  # root reads any mode: use a file whose read fails for everyone
        (project / "broken.sql").symlink_to("/proc/self/mem")
    else:
        (project / "broken.sql").write_text("SELECT 1;\n")
        (project / "broken.sql").chmod(0)
    line = _error_line(run("check", "broken.sql", cwd=project))
    assert line.startswith("sql-lsp: error: broken.sql: ")


def test_bad_config_toml(project: Path) -> None:
    (project / "sql-lsp.toml").write_text("dialect = [\n", encoding="utf-8")
    line = _error_line(run("check", ".", cwd=project))
    assert line.startswith("sql-lsp: error: ")
    assert "sql-lsp.toml: invalid TOML" in line


def test_bad_config_value_warns_and_checks_with_the_default(project: Path) -> None:
    """A bad value is reported on stderr, that key keeps its default, and the check runs."""
    (project / "sql-lsp.toml").write_text(
        'dialect = "oracle"\n[rules]\nselect-star = "loud"\n', encoding="utf-8"
    )
    proc = run("check", "q.sql", cwd=project)
    assert proc.stderr.splitlines() == [
        "sql-lsp: warning: sql-lsp.toml: dialect: 'oracle' is not one of postgres, mysql, "
        "sqlite; using the default",
        "sql-lsp: warning: sql-lsp.toml: rules.select-star.severity: 'loud' is not one of "
        "off, hint, info, warning, error; using the default",
    ]
    # the default dialect (postgres) and select-star's default severity (warning)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == f"q.sql:1:8: warning select-star {SELECT_STAR}"
    assert len(proc.stdout.splitlines()) == 4


def test_unknown_rule_in_config_is_ignored(project: Path) -> None:
    (project / "sql-lsp.toml").write_text(
        '[rules]\nnope = "off"\nsyntax-error = "off"\n', encoding="utf-8"
    )
    proc = run("check", "q.sql", cwd=project)
    assert proc.stderr == (
        "sql-lsp: warning: sql-lsp.toml: rules.nope: unknown rule; ignored (see `sql-lsp rules`)\n"
    )
    assert proc.returncode == 1
    assert [line.split(" ")[2] for line in proc.stdout.splitlines()] == [
        "select-star",
        "function-on-indexed-column",
        "select-star",
    ]


def test_missing_config_file(project: Path) -> None:
    line = _error_line(run("check", ".", "--config", "absent.toml", cwd=project))
    assert "absent.toml" in line


def test_unknown_option(project: Path) -> None:
    proc = run("check", "--bogus", ".", cwd=project)
    assert proc.returncode == 2
    assert "unrecognized arguments: --bogus" in proc.stderr


def test_unknown_rule_id(project: Path) -> None:
    line = _error_line(run("rule", "nope", cwd=project))
    assert line == "sql-lsp: error: unknown rule 'nope' (see `sql-lsp rules`)"


# -- fixes ------------------------------------------------------------------------------------


def _findings(project: Path, *paths: str) -> list[dict]:
    proc = run("check", *paths, "--format", "json", cwd=project)
    return json.loads(proc.stdout)


def _assert_parses(text: str) -> None:
    for span in split(text):
        assert span.issue is None
        assert parse(text[span.start : span.end]).error is None, text[span.start : span.end]


def test_fix_applies_safe_fixes_in_place(project: Path) -> None:
    proc = run("check", "--fix", ".", cwd=project)
    assert proc.returncode == 1  # the unsafe fix and the syntax error are left
    assert sorted(proc.stderr.splitlines()) == [
        "fixed 1 in schema.sql: missing-fk-index",
        "fixed 2 in q.sql: select-star x2",
    ]
    assert proc.stdout == (
        f"q.sql:1:41: warning function-on-indexed-column {LOWER_EMAIL}\n"
        f"q.sql:3:23: error syntax-error {EMPTY_WHERE}\n"
    )
    assert (project / "q.sql").read_text(encoding="utf-8") == (
        "SELECT id, email, name FROM users WHERE lower(email) = 'Ada@Example.com';\n"
        "SELECT 'é😀', id, email, name FROM users;\n"
        "SELECT id FROM orders WHERE;\n"
    )
    assert (project / "schema.sql").read_text(encoding="utf-8") == (
        SCHEMA + "CREATE INDEX orders_user_id_idx ON orders (user_id);\n"
    )
    left = {(f["path"], f["rule"]) for f in _findings(project, ".")}
    assert left == {("q.sql", "function-on-indexed-column"), ("q.sql", "syntax-error")}
    _assert_parses((project / "schema.sql").read_text(encoding="utf-8"))
    # a second --fix has nothing left to do
    again = run("check", "--fix", ".", cwd=project)
    assert again.stderr == ""
    assert again.stdout == proc.stdout


def test_unsafe_fixes(project: Path) -> None:
    (project / "q.sql").write_text(QUERIES.replace("SELECT id FROM orders WHERE;\n", ""))
    proc = run("check", "--fix", "--unsafe-fixes", ".", cwd=project)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert sorted(proc.stderr.splitlines()) == [
        "fixed 1 in schema.sql: missing-fk-index",
        "fixed 3 in q.sql: select-star x2, function-on-indexed-column",
    ]
    fixed = (project / "q.sql").read_text(encoding="utf-8")
    assert fixed == (
        "SELECT id, email, name FROM users WHERE email = 'ada@example.com';\n"
        "SELECT 'é😀', id, email, name FROM users;\n"
    )
    _assert_parses(fixed)
    assert _findings(project, ".") == []


def test_unsafe_fix_deletes_redundant_index(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "s.sql").write_text(
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c int);\n"
        "CREATE INDEX t_a_idx ON t (a);\n"
        "CREATE INDEX t_a_b_idx ON t (a, b);\n"
    )
    safe = run("check", "--fix", "s.sql", cwd=tmp_path)
    assert safe.returncode == 1 and safe.stderr == ""
    assert safe.stdout.startswith("s.sql:2:1: warning redundant-index ")
    proc = run("check", "--fix", "--unsafe-fixes", "s.sql", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        "",
        "fixed 1 in s.sql: redundant-index\n",
    )
    text = (tmp_path / "s.sql").read_text()
    assert "t_a_idx" not in text and "t_a_b_idx ON t (a, b);" in text
    _assert_parses(text)


def test_fix_stdin_writes_the_fixed_text_to_stdout(project: Path) -> None:
    proc = run("check", "--fix", "-", cwd=project, stdin="SELECT * FROM users;\n")
    assert proc.stdout == "SELECT id, email, name FROM users;\n"
    assert proc.stderr == "fixed 1 in -: select-star\n"
    assert proc.returncode == 0


def test_fixes_in_two_files_never_create_the_same_index_name(tmp_path: Path) -> None:
    # a_b (c) and a (b_c), in two files, both get PostgreSQL's name a_b_c_idx
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "1.sql").write_text(
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE a_b (id int PRIMARY KEY, c int REFERENCES p);\n"
    )
    (tmp_path / "2.sql").write_text("CREATE TABLE a (id int PRIMARY KEY, b_c int REFERENCES p);\n")
    proc = run("check", "--fix", ".", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert sorted(proc.stderr.splitlines()) == [
        "fixed 1 in 1.sql: missing-fk-index",
        "fixed 1 in 2.sql: missing-fk-index",
    ]
    assert (tmp_path / "1.sql").read_text().endswith("CREATE INDEX a_b_c_idx ON a_b (c);\n")
    assert (tmp_path / "2.sql").read_text().endswith("CREATE INDEX a_b_c_idx1 ON a (b_c);\n")


def test_fix_changes_only_the_bytes_of_its_edits(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    head = b"\xef\xbb\xbfCREATE TABLE users (id int PRIMARY KEY, name text);\r\n"
    tail = b";\r\n-- caf\xc3\xa9 \r SELECT 2;\r\n\n"
    (tmp_path / "u.sql").write_bytes(head + b"SELECT * FROM users" + tail)
    proc = run("check", "--fix", "u.sql", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "fixed 1 in u.sql: select-star\n")
    assert (tmp_path / "u.sql").read_bytes() == head + b"SELECT id, name FROM users" + tail


def test_fix_inserts_lines_with_the_files_line_ending(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    schema = SCHEMA.replace("\n", "\r\n").encode()
    (tmp_path / "s.sql").write_bytes(schema)
    proc = run("check", "--fix", "s.sql", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "fixed 1 in s.sql: missing-fk-index\n")
    assert (tmp_path / "s.sql").read_bytes() == (
        schema + b"CREATE INDEX orders_user_id_idx ON orders (user_id);\r\n"
    )


def test_fix_leaves_a_file_that_is_not_utf8_alone(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    data = b"CREATE TABLE users (id int PRIMARY KEY);\r\n-- caf\xe9\r\nSELECT * FROM users;\r\n"
    (tmp_path / "l.sql").write_bytes(data)
    (tmp_path / "ok.sql").write_text("SELECT * FROM users;\n")
    proc = run("check", "--fix", "l.sql", "ok.sql", cwd=tmp_path)
    assert proc.returncode == 1  # as for a finding that has no fix
    assert proc.stdout == (
        "l.sql:3:8: warning select-star * selects every column of users; "
        "list the columns the query needs\n"
    )
    assert proc.stderr == (
        "sql-lsp: warning: l.sql: not valid UTF-8 (byte 0xe9 at offset 48); not rewritten\n"
        "fixed 1 in ok.sql: select-star\n"
    )
    assert (tmp_path / "l.sql").read_bytes() == data
    assert (tmp_path / "ok.sql").read_text() == "SELECT id FROM users;\n"


def test_fix_stdin_keeps_line_endings_and_bom(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sql_lsp", "check", "--fix", "-"],
        cwd=project,
        input=b"\xef\xbb\xbfSELECT * FROM users;\r\nSELECT 1;\r",
        capture_output=True,
        timeout=120,
    )
    assert proc.stdout == b"\xef\xbb\xbfSELECT id, email, name FROM users;\r\nSELECT 1;\r"
    assert (proc.returncode, proc.stderr) == (0, b"fixed 1 in -: select-star\n")


# -- rules ------------------------------------------------------------------------------------


def test_rules_lists_every_rule(project: Path) -> None:
    proc = run("rules", cwd=project)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [r.id for r in ALL_RULES]
    for line, rule in zip(lines, ALL_RULES, strict=True):
        words = line.split()
        assert words[1:4] == [rule.severity, rule.needs, f"fix:{rule.fix or '-'}"]
        assert line.endswith("  " + rule.summary)


def test_rule_prints_its_documentation(project: Path) -> None:
    proc = run("rule", "select-star", cwd=project)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == RULES_BY_ID["select-star"].markdown()
    assert proc.stdout.startswith("# select-star\n")
    assert "**Use instead**" in proc.stdout


# -- pipes ------------------------------------------------------------------------------------


def test_closed_pipe_prints_no_traceback(tmp_path: Path) -> None:
    """`sql-lsp check big.sql | head -1` stops quietly when head goes away."""
    (tmp_path / "big.sql").write_text("SELECT * FROM t;\n" * 20000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sql_lsp", "check", "big.sql"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=120)
    assert first.startswith(b"big.sql:1:8: warning select-star ")
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (0, 1, 141)


def test_statistics_count_the_statements_not_analysed(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "a.sql").write_text(
        "VACUUM (ANALYZE) t;\nSELECT " + "(" * 5000 + "1" + ")" * 5000 + ";\nSELECT 1;\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "sql_lsp", "check", "--statistics", "a.sql"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    assert proc.stderr == (
        "sql-lsp: note: 2 valid statements not analysed by the rules that read a parse tree"
        " (only their syntax and the catalog were checked)\n"
    )


def test_a_folder_of_projects_checks_each_with_its_own_settings_and_catalog(
    tmp_path: Path,
) -> None:
    """`check` on a folder holding several projects (each with its own sql-lsp.toml) gives
    each project its own settings and catalog: `orders.user_id` in one project is no missing
    foreign key to another project's `users`. One JSON array holds every project's findings,
    and the folder's own loose files are checked with the folder's settings."""
    shop = tmp_path / "shop"
    blog = tmp_path / "blog"
    shop.mkdir()
    blog.mkdir()
    (shop / "sql-lsp.toml").write_text('[rules]\nselect-star = "error"\n')
    (shop / "schema.sql").write_text("CREATE TABLE users (id bigint PRIMARY KEY);\n")
    (shop / "q.sql").write_text("SELECT * FROM users;\n")
    (blog / "sql-lsp.toml").write_text("")
    (blog / "schema.sql").write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);\n"
    )
    (blog / "q.sql").write_text("SELECT * FROM orders;\n")
    (tmp_path / "loose.sql").write_text("DELETE FROM orders;\n")
    proc = run("check", ".", "--format", "json", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    found = sorted((f["path"], f["rule"], f["severity"]) for f in json.loads(proc.stdout))
    assert found == [
        ("blog/q.sql", "select-star", "warning"),
        ("loose.sql", "delete-without-where", "warning"),
        ("shop/q.sql", "select-star", "error"),
    ]
    # one project named on its own: the same findings as in the folder
    alone = run("check", "blog", "--format", "json", "--no-cache", cwd=tmp_path)
    assert [f["rule"] for f in json.loads(alone.stdout)] == ["select-star"]
