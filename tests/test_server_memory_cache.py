"""What the language server's Project keeps: trees dropped once linted (`keep_trees=False`)
and findings read back from the persistent cache give exactly the findings of a Project that
keeps every tree and has no cache, on open and after edits."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from sql_lsp.document import Statement
from sql_lsp.project import Project
from sql_lsp.statements import Parsed, Unloaded

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import statements as generated

TEXT = "\n".join(generated(400)) + "\n"
EXTRA = (
    "SET search_path = app, public;\n"
    "CREATE TABLE app.items (id bigint PRIMARY KEY, owner bigint REFERENCES users_0 (id));\n"
    "SELECT * FROM items WHERE owner = 1;\r\n"
    "-- sql-lsp: ignore select-star\n"
    "SELECT * FROM users_0 WHERE lower(email) = 'é';\n"
    "SELECT id FROM orders WHERE;\n"
)


def _keys(findings) -> list[tuple]:
    return [(f.rule, f.start, f.end, f.message, f.severity, f.fix_safety) for f in findings]


def _full(findings) -> list[tuple]:
    return [(*k, f.fixes) for k, f in zip(_keys(findings), findings, strict=True)]


def _edits(text: str, rng: random.Random, n: int) -> list[tuple[int, int, str]]:
    """One-character edits, some in CREATE statements (the catalog changes)."""
    out = []
    for _ in range(n):
        if rng.random() < 0.3:
            at = text.find("CREATE", rng.randrange(len(text)))
            at = at + 6 if at >= 0 else rng.randrange(len(text))
            new = " "
        else:
            at = text.find(" ", rng.randrange(len(text)))
            at = at if at >= 0 else 0
            new = rng.choice([" ", "x", "1"])
        out.append((at, at, new))
        text = text[:at] + new + text[at:]
    return out


@pytest.mark.parametrize("text", [TEXT, EXTRA + TEXT], ids=["generated", "search_path"])
def test_dropped_trees_give_the_same_findings_on_open_and_after_edits(text: str) -> None:
    uri = "file:///w/bench.sql"
    compact, full = Project(keep_trees=False), Project()
    compact.open_document(uri, text, 1)
    full.open_document(uri, text, 1)
    assert _full(compact.lint(uri)) == _full(full.lint(uri)) != []
    doc = compact.open[uri]
    kept = [s for s in doc.statements if s.kind == "sql" and s.holds_tree]
    # only catalog statements keep their trees (the catalog is built again from them)
    assert kept and all(s.catalog_ordinal >= 0 for s in kept)
    unloaded = [s for s in doc.statements if type(s.parse_state) is Unloaded]
    assert len(unloaded) > len(doc.statements) // 2
    for version, edit in enumerate(_edits(text, random.Random(5), 40), start=2):
        compact.edit_document(uri, [edit], version)
        full.edit_document(uri, [edit], version)
        assert _full(compact.lint(uri)) == _full(full.lint(uri)), edit


def test_an_unloaded_statement_is_parsed_again_when_read() -> None:
    uri = "file:///w/a.sql"
    project = Project(keep_trees=False)
    project.open_document(uri, "SELECT * FROM t WHERE a = 1;\nSELECT 1 FROM;\n", 1)
    project.lint(uri)
    good, bad = project.open[uri].statements
    assert type(good.parse_state) is Unloaded and not good.holds_tree
    assert bad.error is not None  # kept without parsing
    assert good.tree is not None and type(good.parse_state) is Parsed  # parsed on demand
    assert good.fact("tables") == (True, ((None, "t"),))


def test_statement_unload_keeps_the_lint_memo_valid() -> None:
    project = Project(keep_trees=False)
    project.open_document("file:///w/a.sql", "SELECT a FROM t;\n", 1)
    project.lint("file:///w/a.sql")
    stmt: Statement = project.open["file:///w/a.sql"].statements[0]
    assert stmt.lint is not None and stmt.lint[1] is stmt.parse_state


def _project(tmp_path: Path, files: dict[str, str]) -> tuple[Project, dict[str, str]]:
    project = Project(keep_trees=False)
    project.set_roots([tmp_path])
    project.use_cache(tmp_path / ".sql-lsp-cache")
    uris = {}
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        uris[name] = path.resolve().as_uri()
        project.set_file(uris[name], text)
    return project, uris


@pytest.mark.parametrize(
    "text", [TEXT, EXTRA + TEXT, (EXTRA + TEXT).replace("\n", "\r\n")], ids=["lf", "mixed", "crlf"]
)
def test_findings_are_the_same_with_and_without_the_cache(tmp_path: Path, text: str) -> None:
    files = {"0_schema.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY);\n", "q.sql": text}
    first, uris = _project(tmp_path, files)
    uri = uris["q.sql"]
    assert first.cached_findings(uri) is None  # nothing stored yet
    first.open_document(uri, text, 1)
    linted = first.lint(uri)
    first.store_findings(uri, linted)

    second, _ = _project(tmp_path, files)  # a new server: the same files, the cache on disk
    second.open_document(uri, text, 1)
    cached = second.cached_findings(uri)
    assert cached is not None and len(cached) == len(linted) > 0
    assert _keys(cached) == _keys(linted) == _keys(second.lint(uri))


def test_the_cache_is_not_used_when_the_text_or_the_catalog_changed(tmp_path: Path) -> None:
    files = {"0_schema.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY);\n", "q.sql": TEXT}
    first, uris = _project(tmp_path, files)
    uri = uris["q.sql"]
    first.open_document(uri, TEXT, 1)
    first.store_findings(uri, first.lint(uri))

    edited, _ = _project(tmp_path, files)
    edited.open_document(uri, TEXT + "SELECT 1;\n", 1)
    assert edited.cached_findings(uri) is None

    files["0_schema.sql"] = "CREATE TABLE accounts (id bigint PRIMARY KEY, a int);\n"
    ddl, _ = _project(tmp_path, files)
    ddl.open_document(uri, TEXT, 1)
    assert ddl.cached_findings(uri) is None  # another catalog generation

    files["0_schema.sql"] = "CREATE TABLE accounts (id bigint PRIMARY KEY);\n"
    same, _ = _project(tmp_path, files)
    same.open_document(uri, TEXT, 1)
    assert same.cached_findings(uri) is not None
    same.set_config(same.config.__class__(dialect="mysql"))
    assert same.cached_findings(uri) is None  # other settings: another entry
