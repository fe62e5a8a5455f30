"""The committed reference docs are exactly what scripts/gen-docs generates from the code."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
from pathlib import Path

from sql_lsp.rules import ALL_RULES
from sql_lsp.rules.base import DOCS_URL

ROOT = Path(__file__).resolve().parent.parent


def _gen_docs():
    path = ROOT / "scripts" / "gen-docs"
    loader = importlib.machinery.SourceFileLoader("gen_docs", str(path))
    spec = importlib.util.spec_from_loader("gen_docs", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_generated_docs_are_up_to_date() -> None:
    stale = _gen_docs().stale()
    assert stale == [], f"out of date: {', '.join(stale)}; run scripts/gen-docs"


def test_every_rule_has_a_page_and_a_readme_row() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in ALL_RULES:
        page = ROOT / "docs" / "rules" / f"{rule.id}.md"
        assert page.read_text(encoding="utf-8").startswith(f"# {rule.id}\n")
        assert f"| [`{rule.id}`](docs/rules/{rule.id}.md) |" in readme
        assert rule.url == f"https://github.com/sql-lsp/sql-lsp/blob/main/docs/rules/{rule.id}.md"
    assert DOCS_URL.format(id="x").endswith("/docs/rules/x.md")


def test_every_setting_is_documented() -> None:
    from sql_lsp.config import SETTINGS

    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    keys = set(re.findall(r"^\| `([\w.]+)` \|", text, re.M))
    assert keys == {s.key for s in SETTINGS}


def test_readme_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+?)\)", readme)
    missing = [
        t
        for t in targets
        if not t.startswith("http") and t != "benchmarks/README.md" and not (ROOT / t).exists()
    ]
    assert missing == []
