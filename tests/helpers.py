"""Shared helpers for the unit tests."""

from __future__ import annotations

from sql_lsp.catalog.model import Catalog
from sql_lsp.config import Config
from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog
from sql_lsp.rules.base import Finding

URI = "file:///project/q.sql"


def lint_text(
    text: str,
    *,
    schema: str = "",
    config: Config | None = None,
    uri: str = URI,
) -> list[Finding]:
    """Lint `text` with a catalog built from `schema` (another file) and `text` itself."""
    doc = Document(uri, text)
    docs = [Document("file:///project/schema.sql", schema), doc] if schema else [doc]
    catalog = build_catalog(docs)
    return Linter(config or Config()).lint(doc, catalog)


def catalog_of(*texts: str) -> Catalog:
    return build_catalog(Document(f"file:///project/{i}.sql", t) for i, t in enumerate(texts))


def rule_lines(
    text: str, findings: list[Finding], rule: str | None = None
) -> list[tuple[str, int]]:
    doc = Document(URI, text)
    return [
        (f.rule, doc.lines.line_of(f.start) + 1) for f in findings if rule is None or f.rule == rule
    ]
