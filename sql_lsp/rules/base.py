"""What a rule is, what it sees and what it reports.

A rule module has a docstring (its documentation, with the headings **What it does**, **Why is
this bad?**, **Example**, **Use instead**, and **Fix safety** when it has a fix) and at the bottom
`RULE = Rule(...)`. `check(ctx)` yields Findings for one statement; all offsets are absolute
character offsets into the document.
"""

from __future__ import annotations

import re
import textwrap
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from sql_lsp.catalog.model import DEFAULT_SEARCH_PATH, Catalog, ForeignKey, Index, Table
from sql_lsp.config import Config
from sql_lsp.document import Document, Statement, Surroundings
from sql_lsp.query_model.nodes import find_all
from sql_lsp.statements import Locator

if TYPE_CHECKING:
    from sql_lsp.live import DatabaseFacts

SAFE = "safe"
UNSAFE = "unsafe"
DOCS_URL = "https://github.com/sql-lsp/sql-lsp/blob/main/docs/rules/{id}.md"


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    safety: str = SAFE  # SAFE or UNSAFE
    # `schema.name` of the relations the fix creates (an index): two fixes that create the same
    # name are never applied together, so an index offered by several findings is created once
    creates: tuple[str, ...] = ()
    # names of the relations the fix deletes (an index): applied with other fixes only when the
    # text names none of them outside the fix's own edits
    drops: tuple[str, ...] = ()

    @property
    def safe(self) -> bool:
        return self.safety == SAFE

    def shifted(self, delta: int) -> Fix:
        return Fix(
            self.title,
            tuple(Edit(e.start + delta, e.end + delta, e.text) for e in self.edits),
            self.safety,
            self.creates,
            self.drops,
        )


class Finding:
    """A problem found by a rule: where (absolute character offsets), what, and its fixes.

    Immutable. Shifting a finding (its statement moved) is cheap: the fixes are shifted only
    when they are asked for.
    """

    __slots__ = ("_delta", "_fixes", "_shifted", "end", "message", "rule", "severity", "start")

    def __init__(
        self,
        rule: str,
        start: int,
        end: int,
        message: str,
        severity: str = "warning",
        fixes: tuple[Fix, ...] = (),
        _delta: int = 0,
    ) -> None:
        self.rule = rule
        self.start = start
        self.end = end
        self.message = message
        self.severity = severity
        self._fixes = fixes
        self._delta = _delta
        self._shifted: tuple[Fix, ...] | None = None if _delta else fixes

    @property
    def fixes(self) -> tuple[Fix, ...]:
        if self._shifted is None:
            self._shifted = tuple(f.shifted(self._delta) for f in self._fixes)
        return self._shifted

    @property
    def fix(self) -> Fix | None:
        """The preferred fix (the first one), if any."""
        return (
            self._fixes[0].shifted(self._delta)
            if self._fixes and self._delta
            else (self._fixes[0] if self._fixes else None)
        )

    @property
    def fix_safety(self) -> str | None:
        return self._fixes[0].safety if self._fixes else None

    def shifted(self, delta: int) -> Finding:
        if delta == 0:
            return self
        return Finding(
            self.rule,
            self.start + delta,
            self.end + delta,
            self.message,
            self.severity,
            self._fixes,
            self._delta + delta,
        )

    def with_severity(self, severity: str) -> Finding:
        return Finding(
            self.rule, self.start, self.end, self.message, severity, self._fixes, self._delta
        )

    def _key(self) -> tuple:
        return (self.rule, self.start, self.end, self.message, self.severity, self.fixes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Finding) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.rule, self.start, self.end, self.message))

    def __repr__(self) -> str:
        return (
            f"Finding(rule={self.rule!r}, start={self.start}, end={self.end}, "
            f"message={self.message!r}, severity={self.severity!r}, fixes={self.fixes!r})"
        )


@dataclass
class RuleContext:
    """What a rule sees while checking one statement."""

    document: Document
    statement: Statement
    catalog: Catalog
    config: Config
    rule: Rule
    search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
    # what the database says (live catalog, cached plans); None without a database. Rules
    # with needs="database" only run when it is set.
    database: DatabaseFacts | None = None
    _locator: Locator | None = field(default=None, repr=False)
    _point: int = field(default=-2, repr=False)

    @property
    def tree(self) -> exp.Expression | None:
        return self.statement.tree

    @property
    def text(self) -> str:
        return self.document.text

    @property
    def options(self) -> dict[str, Any]:
        merged = dict(self.rule.options)
        merged.update(self.config.rule(self.rule.id).options)
        return merged

    def number_option(self, name: str, default: float) -> float:
        """A numeric option of the rule; `default` when it is unset or not a number."""
        value = self.options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return default
        return value

    @property
    def locator(self) -> Locator:
        if self._locator is None:
            assert self.statement.parsed is not None
            self._locator = Locator(self.statement.parsed)
        return self._locator

    @property
    def surroundings(self) -> Surroundings:
        """The lines the statement starts and stops on and the document's line break: the only
        text outside the statement a rule may read (the linter keys its cache on them)."""
        return self.document.surroundings(self.statement)

    def find_all(self, *types: type) -> list[Any]:
        """Every node of the statement's tree of these types, in `find_all`'s order, from one
        walk per statement text shared by every rule (do not modify the list)."""
        parsed = self.statement.parsed
        return find_all(parsed, types) if parsed is not None else []

    def locate(self, node: exp.Expression) -> tuple[int, int] | None:
        """Absolute span of a node of the statement tree."""
        return self.statement.locate(node, self.locator)

    def finding(self, start: int, end: int, message: str, fixes: Iterable[Fix] = ()) -> Finding:
        return Finding(self.rule.id, start, end, message, self.rule.severity, tuple(fixes))

    def table(self, node: exp.Table) -> Table | None:
        """The catalog table an `exp.Table` names, resolved through the search_path."""
        from sql_lsp.catalog.model import fold

        if not isinstance(node.this, exp.Identifier):
            return None
        schema = fold(node.args.get("db")) if node.args.get("db") else None
        return self.catalog.table(fold(node.this), schema, self.search_path)

    def history_point(self) -> int:
        """Where this statement is in its document's history: its catalog ordinal, or the
        number of catalog statements before it."""
        if self._point == -2:
            self._point = history_point(self.document, self.statement)
        return self._point

    def columns_at(self, table: Table) -> tuple[str, ...] | None:
        """The column names of `table` as they stand at this statement (see
        `Catalog.columns_at`), or None when that cannot be told."""
        return self.catalog.columns_at(table, self.document.uri, self.history_point())

    def declared(self) -> list[Table | Index | ForeignKey]:
        """Objects of the final catalog that this statement declared."""
        ordinal = self.statement.catalog_ordinal
        if ordinal < 0:
            return []
        return self.catalog.declared_by(self.document.uri, ordinal)


def _start(stmt: Statement) -> int:
    return stmt.start


def creates(text: str) -> bool:
    """Does statement `text` start with CREATE? (the cheap test of the schema rules)"""
    return text[:40].lstrip()[:6].lower() == "create"


def alters(text: str) -> bool:
    """Does statement `text` start with ALTER?"""
    return text[:40].lstrip()[:5].lower() == "alter"


def changes_schema(text: str) -> bool:
    """Does statement `text` start with CREATE or ALTER?"""
    return text[:40].lstrip()[:6].lower() in ("create", "alter ")


def history_point(document: Document, stmt: Statement) -> int:
    """The statement's catalog ordinal, or the number of catalog statements before it."""
    if stmt.catalog_ordinal >= 0:
        return stmt.catalog_ordinal
    return bisect_left(document.catalog_statements, stmt.start, key=_start)


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    check: Callable[[RuleContext], Iterable[Finding]]
    docs: str
    severity: str = "warning"
    needs: str = "syntax"  # "syntax", "catalog" or "database"
    fix: str | None = None  # None, "safe", "unsafe" or "sometimes"
    dialects: tuple[str, ...] = ("postgres", "mysql", "sqlite")
    options: Mapping[str, Any] = field(default_factory=dict)
    # a cheap test on the statement text; False skips the rule for that statement
    applies: Callable[[str], bool] | None = None
    # cheaper still, tested before `applies`: the lower-cased statement text contains one of
    # these (one lower-casing per statement serves every rule)
    words: tuple[str, ...] = ()
    # False: the rule also runs on statements sqlglot could only read as an opaque command
    needs_tree: bool = True
    # True: the rule also runs on statements PostgreSQL rejects (it recognises a pattern there)
    on_syntax_errors: bool = False
    # a rule about several statements of a file (`check` is then never called per statement):
    # findings of the whole document, computed afresh on every lint
    check_document: Callable[[Document], Iterable[Finding]] | None = None

    @property
    def url(self) -> str:
        return DOCS_URL.format(id=self.id)

    @property
    def doc_sections(self) -> dict[str, str]:
        return doc_sections(self.docs)

    def markdown(self) -> str:
        """The documentation page (docs/rules/<id>.md, `sql-lsp rule ID`, hovers)."""
        head = [
            f"# {self.id}",
            "",
            self.summary + ".",
            "",
            f"- Default severity: `{self.severity}`",
            f"- Fix: {self.fix or 'none'}",
            f"- Needs: {self.needs}",
            f"- Dialects: {', '.join(self.dialects)}",
        ]
        if self.options:
            opts = ", ".join(f"`{k}` (default `{v}`)" for k, v in self.options.items())
            head.append(f"- Options: {opts}")
        return "\n".join(head) + "\n\n" + textwrap.dedent(self.docs).strip() + "\n"

    def examples(self) -> tuple[str, str]:
        """The SQL of the **Example** and **Use instead** sections."""
        sections = self.doc_sections
        return _sql_block(sections.get("Example", "")), _sql_block(sections.get("Use instead", ""))


REQUIRED_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")
_HEADING = re.compile(r"^\*\*(.+?)\*\*\s*$", re.M)


def doc_sections(docs: str) -> dict[str, str]:
    """The `**Heading**` sections of a rule docstring, by heading."""
    out: dict[str, str] = {}
    matches = list(_HEADING.finditer(docs))
    for m, nxt in zip(matches, [*matches[1:], None], strict=False):
        body = docs[m.end() : nxt.start() if nxt else len(docs)]
        out[m.group(1).strip()] = _dedent(body).strip()
    return out


def _dedent(text: str) -> str:
    lines = text.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines)


def _sql_block(section: str) -> str:
    m = re.search(r"```sql\n(.*?)```", section, re.S)
    return m.group(1) if m else ""


def words(node: exp.Expression | None) -> str:
    return node.sql(dialect="postgres") if node is not None else ""
