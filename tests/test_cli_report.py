"""`sql-lsp check` as CI uses it: SARIF, GitHub annotations, --diff, --statistics, rule and file
selection, --exit-zero, --output-file, the progress bar, and the command's help and version.

SARIF is validated against the vendored SARIF 2.1.0 schema (tests/sarif/); --diff output is
applied with the real `patch -p1` and compared with what --fix writes.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from test_cli import FK, LOWER_EMAIL, QUERIES, SCHEMA, SELECT_STAR, run

from sql_lsp import __version__
from sql_lsp.report import Progress, Reported, github_annotation
from sql_lsp.rules import ALL_RULES

SARIF_SCHEMA = Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json"
# GitHub's workflow command syntax: ::command prop=value,prop=value::message, where values
# escape % \r \n : , and the message escapes % \r \n
ANNOTATION = re.compile(
    r"^::(error|warning|notice) "
    r"file=(?P<file>[^,:\r\n]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"endLine=(?P<end_line>\d+),endColumn=(?P<end_col>\d+),title=(?P<title>[^,:\r\n]+)"
    r"::(?P<message>[^\r\n]*)$"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "q.sql").write_text(QUERIES, encoding="utf-8")
    return tmp_path


# -- SARIF ----------------------------------------------------------------------------------------


def test_sarif_is_valid_and_complete(project: Path) -> None:
    proc = run("check", ".", "--output-format", "sarif", cwd=project)
    assert proc.returncode == 1 and proc.stderr == ""
    log = json.loads(proc.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert errors == [], [e.message for e in errors]
    assert (log["version"], log["$schema"]) == (
        "2.1.0",
        "https://json.schemastore.org/sarif-2.1.0.json",
    )
    [sarif_run] = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("sql-lsp", __version__)
    # every rule's metadata, with its documentation page
    assert [r["id"] for r in driver["rules"]] == [r.id for r in ALL_RULES]
    for meta, rule in zip(driver["rules"], ALL_RULES, strict=True):
        assert meta["helpUri"] == rule.url
        assert meta["shortDescription"]["text"] == rule.summary
        assert meta["help"]["markdown"] == rule.markdown()
    assert sarif_run["columnKind"] == "unicodeCodePoints"
    assert sarif_run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    got = [
        (
            r["ruleId"],
            driver["rules"][r["ruleIndex"]]["id"],
            r["level"],
            r["message"]["text"],
            r["locations"][0]["physicalLocation"]["artifactLocation"],
            r["locations"][0]["physicalLocation"]["region"],
        )
        for r in sarif_run["results"]
    ]
    loc = {"uriBaseId": "%SRCROOT%"}

    def region(line: int, col: int, end_line: int, end_col: int) -> dict[str, int]:
        return {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col}

    star, fn = "select-star", "function-on-indexed-column"
    assert got == [
        (star, star, "warning", SELECT_STAR, {"uri": "q.sql", **loc}, region(1, 8, 1, 9)),
        (fn, fn, "warning", LOWER_EMAIL, {"uri": "q.sql", **loc}, region(1, 27, 1, 39)),
        # columns count characters: 'é😀' is two
        (star, star, "warning", SELECT_STAR, {"uri": "q.sql", **loc}, region(2, 14, 2, 15)),
        (
            "syntax-error",
            "syntax-error",
            "error",
            "syntax error at end of input",
            {"uri": "q.sql", **loc},
            region(3, 23, 3, 28),
        ),
        (
            "missing-fk-index",
            "missing-fk-index",
            "warning",
            FK,
            {"uri": "schema.sql", **loc},
            region(2, 69, 2, 90),
        ),
    ]
    assert sarif_run["results"][0]["properties"]["fix"] == {
        "title": "Replace * with 3 columns",
        "safety": "safe",
    }


def test_sarif_with_no_findings_and_odd_paths(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    folder = tmp_path / "my queries"
    folder.mkdir()
    (folder / "a#b.sql").write_text("SELECT * FROM t;\n", encoding="utf-8")
    (tmp_path / "clean.sql").write_text("SELECT 1;\n", encoding="utf-8")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    proc = run("check", "clean.sql", "--format", "sarif", cwd=tmp_path)
    assert proc.returncode == 0
    log = json.loads(proc.stdout)
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    assert log["runs"][0]["results"] == []
    proc = run("check", ".", "--format", "sarif", cwd=tmp_path)
    log = json.loads(proc.stdout)
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    [result] = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "my%20queries/a%23b.sql", "uriBaseId": "%SRCROOT%"}


# -- GitHub annotations ---------------------------------------------------------------------------


def test_github_annotations(project: Path) -> None:
    proc = run("check", ".", "--output-format", "github", cwd=project)
    assert proc.returncode == 1 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines == [
        "::warning file=q.sql,line=1,col=8,endLine=1,endColumn=9,"
        f"title=sql-lsp (select-star)::{SELECT_STAR}",
        "::warning file=q.sql,line=1,col=27,endLine=1,endColumn=39,"
        f"title=sql-lsp (function-on-indexed-column)::{LOWER_EMAIL}",
        "::warning file=q.sql,line=2,col=14,endLine=2,endColumn=15,"
        f"title=sql-lsp (select-star)::{SELECT_STAR}",
        "::error file=q.sql,line=3,col=23,endLine=3,endColumn=28,"
        "title=sql-lsp (syntax-error)::syntax error at end of input",
        "::warning file=schema.sql,line=2,col=69,endLine=2,endColumn=90,"
        f"title=sql-lsp (missing-fk-index)::{FK}",
    ]
    for line in lines:
        assert ANNOTATION.match(line), line


def test_github_escaping() -> None:
    r = Reported(
        path="db/a,b:c%.sql",
        rule="select-star",
        severity="info",
        message="50% of\nthe rows\r, here: x",
        line=3,
        column=1,
        end_line=4,
        end_column=2,
    )
    line = github_annotation(r)
    assert line == (
        "::notice file=db/a%2Cb%3Ac%25.sql,line=3,col=1,endLine=4,endColumn=2,"
        "title=sql-lsp (select-star)::50%25 of%0Athe rows%0D, here: x"
    )
    m = ANNOTATION.match(line)
    assert m is not None and m["file"] == "db/a%2Cb%3Ac%25.sql"


# -- --diff -------------------------------------------------------------------------------------


def _diff_project(root: Path) -> None:
    (root / "sql-lsp.toml").write_text("", encoding="utf-8")
    (root / "db").mkdir()
    (root / "db" / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    # no newline at the end; CRLF line ends; a file with nothing to fix
    (root / "db" / "q.sql").write_text(
        "-- reports\nSELECT * FROM users WHERE lower(email) = 'A@b';\nSELECT 1;\n"
        "SELECT * FROM orders",
        encoding="utf-8",
    )
    (root / "crlf.sql").write_bytes(b"SELECT 1;\r\nSELECT * FROM users;\r\n")
    (root / "clean.sql").write_text("SELECT id FROM users;\n", encoding="utf-8")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_diff_applies_with_patch_and_matches_fix(tmp_path: Path, unsafe: bool) -> None:
    flags = ["--unsafe-fixes"] if unsafe else []
    by_diff, by_fix = tmp_path / "diff", tmp_path / "fix"
    for root in (by_diff, by_fix):
        root.mkdir()
        _diff_project(root)
    before = _tree(by_diff)
    proc = run("check", ".", "--diff", *flags, "--output-file", "../fixes.patch", cwd=by_diff)
    assert proc.returncode == 1, proc.stderr
    assert _tree(by_diff) == before  # --diff writes nothing
    raw = (tmp_path / "fixes.patch").read_bytes()
    assert b"+SELECT id, email, name FROM users;\r\n" in raw  # line ends kept as they are
    diff = raw.decode("utf-8")
    assert diff.startswith("--- a/crlf.sql\n+++ b/crlf.sql\n")
    assert "--- a/db/q.sql\n+++ b/db/q.sql\n" in diff
    assert "\\ No newline at end of file\n" in diff
    assert "clean.sql" not in diff
    assert proc.stdout == ""
    assert sorted(proc.stderr.splitlines()) == sorted(
        [
            "would fix 1 in crlf.sql: select-star",
            "would fix 1 in db/schema.sql: missing-fk-index",
            "would fix 3 in db/q.sql: select-star x2, function-on-indexed-column"
            if unsafe
            else "would fix 2 in db/q.sql: select-star x2",
        ]
    )
    patched = subprocess.run(
        ["patch", "-p1", "--batch", "--forward", "-i", str(tmp_path / "fixes.patch")],
        cwd=by_diff,
        capture_output=True,
        timeout=60,
    )
    assert patched.returncode == 0, patched.stdout + patched.stderr
    fixed = run("check", ".", "--fix", *flags, cwd=by_fix)
    assert fixed.returncode in (0, 1), fixed.stderr
    assert _tree(by_diff) == _tree(by_fix)
    assert _tree(by_fix) != before
    # nothing left to fix: no diff, exit 0 (whatever findings remain)
    again = run("check", ".", "--diff", *flags, cwd=by_fix)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_diff_of_stdin_and_exit_zero(project: Path) -> None:
    proc = run(
        "check",
        "--diff",
        "--stdin-filename",
        "new.sql",
        "-",
        cwd=project,
        stdin="SELECT * FROM users;\n",
    )
    assert proc.returncode == 1
    assert proc.stdout == (
        "--- a/new.sql\n+++ b/new.sql\n@@ -1 +1 @@\n"
        "-SELECT * FROM users;\n+SELECT id, email, name FROM users;\n"
    )
    proc = run("check", ".", "--diff", "--exit-zero", cwd=project)
    assert proc.returncode == 0 and proc.stdout.startswith("--- a/q.sql\n")
    proc = run("check", ".", "--diff", "--fix", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr == (
        "sql-lsp: error: --fix and --diff cannot be used together (--diff writes nothing)\n"
    )


# -- statistics, exit status, output file ----------------------------------------------------


def test_statistics(project: Path) -> None:
    proc = run("check", ".", "--statistics", cwd=project)
    assert proc.returncode == 1 and proc.stderr == ""
    summary = {r.id: r.summary for r in ALL_RULES}
    assert proc.stdout.splitlines() == [
        f"2\tselect-star               \t[*] {summary['select-star']}",
        f"1\tfunction-on-indexed-column\t[ ] {summary['function-on-indexed-column']}",
        f"1\tmissing-fk-index          \t[*] {summary['missing-fk-index']}",
        f"1\tsyntax-error              \t[ ] {summary['syntax-error']}",
    ]
    proc = run("check", ".", "--statistics", "--unsafe-fixes", "--format", "json", cwd=project)
    rows = json.loads(proc.stdout)
    assert [(r["count"], r["code"], r["fixable"]) for r in rows] == [
        (2, "select-star", True),
        (1, "function-on-indexed-column", True),
        (1, "missing-fk-index", True),
        (1, "syntax-error", False),
    ]


def test_exit_zero_and_output_file(project: Path) -> None:
    proc = run(
        "check", ".", "--exit-zero", "--output-file", "report.json", "--format", "json", cwd=project
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    items = json.loads((project / "report.json").read_text(encoding="utf-8"))
    assert [(i["path"], i["line"], i["rule"]) for i in items] == [
        ("q.sql", 1, "select-star"),
        ("q.sql", 1, "function-on-indexed-column"),
        ("q.sql", 2, "select-star"),
        ("q.sql", 3, "syntax-error"),
        ("schema.sql", 2, "missing-fk-index"),
    ]
    # a usage error is still exit 2
    proc = run("check", "nope.sql", "--exit-zero", cwd=project)
    assert proc.returncode == 2
    proc = run("check", ".", "--output-file", "no/such/dir/r.txt", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sql-lsp: error: no/such/dir/r.txt: cannot write: ")


# -- rule selection -------------------------------------------------------------------------------


def _rules_found(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split(" ")[2] for line in proc.stdout.splitlines()]


def test_select_ignore_extend_select(project: Path) -> None:
    proc = run("check", ".", "--select", "select-star", cwd=project)
    assert _rules_found(proc) == ["select-star", "select-star"]
    proc = run("check", ".", "--select", "select-star,syntax-error", cwd=project)
    assert _rules_found(proc) == ["select-star", "select-star", "syntax-error"]
    proc = run(
        "check", ".", "--select", "select-star", "--extend-select", "missing-fk-index", cwd=project
    )
    assert _rules_found(proc) == ["select-star", "select-star", "missing-fk-index"]
    proc = run("check", ".", "--ignore", "select-star", "--ignore", "syntax-error", cwd=project)
    assert _rules_found(proc) == ["function-on-indexed-column", "missing-fk-index"]
    proc = run("check", ".", "--select", "ALL", "--ignore", "select-star", cwd=project)
    assert _rules_found(proc) == [
        "function-on-indexed-column",
        "syntax-error",
        "missing-fk-index",
    ]
    proc = run("check", ".", "--select", "select-star,nope", cwd=project)
    assert (proc.returncode, proc.stderr) == (
        2,
        "sql-lsp: error: --select: unknown rule 'nope' (see `sql-lsp rules`)\n",
    )


def test_selection_in_the_settings_file(project: Path) -> None:
    (project / "sql-lsp.toml").unlink()
    (project / "pyproject.toml").write_text(
        '[tool.sql-lsp]\nselect = ["select-star"]\nextend-select = ["syntax-error"]\n'
        'ignore = ["missing-fk-index", "nope"]\n',
        encoding="utf-8",
    )
    proc = run("check", ".", cwd=project)
    assert _rules_found(proc) == ["select-star", "select-star", "syntax-error"]
    assert proc.stderr == (
        "sql-lsp: warning: pyproject.toml: ignore: unknown rule 'nope'; ignored "
        "(see `sql-lsp rules`)\n"
    )
    # the command line replaces `select` and adds to `ignore`
    proc = run("check", ".", "--select", "ALL", "--ignore", "syntax-error", cwd=project)
    assert _rules_found(proc) == ["select-star", "function-on-indexed-column", "select-star"]


# -- file selection -------------------------------------------------------------------------------


def _paths_found(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted({line.split(":")[0] for line in proc.stdout.splitlines()})


def test_exclude(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text('extend-exclude = ["legacy"]\n', encoding="utf-8")
    for rel in ("a.sql", "legacy/old.sql", "gen/x.generated.sql", "gen/y.sql"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("SELECT * FROM t;\n", encoding="utf-8")
    assert _paths_found(run("check", ".", cwd=tmp_path)) == [
        "a.sql",
        "gen/x.generated.sql",
        "gen/y.sql",
    ]
    proc = run("check", ".", "--exclude", "*.generated.sql", cwd=tmp_path)
    assert _paths_found(proc) == ["a.sql", "gen/y.sql"]
    proc = run("check", ".", "--extend-exclude", "gen/*,a.sql", cwd=tmp_path)
    assert _paths_found(proc) == []
    assert proc.returncode == 0
    # a file named on the command line is checked unless --force-exclude (pre-commit)
    assert _paths_found(run("check", "legacy/old.sql", cwd=tmp_path)) == ["legacy/old.sql"]
    proc = run("check", "legacy/old.sql", "a.sql", "--force-exclude", cwd=tmp_path)
    assert _paths_found(proc) == ["a.sql"]


# -- progress, help, version -----------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    term = _Terminal()
    bar = Progress(4, term, delay_s=0)
    bar.step(2, "q.sql")
    assert term.getvalue().startswith("\rchecking [###############---------------] 2/4 q.sql")
    bar.done()
    assert term.getvalue().endswith("\r")
    assert not bar.shown
    piped = io.StringIO()
    bar = Progress(4, piped, delay_s=0)
    bar.step(2)
    bar.done()
    assert piped.getvalue() == ""
    # on a terminal, a short check shows nothing
    term = _Terminal()
    bar = Progress(4, term, delay_s=3600)
    bar.step(1)
    bar.done()
    assert term.getvalue() == ""


def test_help_lists_the_server_options(tmp_path: Path) -> None:
    proc = run("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for option in ("--tcp HOST:PORT", "--log-file PATH", "--stdio", "check", "serve"):
        assert option in proc.stdout
    proc = run("serve", "--help", cwd=tmp_path)
    assert "--tcp HOST:PORT" in proc.stdout and "--log-file PATH" in proc.stdout


def test_version_names_the_distribution(tmp_path: Path) -> None:
    for args in (["--version"], ["serve", "--version"]):
        proc = run(*args, cwd=tmp_path)
        assert proc.returncode == 0
        assert (
            proc.stdout
            == f"sql-lsp {__version__} (sql-review-lsp; https://github.com/sql-lsp/sql-lsp)\n"
        )


def test_patch_is_installed() -> None:
    assert shutil.which("patch"), "the --diff test needs GNU patch (apt-get install patch)"
