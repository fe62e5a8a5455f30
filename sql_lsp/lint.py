"""Run every enabled rule over every statement of a document.

`Linter` keeps a cache of each statement's findings, keyed by what they depend on: the statement
text, the search_path in effect, its position among catalog statements (DDL rules) and the content
of the tables it mentions. An edit therefore re-checks only the statements whose text changed, and
a DDL change re-checks only the statements that mention the changed tables.

Rules that need a database (`needs="database"`) run only when `lint` is given `DatabaseFacts`
(see `live.py`). Their findings are keyed, per statement, by the facts' stamp for that statement
text (live catalog generation, cached plan, cached what-if), so a plan that arrives re-checks
exactly the statements it is about, and the offline rules' results are reused as they are.
"""

from __future__ import annotations

import gc
import re
import time
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from sql_lsp import bodies, suppressions
from sql_lsp.catalog.ddl import search_path_of
from sql_lsp.catalog.model import DEFAULT_SEARCH_PATH, Catalog, fold
from sql_lsp.config import Config
from sql_lsp.document import Document, Statement
from sql_lsp.query_model.nodes import find_all
from sql_lsp.rules import ALL_RULES
from sql_lsp.rules.base import Finding, Rule, RuleContext, history_point
from sql_lsp.rules.migration import creations_before
from sql_lsp.statements import Parsed, Unloaded

if TYPE_CHECKING:
    from sql_lsp.forked import Forked
    from sql_lsp.live import DatabaseFacts

_CACHE_LIMIT = 200_000
_CACHE_CHARS = 4_000_000


class Linter:
    """Lints documents with one configuration; reuse it across edits to benefit from its cache."""

    def __init__(
        self,
        config: Config | None = None,
        rules: Sequence[Rule] = ALL_RULES,
        *,
        release: bool = False,
        split: bool = False,
        unload: bool = False,
    ) -> None:
        self.config = config or Config()
        # a one-pass check: each statement's tree is dropped once its findings are taken
        # (catalog statements keep theirs: the catalog may read them)
        self.release = release
        # ... and a large document's second half is checked by a child process meanwhile (in
        # the language server, on a document's first check only)
        self.split = split
        # the language server: each statement's tree is dropped once its findings are taken,
        # and parsed again when something reads it (`Statement.unload`); the trees of the
        # statements an edit touches stay until the next full pass
        self.unload = unload
        self.rules = [r for r in rules if self._enabled(r)]
        self._changed: tuple[Catalog, Catalog, frozenset[str] | None] | None = None
        self._offline = [
            r for r in self.rules if r.needs != "database" and r.check_document is None
        ]
        self._document_rules = [r for r in self.rules if r.check_document is not None]
        # the severity the configuration sets for a rule (None: the findings' own)
        self._configured = {r.id: self.config.rule(r.id).severity for r in self.rules}
        self._plans: dict[int, _Plan] = {}
        self.database_rules = [r for r in self.rules if r.needs == "database"]
        self._cache: dict[tuple, tuple] = {}
        self._cache_chars = 0  # total length of the statement texts cached
        self._states: dict[str, _State] = {}

    def _enabled(self, rule: Rule) -> bool:
        if self.config.rule(rule.id).severity == "off":
            return False
        return self.config.dialect in rule.dialects

    def severity(self, rule_id: str, default: str) -> str:
        return self.config.rule(rule_id).severity or default

    def lint(
        self,
        document: Document,
        catalog: Catalog | None = None,
        facts: DatabaseFacts | None = None,
    ) -> list[Finding]:
        """Findings of `document`, suppressions applied, sorted by position. With `facts` (what
        the database says) the database rules run too."""
        catalog = catalog or Catalog()
        if not self.database_rules:
            facts = None
        state = self._states.get(document.uri)
        if state is None or not state.follow(document, catalog, facts):
            state = self._full(document, catalog, facts)
        else:
            for stmt in state.pending:
                self._record(state, document, stmt, catalog, DEFAULT_SEARCH_PATH, facts)
        document.settle()
        findings = state.findings()
        if self._document_rules:
            findings = self._with_document_rules(document, findings)
        sup = suppressions.collect(document)
        return suppressions.apply(findings, document, sup)

    def lint_head(
        self,
        document: Document,
        catalog: Catalog | None = None,
        facts: DatabaseFacts | None = None,
        *,
        lines: int,
        seconds: float,
    ) -> list[Finding] | None:
        """The findings of the statements that start on the first `lines` lines of a document
        not linted yet, suppressions applied: what a first open of a large file shows at once,
        before `lint` has checked the rest. It stops early after about `seconds`. What it
        checks keeps its memo, so the `lint` that follows does not check it again. The rules
        about several statements (`check_document`) wait for `lint`.

        None when there is nothing to gain: no statement starts after those lines, the document
        was linted before, or this linter keeps no memos (a one-pass check)."""
        if self.release or document.uri in self._states or len(document.lines) <= lines:
            return None
        limit = document.lines.line_start(lines)
        sql = [s for s in document.statements if s.kind == "sql"]
        head = sql[: bisect_left(sql, limit, key=_start)]
        if len(head) == len(sql):
            return None
        catalog = catalog or Catalog()
        if not self.database_rules:
            facts = None
        document.catalog_statements  # noqa: B018 - assigns catalog ordinals
        state = _State(document, catalog, facts)
        deadline = time.monotonic() + seconds
        self._run(state, document, head, catalog, DEFAULT_SEARCH_PATH, facts, deadline)
        findings = state.findings()
        return suppressions.apply(findings, document, suppressions.collect(document))

    def _with_document_rules(self, document: Document, findings: list[Finding]) -> list[Finding]:
        """`findings` and those of the rules about several statements of the document."""
        extra: list[Finding] = []
        for rule in self._document_rules:
            severity = self._configured.get(rule.id)  # None: each finding's own default
            assert rule.check_document is not None
            try:
                for f in rule.check_document(document):
                    extra.append(
                        f if not severity or f.severity == severity else f.with_severity(severity)
                    )
            except (RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError):
                continue
        if not extra:
            return findings
        return sorted((*findings, *extra), key=lambda f: (f.start, f.end, f.rule))

    def forget(self, uri: str) -> None:
        """Drop what is kept for incremental linting of a document (it was closed)."""
        self._states.pop(uri, None)

    def _full(self, document: Document, catalog: Catalog, facts: DatabaseFacts | None) -> _State:
        document.catalog_statements  # noqa: B018 - assigns catalog ordinals
        previous = self._states.get(document.uri)
        # after a DDL edit: the tables whose content changed; a statement naming none of them
        # keeps its findings without looking anything up
        self._changed = (
            (previous.catalog, catalog, changed_tables(previous.catalog, catalog))
            if previous is not None and previous.catalog is not catalog
            else None
        )
        state = _State(document, catalog, facts)
        if self.release and not gc.isenabled():
            gc.freeze()  # what exists now stays: no collection needs to look at it again
        sql = [s for s in document.statements if s.kind == "sql"]
        half = self._second_half(state, document, sql, catalog, facts)
        end = half.start if half is not None else len(sql)
        started = time.monotonic()
        self._run(state, document, sql[:end], catalog, DEFAULT_SEARCH_PATH, facts)
        if half is not None:
            # the child has as much to do: a child still silent long after is stuck, and the
            # parent checks its half itself
            wait = max(_CHILD_WAIT_S, 3 * (time.monotonic() - started))
            half.merge(self, state, document, sql, catalog, facts, wait)
        if len(self._states) > 1000:
            self._states.clear()
        self._states[document.uri] = state
        return state

    def _run(
        self,
        state: _State,
        document: Document,
        stmts: Sequence[Statement],
        catalog: Catalog,
        search_path: tuple[str, ...],
        facts: DatabaseFacts | None,
        deadline: float | None = None,
    ) -> None:
        """Record the findings of `stmts` (in order) in `state`; with a `deadline`
        (`time.monotonic()`), only of those checked before it passed."""
        released = 0
        kept: dict[str, Parsed] = {}  # text -> what is kept of its released parse
        # each statement's point in the history (`_point`), counted along instead of searched
        history = document.uri in catalog.doc_rank
        after = -1  # catalog statements before the next one, once known
        for stmt in stmts:
            if deadline is not None and time.monotonic() > deadline:
                break
            path = _search_path(stmt)
            if path is not None:
                search_path = path
                state.plain = False
            point = stmt.catalog_ordinal
            if history:
                if point >= 0:
                    after = point + 1
                else:
                    if after < 0:
                        after = history_point(document, stmt)
                    point = after
            self._record(state, document, stmt, catalog, search_path, facts, point)
            if self.release and stmt.catalog_ordinal < 0:
                stmt.release(kept, last=True)
                released += 1
                if released % _COLLECT_EVERY == 0:
                    _collect()
            elif self.unload and stmt.catalog_ordinal < 0 and stmt.holds_tree:
                # what a catalog change asks of every statement is kept (COMPACT_FACTS)
                referenced_tables(stmt)
                stmt.unload()
                released += 1
                if released % _COLLECT_EVERY == 0:
                    _collect()

    def _second_half(
        self,
        state: _State,
        document: Document,
        sql: list[Statement],
        catalog: Catalog,
        facts: DatabaseFacts | None,
    ) -> _Half | None:
        """A child process checking the second half of a large document while this one checks
        the first (with `split`: a one-pass check, or the server's first check of a document);
        None when it does not pay or cannot be."""
        if not (self.split and facts is None and len(sql) >= SPLIT_STATEMENTS):
            return None
        if not self.release and (not self.unload or document.uri in self._states):
            return None  # the server's later passes: the statements' memos make them cheap
        from sql_lsp.forked import Forked, can_fork

        if not can_fork():
            return None
        total = sum(len(s.text) for s in sql)
        start, size = 0, 0
        while start < len(sql) and size < total * _PARENT_SHARE:
            size += len(sql[start].text)
            start += 1
        search_path = DEFAULT_SEARCH_PATH
        for stmt in sql[:start]:  # the search_path the second half starts with
            path = _search_path(stmt)
            if path is not None:
                search_path = path
        rest = sql[start:]

        def work() -> tuple[bool, list[_Checked]]:
            state.plain = True
            self._run(state, document, rest, catalog, search_path, facts)
            if self.release:
                kept = (s.kept_parse() for s in rest)
                return state.plain, [
                    (i, state.flagged.get(s, ()), p, None, None)
                    for i, (s, p) in enumerate(zip(rest, kept, strict=True), start)
                    if p is not None or s in state.flagged
                ]
            # the server: each statement's memo too (where it was checked, its surroundings),
            # and what it keeps once unloaded, so that later edits do not check it again
            out: list[_Checked] = []
            for i, s in enumerate(rest, start):
                memo = s.lint
                p = s.parse_state
                if type(p) is Parsed and s.catalog_ordinal < 0:  # parsed here, with no tree
                    p = Unloaded(p)
                    if memo is not None:
                        memo = (memo[0], p, *memo[2:])
                out.append(
                    (
                        i,
                        state.flagged.get(s, ()),
                        p if type(p) is Unloaded else None,
                        memo[0][3:6] if memo is not None else None,
                        memo[3] if memo is not None else None,
                    )
                )
            return state.plain, out

        return _Half(start, search_path, Forked(work))

    def _record(
        self,
        state: _State,
        document: Document,
        stmt: Statement,
        catalog: Catalog,
        search_path: tuple[str, ...],
        facts: DatabaseFacts | None = None,
        point: int | None = None,
    ) -> None:
        memo = stmt.lint
        stamp = facts.stamp(stmt.text) if facts is not None else None
        if point is None:
            point = _point(document, stmt, catalog)
        made = creations_before(document, stmt, point)
        context = (self, catalog, catalog.generation, search_path, point, made, stamp)
        if (
            memo is not None
            and memo[1] is stmt.parse_state  # (an unloaded statement is not parsed again)
            and (memo[0] == context or self._unaffected(memo[0], context, document, stmt))
            and (memo[3] is None or memo[3] == document.surroundings(stmt).relative(stmt))
        ):
            relative = memo[2]
            if memo[0] is not context:
                stmt.lint = (context, memo[1], relative, memo[3])
        else:
            relative = self._lookup(document, stmt, catalog, search_path, point, made)
            if facts is not None:
                found = self._check(
                    document, stmt, catalog, search_path, self.database_rules, facts
                )
                if found:
                    extra = [f.shifted(-stmt.start) for f in found]
                    relative = tuple(
                        sorted((*relative, *extra), key=lambda f: (f.start, f.end, f.rule))
                    )
            if not self.release or stmt.catalog_ordinal >= 0:
                # (a released statement keeps no memo: a text met again is not parsed again;
                # the server keeps a statement found in the cache unparsed)
                stmt.lint = (context, stmt.parse_state, relative, _around(document, stmt, relative))
        if state.flagged.get(stmt) is not relative:
            state.absolute.pop(stmt, None)  # the findings changed: shift them again
        if relative:
            state.flagged[stmt] = relative
        else:
            state.flagged.pop(stmt, None)

    def _unaffected(self, old: tuple, new: tuple, document: Document, stmt: Statement) -> bool:
        """The statement was checked against the previous catalog, the same way, names none of
        the tables that changed since and declares the same objects in both."""
        changed = self._changed
        if changed is None or old[0] is not self:
            return False
        before, after, names = changed
        if names is None or old[1] is not before or new[1] is not after:
            return False
        if old[2] != before.generation or old[3:] != new[3:]:
            return False
        if any(name in names for _, name in referenced_tables(stmt)):
            return False
        ordinal = stmt.catalog_ordinal
        return ordinal < 0 or declared(before, document.uri, ordinal) == declared(
            after, document.uri, ordinal
        )

    def _lookup(
        self,
        document: Document,
        stmt: Statement,
        catalog: Catalog,
        search_path: tuple[str, ...],
        point: int,
        made: int = 0,
    ) -> tuple[Finding, ...]:
        """Findings relative to the statement start, from the cache when still valid.

        An entry remembers the catalog it was computed with; against another catalog it is
        still valid when the tables the statement mentions have the same content in both."""
        # what a statement finds depends on its document (what the file did before it; a later
        # duplicate CREATE TABLE fails) and, for a query, on its place in the history
        key = (stmt.text, search_path, point, document.uri, made)
        uri = document.uri if stmt.catalog_ordinal >= 0 else None  # what it declares
        entry = self._cache.get(key)
        if entry is not None and (
            entry[4] is None or entry[4] == document.surroundings(stmt).relative(stmt)
        ):
            old_catalog, old_generation, old_deps, relative, around = entry
            if old_catalog is catalog and old_generation == catalog.generation:
                return relative
            if old_deps is None:
                old_deps = _deps(stmt, old_catalog, search_path, uri)
            new_deps = _deps(stmt, catalog, search_path, uri)
            if new_deps == old_deps:
                self._cache[key] = (catalog, catalog.generation, new_deps, relative, around)
                return relative
        found = self._check(document, stmt, catalog, search_path, self._offline)
        found.sort(key=lambda f: (f.start, f.end, f.rule))
        relative = tuple(f.shifted(-stmt.start) for f in found)
        self._cache_chars += len(stmt.text) + 64
        if len(self._cache) > _CACHE_LIMIT or self._cache_chars > _CACHE_CHARS:
            self._cache.clear()  # bounded by size: each keystroke in a big statement is a key
            self._cache_chars = len(stmt.text) + 64
        around = _around(document, stmt, relative)
        self._cache[key] = (catalog, catalog.generation, None, relative, around)
        return relative

    def _check(
        self,
        document: Document,
        stmt: Statement,
        catalog: Catalog,
        search_path: tuple[str, ...],
        rules: Sequence[Rule],
        facts: DatabaseFacts | None = None,
    ) -> list[Finding]:
        out: list[Finding] = []
        parsed = stmt.parsed
        broken = stmt.error is not None
        opaque = parsed is None or parsed.opaque
        plan = self._plan(rules)
        if parsed is None:
            gates = plan.syntax if broken else []
        else:
            gates = plan.broken if broken else plan.opaque if opaque else plan.normal
        text = stmt.text
        low: str | None = None  # the text lower-cased, for the rules' `words`
        ctx: RuleContext | None = None
        for rule, words, severity in gates:
            if broken and opaque and rule.needs_tree and rule.id != "syntax-error":
                continue
            if words is not None:
                if low is None:
                    low = text.lower()
                if words.search(low) is None:
                    continue
            if rule.applies is not None and not rule.applies(text):
                continue
            # one context per statement: what it caches (the token locator) serves every rule
            if ctx is None:
                ctx = RuleContext(document, stmt, catalog, self.config, rule, search_path, facts)
            else:
                ctx.rule = rule
            try:
                for f in rule.check(ctx):
                    out.append(
                        f if not severity or f.severity == severity else f.with_severity(severity)
                    )
            except (RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError):
                continue  # a rule that trips on an odd tree says nothing rather than crash
        if not broken and facts is None and bodies.applies(stmt.text):
            out.extend(self._check_bodies(document, stmt, catalog, search_path, rules))
        return out

    def _plan(self, rules: Sequence[Rule]) -> _Plan:
        """Which of `rules` can run on which kind of statement (computed once per list)."""
        plan = self._plans.get(id(rules))
        if plan is None or plan.rules is not rules:
            plan = self._plans[id(rules)] = _Plan(rules, self._configured)
        return plan

    def _check_bodies(
        self,
        document: Document,
        stmt: Statement,
        catalog: Catalog,
        search_path: tuple[str, ...],
        rules: Sequence[Rule],
    ) -> list[Finding]:
        """Findings of the statements inside `stmt`'s function body (see `bodies.py`), with
        only the fixes that edit the inner statement itself."""
        inside = self._plan(rules).inside  # one list per list: its own plan is kept too
        out: list[Finding] = []
        for inner in bodies.inner_statements(stmt, self.config.dialect):
            for f in self._check(document, inner, catalog, search_path, inside):
                if any(
                    e.start < inner.start or e.end > inner.end for fix in f.fixes for e in fix.edits
                ):
                    f = Finding(f.rule, f.start, f.end, f.message, f.severity, ())
                out.append(f)
        return out


_COLLECT_EVERY = 200


def _collect() -> None:
    """Free what cycles a one-pass check leaves (released trees are dismantled, so little:
    trees of function bodies, fixes' copies) when the cyclic collector is off (the check turns
    it off). What survives is frozen, so each collection only looks at what was made since
    the previous one."""
    if gc.isenabled():
        return
    gc.collect()
    gc.freeze()


def _around(document: Document, stmt: Statement, relative: tuple[Finding, ...]) -> tuple | None:
    """The statement's surroundings when its findings have fixes (which may depend on them),
    relative to the statement; None when nothing found depends on them."""
    if not any(f.fix_safety is not None for f in relative):
        return None
    return document.surroundings(stmt).relative(stmt)


def referenced_tables(stmt: Statement) -> tuple[tuple[str | None, str], ...]:
    """(schema, name) of every table named in the statement, computed once per statement text
    (kept when the statement is unloaded: no parse then)."""
    known, value = stmt.fact("tables")
    if known:
        return value  # type: ignore[return-value]
    parsed = stmt.parsed
    if parsed is None or parsed.tree is None:
        return ()
    memo: Any = parsed.memo.get("tables")
    if memo is None:
        names = set()
        for t in find_all(parsed, (exp.Table,)):
            if isinstance(t.this, exp.Identifier):
                schema = fold(t.args.get("db")) if t.args.get("db") else None
                names.add((schema, fold(t.this)))
        memo = tuple(sorted(names, key=lambda n: (n[0] or "", n[1])))
        parsed.memo["tables"] = memo
    return memo


def _search_path(stmt: Statement) -> tuple[str, ...] | None:
    """The search_path the statement sets, if any. Read from the text, so that a statement
    whose findings are already known (the same text earlier in the file) is never parsed."""
    path = search_path_of(stmt.text)
    return tuple(path) if path is not None else None


def changed_tables(old: Catalog, new: Catalog) -> frozenset[str] | None:
    """Names of the tables whose content differs between two catalogs (None: something beyond
    tables changed, such as types or schemas)."""
    if old.types != new.types or old.schemas != new.schemas:
        return None
    names = set()
    for key in old.tables.keys() | new.tables.keys():
        a, b = old.tables.get(key), new.tables.get(key)
        if a is None or b is None or a.fingerprint() != b.fingerprint():
            names.add(key[1])
    return frozenset(names)


def declared(catalog: Catalog, uri: str, ordinal: int) -> tuple:
    """What a catalog statement declares in `catalog`: each object's content and span."""
    return tuple(
        (type(obj).__name__, obj.fingerprint(), obj.origin.start, obj.origin.end)
        for obj in catalog.declared_by(uri, ordinal)
        if obj.origin is not None
    )


def _deps(
    stmt: Statement, catalog: Catalog, search_path: tuple[str, ...], uri: str | None
) -> tuple:
    refs = referenced_tables(stmt)
    out = []
    for schema, name in refs:
        t = catalog.table(name, schema, search_path)
        out.append(t.fingerprint() if t is not None else None)
    if uri is not None:
        out.append(declared(catalog, uri, stmt.catalog_ordinal))
    return tuple(out)


def lint(
    document: Document,
    catalog: Catalog | None = None,
    config: Config | None = None,
    *,
    facts: DatabaseFacts | None = None,
) -> list[Finding]:
    """One-shot lint of a document (no cache kept); `facts` turns on the database rules."""
    return Linter(config).lint(document, catalog, facts)


# (rule, its words as one pattern or None, the severity the configuration sets or None)
_Gate = tuple[Rule, "re.Pattern[str] | None", str | None]


class _Plan:
    """The rules of one list that can run on a statement that parses (`normal`), on one sqlglot
    reads only as a command (`opaque`), on one PostgreSQL rejects (`broken`) and on one with
    no parse (`syntax`)."""

    def __init__(self, rules: Sequence[Rule], configured: dict[str, str | None]) -> None:
        self.rules = rules
        self.inside = [r for r in rules if r.id not in bodies.SILENT_INSIDE]  # in bodies
        gates: list[_Gate] = [
            (
                r,
                re.compile("|".join(re.escape(w) for w in r.words)) if r.words else None,
                configured.get(r.id),
            )
            for r in rules
        ]
        self.syntax = [g for g in gates if g[0].id == "syntax-error"]
        self.normal = [g for g in gates if g[0].id != "syntax-error"]
        self.opaque = [g for g in self.normal if not g[0].needs_tree]
        self.broken = [g for g in gates if g[0].id == "syntax-error" or g[0].on_syntax_errors]


SPLIT_STATEMENTS = 2000  # a document this large is checked in two processes (see `split`)
# what the child reports of one statement of its half: its index, its findings (relative),
# what is kept of its parse, and for the server, (search_path, point, creations before it) and
# the surroundings of its memo
_Checked = tuple[
    int, tuple[Finding, ...], Parsed | None, tuple[tuple[str, ...], int, int] | None, tuple | None
]
# the parent's part of the text: a little over half, since the child also pickles its result
# and starts on pages it shares with the parent
_PARENT_SHARE = 0.53
_CHILD_WAIT_S = 30.0  # the least a parent waits for its child's next bytes


class _Half:
    """The second half of a document's statements, checked by a child process."""

    def __init__(self, start: int, search_path: tuple[str, ...], child: Forked) -> None:
        self.start = start
        self.search_path = search_path
        self.child = child

    def merge(
        self,
        linter: Linter,
        state: _State,
        document: Document,
        sql: list[Statement],
        catalog: Catalog,
        facts: DatabaseFacts | None,
        wait: float | None = None,
    ) -> None:
        """Take the child's findings into `state`; check the half here if the child failed
        (or sent nothing for `wait` seconds)."""
        found = self.child.result(wait)
        if found is None:
            rest = sql[self.start :]
            linter._run(state, document, rest, catalog, self.search_path, facts)
            return
        plain, statements = found
        state.plain = state.plain and plain
        for i, relative, kept, where, around in statements:
            stmt = sql[i]
            if relative:
                state.flagged[stmt] = relative
            if kept is not None:
                stmt.parsed = kept
                if type(kept) is Unloaded:
                    kept.hold()
            if where is not None:  # the memo `Linter._record` made in the child
                context = (linter, catalog, catalog.generation, *where, None)
                stmt.lint = (context, stmt.parse_state, relative, around)


class _State:
    """What the linter keeps of a document between edits: the statements with findings."""

    def __init__(self, document: Document, catalog: Catalog, facts: DatabaseFacts | None) -> None:
        self.document = document
        self.catalog = catalog
        self.generation = catalog.generation
        self.facts = facts.key if facts is not None else None
        self.plain = True  # no SET search_path in the document
        self.newline = document.newline
        self.flagged: dict[Statement, tuple[Finding, ...]] = {}  # relative to the statement
        self.absolute: dict[Statement, tuple[int, list[Finding]]] = {}
        self.pending: list[Statement] = []

    def follow(self, document: Document, catalog: Catalog, facts: DatabaseFacts | None) -> bool:
        """Catch up with `document` if it is an edit of the one seen last and nothing else the
        findings depend on changed; the statements to check are then left in `pending`."""
        if (
            document.base is not self.document
            or catalog is not self.catalog
            or catalog.generation != self.generation
            or (facts.key if facts is not None else None) != self.facts
            or not self.plain
            or document.newline != self.newline
        ):
            return False
        removed = set(document.removed)
        added = [s for s in document.added if s not in removed and s.kind == "sql"]
        if any(search_path_of(s.text) is not None for s in (*added, *removed) if s.kind == "sql"):
            return False
        for s in removed:
            self.flagged.pop(s, None)
            self.absolute.pop(s, None)
        document.catalog_statements  # noqa: B018 - assigns catalog ordinals
        self.document = document
        self.pending = added + self._near(document, added)
        return True

    def _near(self, document: Document, added: list[Statement]) -> list[Statement]:
        """Statements with findings on the lines the edits touched: their fixes may depend on
        those lines (see `Document.surroundings`), so they are checked again."""
        edited = document.edited
        if edited is None or edited.last < 0 or not self.flagged:
            return []
        lines = document.lines
        low = lines.line_start(lines.line_of(edited.first))
        high = lines.line_end(lines.line_of(edited.last))
        stmts = document.statements
        i = bisect_left(stmts, low, key=_stop)
        out = []
        seen = set(added)
        while i < len(stmts) and stmts[i].start <= high:
            s = stmts[i]
            if s in self.flagged and s not in seen:
                out.append(s)
            i += 1
        return out

    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for stmt in sorted(self.flagged, key=_start):
            cached = self.absolute.get(stmt)
            if cached is None or cached[0] != stmt.start:
                cached = (stmt.start, [f.shifted(stmt.start) for f in self.flagged[stmt]])
                self.absolute[stmt] = cached
            out.extend(cached[1])
        self.pending = []
        return out


def _start(stmt: Statement) -> int:
    return stmt.start


def _stop(stmt: Statement) -> int:
    return stmt.stop


def _point(document: Document, stmt: Statement, catalog: Catalog) -> int:
    """Where a statement is in the history, when its document has one (a migration): the same
    text checked at two points may see different columns."""
    if stmt.catalog_ordinal >= 0 or document.uri not in catalog.doc_rank:
        return stmt.catalog_ordinal
    return history_point(document, stmt)
