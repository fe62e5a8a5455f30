"""The linter: incremental results equal fresh ones; suppressions; configuration."""

from __future__ import annotations

import random

from helpers import lint_text, rule_lines

from sql_lsp.config import Config, RuleSettings
from sql_lsp.document import Document
from sql_lsp.project import Project

SCHEMA = """CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));
"""
QUERIES = """SELECT * FROM users WHERE lower(email) = 'x';
SELECT id FROM users WHERE id = 1;
SELECT * FROM orders;
UPDATE users SET name = 'x' WHERE lower(email) = $1;
"""


def _key(findings):
    return [(f.rule, f.start, f.end, f.message, f.fixes) for f in findings]


def _children(monkeypatch) -> list:
    """Split documents of 10 statements or more, and record what each child sent (None: it
    failed, and the parent checked its half itself)."""
    from sql_lsp import forked
    from sql_lsp import lint as lint_module

    monkeypatch.setattr(lint_module, "SPLIT_STATEMENTS", 10)
    results: list = []
    real = forked.Forked.result

    def result(self, *args):
        results.append(real(self, *args))
        return results[-1]

    monkeypatch.setattr(forked.Forked, "result", result)
    return results


def _checked(monkeypatch, linter) -> list[str]:
    """The texts of the statements `linter` checks from now on, in order."""
    checked: list[str] = []
    check = linter._check

    def counting(document, stmt, *args, **kwargs):
        checked.append(stmt.text)
        return check(document, stmt, *args, **kwargs)

    monkeypatch.setattr(linter, "_check", counting)
    return checked


def test_incremental_lint_equals_fresh_lint() -> None:
    rng = random.Random(3)
    project = Project()
    uri = "file:///p/q.sql"
    project.open_document(uri, SCHEMA + QUERIES * 20, 1)
    project.lint(uri)
    pieces = [" ", ";", "\n", "*", "lower(", ")", "CREATE INDEX ON orders (user_id);", "x", "'"]
    for version in range(2, 250):
        doc = project.open[uri]
        start = rng.randrange(len(doc.text) + 1)
        end = min(len(doc.text), start + rng.choice([0, 0, 1, 3]))
        project.edit_document(uri, [(start, end, rng.choice(pieces))], version)
        got = project.lint(uri)
        fresh = Project()
        fresh.open_document(uri, project.open[uri].text, version)
        assert _key(got) == _key(fresh.lint(uri)), f"edit {version} at {start}"


def test_ignore_comments() -> None:
    text = """-- sql-lsp: ignore select-star
SELECT * FROM users;
SELECT * FROM users; -- sql-lsp: ignore
SELECT *
FROM users -- sql-lsp: ignore select-star
WHERE lower(email) = 'x';
SELECT * FROM users; -- sql-lsp: ignore function-on-indexed-column
-- sql-lsp: ignore select-star
-- a second comment line is fine

SELECT * FROM users;
SELECT '-- sql-lsp: ignore select-star', * FROM users;
"""
    findings = lint_text(text, schema=SCHEMA)
    assert rule_lines(text, findings) == [
        ("function-on-indexed-column", 6),
        ("select-star", 7),
        ("select-star", 11),
        ("select-star", 12),
    ]


def test_ignore_file() -> None:
    text = "SELECT * FROM users WHERE lower(email) = 'x';\n-- sql-lsp: ignore-file select-star\n"
    assert rule_lines(text, lint_text(text, schema=SCHEMA)) == [("function-on-indexed-column", 1)]
    text = "-- sql-lsp: ignore-file\nSELECT * FROM users WHERE lower(email) = 'x';\n"
    assert lint_text(text, schema=SCHEMA) == []


def test_severity_and_off() -> None:
    config = Config(
        rules={
            "select-star": RuleSettings(severity="error"),
            "function-on-indexed-column": RuleSettings(severity="off"),
        }
    )
    findings = lint_text(QUERIES, schema=SCHEMA, config=config)
    assert {(f.rule, f.severity) for f in findings} == {("select-star", "error")}


def test_other_dialects_lint_syntactic_rules() -> None:
    texts = {
        "mysql": "SELECT * FROM `users` WHERE name = 'it\\'s'; # comment\nSELECT id FRM users WHERE;\n",
        "sqlite": "SELECT * FROM [users] WHERE name = 'it''s';\nSELECT id FRM users WHERE;\n",
    }
    for dialect, text in texts.items():
        doc = Document("file:///q.sql", text, dialect=dialect)
        findings = Project(Config(dialect=dialect)).linter.lint(doc)
        assert [(f.rule, doc.lines.line_of(f.start) + 1) for f in findings] == [
            ("select-star", 1),
            ("syntax-error", 2),
        ], dialect


def test_an_index_in_a_file_that_sorts_first_still_counts() -> None:
    project = Project()
    project.set_file("file:///p/001_indexes.sql", "CREATE INDEX ON orders (user_id);\n")
    project.set_file("file:///p/002_schema.sql", SCHEMA)
    assert [f.rule for f in project.lint("file:///p/002_schema.sql")] == []
    project.remove_file("file:///p/001_indexes.sql")
    assert [f.rule for f in project.lint("file:///p/002_schema.sql")] == ["missing-fk-index"]


def test_ddl_edits_recheck_exactly_what_they_affect() -> None:
    """Statements that name no changed table keep their findings across a DDL edit; the result
    must equal a fresh lint whatever the edit does to the catalog."""
    rng = random.Random(8)
    schema = (
        SCHEMA
        + "CREATE TABLE items (id bigint PRIMARY KEY, sku text, order_id bigint REFERENCES orders);\n"
        + "CREATE INDEX items_sku_idx ON items (sku);\n"
    )
    queries = QUERIES + "SELECT * FROM items WHERE lower(sku) = 'a';\nSELECT id FROM items;\n"
    project = Project()
    uri = "file:///p/q.sql"
    project.open_document(uri, schema + queries * 5, 1)
    project.lint(uri)
    pieces = [
        ", extra int",
        " UNIQUE",
        "CREATE INDEX ON items (order_id);\n",
        "CREATE INDEX ON users (lower(email));\n",
        "DROP INDEX items_sku_idx;\n",
        "CREATE TABLE extra (id int);\n",
        "ALTER TABLE orders ADD COLUMN note text;\n",
        "SET search_path = app, public;\n",
        "x",
    ]
    for version in range(2, 120):
        doc = project.open[uri]
        ddl = doc.catalog_statements
        target = rng.choice(ddl) if ddl and rng.random() < 0.7 else rng.choice(doc.statements)
        at = rng.randrange(target.start, target.end + 1)
        project.edit_document(uri, [(at, at, rng.choice(pieces))], version)
        got = project.lint(uri)
        fresh = Project()
        fresh.open_document(uri, project.open[uri].text, version)
        assert _key(got) == _key(fresh.lint(uri)), project.open[uri].text


def test_typing_in_a_large_statement_keeps_memory_bounded() -> None:
    """Each keystroke in a 17 kB statement is a new statement text (and a new ~3 MB tree):
    the caches are bounded by size, not by count, so old trees do not pile up. Counted as
    objects, not RSS, which the allocator and earlier tests make noisy."""
    import gc

    from sql_lsp import lint as lint_module
    from sql_lsp.project import Project
    from sql_lsp.statements import Parsed

    def big_trees() -> int:
        gc.collect()
        return sum(
            1
            for o in gc.get_objects()
            if isinstance(o, Parsed) and len(o.text) > 10_000 and o.tree is not None
        )

    project = Project()
    project.set_file("file:///x/s.sql", "CREATE TABLE t (id int PRIMARY KEY, a int);\n")
    stmt = "SELECT id FROM t WHERE a = 1 AND id IN (" + ", ".join(map(str, range(3000))) + ");\n"
    uri = "file:///x/q.sql"
    project.open_document(uri, stmt, 1)
    project.lint(uri)
    pos = stmt.index("IN (") + 4
    for i in range(60):  # unbounded, 60 trees (~200 MB) would stay alive
        project.edit_document(uri, [(pos, pos, "9")], i + 2)
        project.lint(uri)
        pos += 1
    assert big_trees() <= 3
    assert project.linter._cache_chars <= lint_module._CACHE_CHARS


def test_a_one_pass_lint_that_drops_trees_finds_the_same() -> None:
    """The check's lazy documents and dropped trees change nothing in what is found."""
    from pathlib import Path

    from sql_lsp.lint import Linter

    fixtures = sorted((Path(__file__).parent / "rules" / "fixtures").glob("*.sql"))
    text = "\n".join(p.read_text() for p in fixtures if ".fixed" not in p.name)
    text += "\nSELEC 1;\nLISTEN ch;\n"
    fresh = Linter(Config()).lint(Document("file:///a.sql", text))
    lazy = Document("file:///a.sql", text, lazy=True)
    released = Linter(Config(), release=True).lint(lazy)
    assert _key(released) == _key(fresh)
    kept = [s for s in lazy.sql_statements if s.catalog_ordinal >= 0]
    dropped = [s for s in lazy.sql_statements if s.catalog_ordinal < 0]
    assert all(s.tree is None and s.lint is None for s in dropped)
    assert all(s.tree is not None for s in kept if s.error is None and "CREATE TABLE" in s.text)
    eager = Document("file:///a.sql", text)
    assert [(s.error, s.parsed and s.parsed.unanalysed) for s in lazy.sql_statements] == [
        (s.error, s.parsed and s.parsed.unanalysed) for s in eager.sql_statements
    ]


def test_a_large_file_checked_in_two_processes_finds_the_same(monkeypatch) -> None:
    """A one-pass check of a large document has a child process check its second half: the
    findings, the syntax errors and what is kept of each statement are those of one process,
    and when the child fails the parent checks that half itself."""
    from pathlib import Path

    from sql_lsp import forked
    from sql_lsp.lint import Linter

    fixtures = sorted((Path(__file__).parent / "rules" / "fixtures").glob("*.sql"))
    text = "\n".join(p.read_text() for p in fixtures if ".fixed" not in p.name)
    # twice, so that the second half repeats statements of the first; then a search_path
    # that only the second half sets, and a syntax error there
    text = f"{text}\n{text}\nSET search_path = other, public;\nSELECT 1 FROM t;\nSELEC 1;\n"
    fresh = Linter(Config()).lint(Document("file:///a.sql", text))
    results = _children(monkeypatch)
    split_doc = Document("file:///a.sql", text, lazy=True)
    split = Linter(Config(), release=True, split=True).lint(split_doc)
    assert len(results) == 1 and results[0] is not None  # the child did check its half
    assert _key(split) == _key(fresh)
    eager = Document("file:///a.sql", text)
    assert [s.error for s in split_doc.sql_statements] == [s.error for s in eager.sql_statements]

    real = forked.Forked.result
    monkeypatch.setattr(forked.Forked, "result", lambda self, *a: real(self, *a) and None)  # failed
    again = Linter(Config(), release=True, split=True).lint(Document("file:///a.sql", text))
    assert _key(again) == _key(fresh)


def test_a_one_pass_lint_frees_trees_without_the_collector_and_never_breaks_a_shared_one(
    monkeypatch,
) -> None:
    """A one-pass lint dismantles each released tree (so it is freed at once, with the cyclic
    collector off), but not a parse another statement still holds: an eager document whose
    statements repeat each other finds what a fresh lint finds."""
    import gc
    from pathlib import Path

    from sql_lsp import lint as lint_module
    from sql_lsp.lint import Linter

    fixtures = sorted((Path(__file__).parent / "rules" / "fixtures").glob("*.sql"))
    text = "\n".join(p.read_text() for p in fixtures if ".fixed" not in p.name)
    text = f"{text}\n{text}"
    fresh = Linter(Config()).lint(Document("file:///a.sql", text))
    shared = Linter(Config(), release=True).lint(Document("file:///a.sql", text))
    assert _key(shared) == _key(fresh)

    # 300 queries: what is left for the collector once they are linted (10,593 cyclic objects
    # when the trees are only dropped)
    queries = "CREATE TABLE t (id bigint PRIMARY KEY, a text);\n" + "".join(
        f"SELECT id, a FROM t WHERE id = {i} AND a <> 'x';\n" for i in range(300)
    )
    monkeypatch.setattr(lint_module, "_COLLECT_EVERY", 10**9)
    was = gc.isenabled()
    gc.unfreeze()  # what earlier tests froze (and left) is not this test's
    gc.collect()
    gc.disable()
    try:
        Linter(Config(), release=True).lint(Document("file:///q.sql", queries, lazy=True))
        gc.unfreeze()
        left = gc.collect()
    finally:
        if was:
            gc.enable()
    assert left < 3000, left


def test_lint_head_checks_the_first_lines_once(monkeypatch) -> None:
    from sql_lsp.lint import Linter
    from sql_lsp.project import build_catalog

    text = SCHEMA + QUERIES + "SELECT * FROM users;\nDELETE FROM orders;\n"
    doc = Document("file:///p/big.sql", text)
    linter = Linter(unload=True)
    checked = _checked(monkeypatch, linter)
    catalog = build_catalog([doc])
    whole_fresh = Linter(unload=True).lint(Document(doc.uri, text), catalog)

    head = linter.lint_head(doc, catalog, lines=4, seconds=60)
    assert head is not None
    end = doc.lines.line_start(4)
    assert _key(head) == _key([f for f in whole_fresh if f.start < end])
    assert [f.rule for f in head] == [
        "missing-fk-index",
        "select-star",
        "function-on-indexed-column",
    ]
    assert len(checked) == 4  # the two tables and the first two queries

    whole = linter.lint(doc, catalog)
    assert _key(whole) == _key(whole_fresh)
    assert len(checked) == 8  # each statement once
    assert linter.lint_head(doc, catalog, lines=4, seconds=60) is None  # linted already
    # nothing to gain: a document of no more lines, a one-pass check
    short = Document("file:///p/short.sql", QUERIES)
    assert Linter(unload=True).lint_head(short, catalog, lines=4, seconds=60) is None
    assert (
        Linter(release=True).lint_head(Document("file:///p/b.sql", text), lines=4, seconds=60)
        is None
    )
    # the time it is given runs out: what was checked before it did
    out = Linter(unload=True).lint_head(
        Document("file:///p/c.sql", text), catalog, lines=4, seconds=-1
    )
    assert out == []


def test_the_server_checks_a_large_file_in_two_processes_and_keeps_the_childs_memos(
    monkeypatch,
) -> None:
    """The language server's first check of a large file has a child process check its second
    half too: the findings are those of one process, and what the child checked keeps its
    memo in the server, so that later edits (a query, then a table) check only what they
    touch and still find what a fresh check finds."""
    tables = "".join(
        f"CREATE TABLE t{i} (id bigint PRIMARY KEY, a text, b int);\n" for i in range(20)
    )
    queries = "".join(
        f"SELECT * FROM t{i % 20} WHERE lower(a) = 'x{i}';\nUPDATE t{i % 20} SET b = {i};\n"
        for i in range(150)
    )
    text = f"{tables}{queries}SET search_path = other, public;\nSELECT b FROM t3;\nSELEC 1;\n"
    uri = "file:///p/big.sql"

    def fresh(text: str) -> list:
        project = Project()
        project.open_document(uri, text, 1)
        return _key(project.lint(uri))

    results = _children(monkeypatch)
    server = Project(keep_trees=False)
    server.open_document(uri, text, 1)
    assert _key(server.lint(uri)) == fresh(text)
    assert len(results) == 1 and results[0] is not None  # the child did check its half
    checked = _checked(monkeypatch, server.linter)
    doc = server.open[uri]
    at = doc.text.index("UPDATE t5 SET b = 145;")
    server.edit_document(
        uri, [(at + len("UPDATE t5 SET b = "), at + len("UPDATE t5 SET b = 1"), "2")], 2
    )
    assert _key(server.lint(uri)) == fresh(server.open[uri].text)
    assert checked == ["UPDATE t5 SET b = 245"]
    at = server.open[uri].text.index("b int);\nCREATE TABLE t1 ")
    server.edit_document(uri, [(at, at + len("b int"), "b int, c int")], 3)
    assert _key(server.lint(uri)) == fresh(server.open[uri].text)
    # the statements about t0 (it changed), not those of the child's half about other tables
    assert len(results) == 1  # no second child for a later check
    assert 0 < len(checked) - 1 <= 20
    assert all("t0" in t or "search_path" in t for t in checked[1:]), checked


def test_a_stuck_child_is_killed_and_the_parent_does_the_work() -> None:
    """`Forked.result` waits for a silent child only so long: then it kills it and says
    None (the caller checks that half itself); a child that answers in time is heard."""
    import os
    import time

    from sql_lsp.forked import Forked

    def stuck() -> int:
        time.sleep(60)
        return 1

    child = Forked(stuck)
    pid = child._pid
    started = time.monotonic()
    assert child.result(timeout=0.5) is None
    assert time.monotonic() - started < 10
    try:
        os.kill(pid, 0)
        alive = True
    except OSError:
        alive = False
    assert not alive  # killed and reaped
    assert Forked(lambda: {"a": [1, 2]}).result(timeout=30) == {"a": [1, 2]}


def test_findings_kept_between_edits_follow_what_the_file_created_before() -> None:
    """Fixing a CREATE TABLE earlier in the file changes no table of the catalog (another file
    declares it first), but it changes what the file created before a later CREATE INDEX: the
    index's finding (non-concurrent-index: "an existing table") must go, as in a fresh open."""
    schema = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
    broken = (
        "CREATE TABLE users (id( bigint PRIMARY KEY, email text);\n"
        "CREATE INDEX users_email_idx2 ON users (email);\n"
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
    )
    uri = "file:///p/q.sql"

    def project(text: str) -> Project:
        p = Project()
        p.set_file("file:///p/0_schema.sql", schema)
        p.open_document(uri, text, 1)
        return p

    incremental = project(broken)
    assert [f.rule for f in incremental.lint(uri)] == ["syntax-error", "non-concurrent-index"]
    at = broken.index("(id(") + 3
    incremental.edit_document(uri, [(at, at + 1, "")], 2)
    fresh = project(broken[:at] + broken[at + 1 :])
    assert [f.rule for f in fresh.lint(uri)] == []
    assert incremental.lint(uri) == fresh.lint(uri)
