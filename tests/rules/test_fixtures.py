"""Every rule against its fixture: exact lines, exact fixed text, docs examples (DESIGN §10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog
from sql_lsp.rules import ALL_RULES
from sql_lsp.rules.base import REQUIRED_SECTIONS, Rule

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"--\s*expect:\s*([\w\s,-]+?)\s*$")
DB_RULES = {r.id for r in ALL_RULES if r.needs == "database"}


def _findings(text: str, rule: Rule):
    doc = Document("file:///fixture.sql", text)
    catalog = build_catalog([doc])
    return doc, [f for f in Linter().lint(doc, catalog) if f.rule == rule.id]


def _expected(text: str, rule_id: str) -> list[int]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        m = EXPECT.search(line)
        if m:
            out.extend(n for r in m.group(1).split(",") if r.strip() == rule_id)
    return out


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.id not in DB_RULES], ids=lambda r: r.id)
def test_fixture_lines(rule: Rule) -> None:
    path = FIXTURES / f"{rule.id.replace('-', '_')}.sql"
    text = path.read_text()
    doc, findings = _findings(text, rule)
    got = sorted(doc.lines.line_of(f.start) + 1 for f in findings)
    assert got == sorted(_expected(text, rule.id))


FIXABLE = [r for r in ALL_RULES if r.fix and r.id not in DB_RULES]


@pytest.mark.parametrize(
    ("rule", "suffix"),
    [(r, ".fixed.sql") for r in FIXABLE if r.fix != "unsafe"]
    + [(r, ".unsafe.sql") for r in FIXABLE if r.fix != "safe"],
    ids=lambda x: x.id if isinstance(x, Rule) else x,
)
def test_fixture_fixes(rule: Rule, suffix: str) -> None:
    """`.fixed.sql`: the fixture after its safe fixes; `.unsafe.sql`: after all its fixes."""
    path = FIXTURES / f"{rule.id.replace('-', '_')}.sql"
    text = path.read_text()
    unsafe = suffix == ".unsafe.sql"
    _, findings = _findings(text, rule)
    fixes = [(f.rule, f.fix) for f in findings if f.fix is not None and (f.fix.safe or unsafe)]
    assert fixes
    fixed, applied = apply_edits(text, fixes)
    # every fix applies, but an index offered by several findings is created once
    assert len(applied) == len({fix.creates or (n,) for n, (_, fix) in enumerate(fixes)})
    assert fixed == path.with_suffix(suffix).read_text()
    # the fixed text parses, and no finding with an applicable fix is left
    doc, after = _findings(fixed, rule)
    assert not [f for f in after if f.fix is not None and (f.fix.safe or unsafe)]
    assert all(s.error is None for s in doc.statements if s.kind == "sql")


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_docs(rule: Rule) -> None:
    sections = rule.doc_sections
    for heading in REQUIRED_SECTIONS:
        assert sections.get(heading), f"{rule.id}: missing **{heading}**"
    if rule.fix:
        assert sections.get("Fix safety"), f"{rule.id}: missing **Fix safety**"
    if rule.id in DB_RULES:
        return
    example, instead = rule.examples()
    assert example and instead
    if rule.id != "analysis-skipped":  # its example is a 200 kB statement, abbreviated
        assert _findings(example, rule)[1], f"{rule.id}: the Example yields no finding"
    assert not _findings(instead, rule)[1], f"{rule.id}: Use instead yields a finding"
