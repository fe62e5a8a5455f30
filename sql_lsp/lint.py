"""Run every enabled rule over every statement of a document.

`Linter` keeps a cache of each statement's findings, keyed by what they depend on: the statement
text, the search_path in effect, its position among catalog statements (DDL rules) and the content
of the tables it mentions. An edit therefore re-checks only the statements whose text changed, and
a DDL change re-checks only the statements that mention the changed tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlglot import exp

from sql_lsp import suppressions
from sql_lsp.catalog.ddl import search_path_of
from sql_lsp.catalog.model import DEFAULT_SEARCH_PATH, Catalog, fold
from sql_lsp.config import Config
from sql_lsp.document import Document, Statement
from sql_lsp.rules import ALL_RULES
from sql_lsp.rules.base import Finding, Rule, RuleContext

_CACHE_LIMIT = 200_000


class Linter:
    """Lints documents with one configuration; reuse it across edits to benefit from its cache."""

    def __init__(
        self,
        config: Config | None = None,
        rules: Sequence[Rule] = ALL_RULES,
        *,
        database: bool = False,
    ) -> None:
        self.config = config or Config()
        self.database = database
        self.rules = [r for r in rules if self._enabled(r)]
        self._cache: dict[tuple, tuple[Finding, ...]] = {}

    def _enabled(self, rule: Rule) -> bool:
        if self.config.rule(rule.id).severity == "off":
            return False
        if self.config.dialect not in rule.dialects:
            return False
        return not (rule.needs == "database" and not self.database)

    def severity(self, rule_id: str, default: str) -> str:
        return self.config.rule(rule_id).severity or default

    def lint(self, document: Document, catalog: Catalog | None = None) -> list[Finding]:
        """Findings of `document`, suppressions applied, sorted by position."""
        catalog = catalog or Catalog()
        document.catalog_statements  # noqa: B018 - assigns catalog ordinals
        findings: list[Finding] = []
        search_path = DEFAULT_SEARCH_PATH
        for stmt in document.statements:
            if stmt.kind != "sql":
                continue
            path = search_path_of(stmt.text)
            if path is not None:
                search_path = tuple(path)
            findings.extend(self._statement(document, stmt, catalog, search_path))
        sup = suppressions.collect(document)
        findings = suppressions.apply(findings, document, sup)
        findings.sort(key=lambda f: (f.start, f.end, f.rule))
        return findings

    def _statement(
        self, document: Document, stmt: Statement, catalog: Catalog, search_path: tuple[str, ...]
    ) -> Iterable[Finding]:
        context = (self, catalog, catalog.generation, search_path, stmt.catalog_ordinal)
        memo = stmt.lint
        if memo is not None and memo[0] == context and memo[1] is stmt.parsed:
            relative = memo[2]
        else:
            key = (stmt.text, search_path, stmt.catalog_ordinal, _deps(stmt, catalog, search_path))
            relative = self._cache.get(key)
            if relative is None:
                found = self._check(document, stmt, catalog, search_path)
                relative = tuple(f.shifted(-stmt.start) for f in found)
                if len(self._cache) > _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key] = relative
            stmt.lint = (context, stmt.parsed, relative)
        if not relative:
            return ()
        return [f.shifted(stmt.start) for f in relative]

    def _check(
        self, document: Document, stmt: Statement, catalog: Catalog, search_path: tuple[str, ...]
    ) -> list[Finding]:
        out: list[Finding] = []
        parsed = stmt.parsed
        broken = stmt.error is not None
        for rule in self.rules:
            if rule.id != "syntax-error":
                if broken or parsed is None or (rule.needs_tree and parsed.opaque):
                    continue
                if rule.applies is not None and not rule.applies(stmt.text):
                    continue
            elif not broken:
                continue
            ctx = RuleContext(document, stmt, catalog, self.config, rule, search_path)
            severity = self.severity(rule.id, rule.severity)
            try:
                for f in rule.check(ctx):
                    out.append(f if f.severity == severity else _with_severity(f, severity))
            except (RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError):
                continue  # a rule that trips on an odd tree says nothing rather than crash
        return out


def _with_severity(f: Finding, severity: str) -> Finding:
    return Finding(f.rule, f.start, f.end, f.message, severity, f.fixes)


def referenced_tables(stmt: Statement) -> tuple[tuple[str | None, str], ...]:
    """(schema, name) of every table named in the statement, computed once per statement text."""
    parsed = stmt.parsed
    if parsed is None or parsed.tree is None:
        return ()
    memo: Any = parsed.memo.get("tables")
    if memo is None:
        names = set()
        for t in parsed.tree.find_all(exp.Table):
            if isinstance(t.this, exp.Identifier):
                schema = fold(t.args.get("db")) if t.args.get("db") else None
                names.add((schema, fold(t.this)))
        memo = tuple(sorted(names, key=lambda n: (n[0] or "", n[1])))
        parsed.memo["tables"] = memo
    return memo


def _deps(stmt: Statement, catalog: Catalog, search_path: tuple[str, ...]) -> tuple:
    refs = referenced_tables(stmt)
    if not refs:
        return ()
    out = []
    for schema, name in refs:
        t = catalog.table(name, schema, search_path)
        out.append(t.fingerprint() if t is not None else None)
    return tuple(out)


def lint(
    document: Document,
    catalog: Catalog | None = None,
    config: Config | None = None,
    *,
    database: bool = False,
) -> list[Finding]:
    """One-shot lint of a document (no cache kept)."""
    return Linter(config, database=database).lint(document, catalog)
