"""Diagnostics serialised for publishDiagnostics: reused JSON equals freshly built JSON."""

from __future__ import annotations

import json
import random

import pytest

from sql_lsp.lsp.convert import DiagnosticCache
from sql_lsp.project import Project

SCHEMA = """CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));
"""
QUERIES = """SELECT * FROM users WHERE lower(email) = 'é🙂';
SELECT id FROM users WHERE id = 1;  SELECT * FROM orders;
UPDATE users SET name = 'x' WHERE lower(email) = $1;
"""


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_reused_diagnostics_equal_fresh_ones(encoding: str, ascii_only: bool) -> None:
    rng = random.Random(5)
    queries = QUERIES.replace("é🙂", "x") if ascii_only else QUERIES
    project = Project()
    uri = "file:///p/q.sql"
    project.open_document(uri, SCHEMA + queries * 15, 1)
    cache = DiagnosticCache()
    pieces = [" ", "x", "", "\n", "*", "lower(", ")", "'", "\r\n", "é", "SELECT * FROM users;"]
    for version in range(2, 300):
        doc = project.open[uri]
        for _ in range(rng.choice([1, 1, 1, 2, 3])):  # several edits between publishes too
            doc = project.open[uri]
            start = rng.randrange(len(doc.text) + 1)
            end = min(len(doc.text), start + rng.choice([0, 0, 1, 4]))
            project.edit_document(uri, [(start, end, rng.choice(pieces))], version)
        doc = project.open[uri]
        findings = project.lint(uri)
        reused = json.loads(cache.publish_params(uri, doc, findings, encoding))
        fresh = json.loads(DiagnosticCache().publish_params(uri, doc, findings, encoding))
        assert reused == fresh
        assert len(reused["diagnostics"]) == len(findings)


def test_diagnostics_away_from_an_edit_are_not_formatted_again() -> None:
    project = Project()
    uri = "file:///p/q.sql"
    project.open_document(uri, SCHEMA + QUERIES * 3, 1)
    cache = DiagnosticCache()
    cache.publish_params(uri, project.open[uri], project.lint(uri), "utf-16")
    before = dict(cache._fragments)
    # an edit inside the second line of queries, without a line break
    at = project.open[uri].text.index("id = 1") + len("id = ")
    project.edit_document(uri, [(at, at + 1, "42")], 2)
    findings = project.lint(uri)
    cache.publish_params(uri, project.open[uri], findings, "utf-16")
    after = cache._fragments
    reused = [k for k, v in after.items() if any(v is w for w in before.values())]
    # everything but the findings on the edited line keeps its JSON
    edited_line = [f for f in findings if project.open[uri].lines.line_of(f.start) == 3]
    assert len(reused) == len(findings) - len(edited_line)
    assert len(edited_line) == 1  # SELECT * FROM orders shares the line
