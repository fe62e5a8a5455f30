"""What the configured database says, kept for the linter: the live catalog, plans, what-ifs.

`LiveState` owns one `Database` and caches what was learnt from it; the command line and the
language server both use it, and the rules see it through `DatabaseFacts`, a synchronous,
read-only view that never touches the database:

- `await refresh()` loads the live catalog (time-boxed by `database.catalogTimeoutMs`). A change
  bumps `generation`; a failure keeps the last good catalog and is remembered in `failure`.
- `await plan(sql)` / `await plan_statements(texts)` run EXPLAIN (through `explain.run`, the only
  way a statement reaches the database) in the background lane and cache the result by
  statement text and generation. `await explain(sql)` (hovers, the explain command) always asks
  afresh, in the interactive lane, and refreshes that cache.
  Rules only ever read the cache (`DatabaseFacts.plan`), so typing never sends anything.
- `await what_if(sql, create_index_sql)` prices an index with HypoPG (`explain.whatif`), cached
  the same way, subject to `explain.hypopg` and `explain.minImprovementPercent`.

Nothing here raises for database problems: a database that is down answers with a `Failure` (or
None) at once while `Database` backs off; an outage is cached only as long as that backoff
(with its current "next try in" time), other transient failures (timeouts, locks) briefly. Deterministic failures (a statement that cannot be
explained, a table that is not in the database) are kept until the catalog changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import cast

from sql_lsp.catalog.model import DEFAULT_SEARCH_PATH, Catalog
from sql_lsp.catalog.postgres import LiveCatalog, load_catalog_or_failure
from sql_lsp.config import Config
from sql_lsp.database import Database, Failure, Lane, Problem, one_line
from sql_lsp.explain.plan import Plan
from sql_lsp.explain.run import Explained, check_statement, explain
from sql_lsp.explain.whatif import WhatIf, what_if, worth_it

log = logging.getLogger(__name__)

# failures that may go away by themselves are cached this long (seconds)
TRANSIENT_FAILURE_SECONDS = 10.0
_TRANSIENT = frozenset(
    {Problem.UNAVAILABLE, Problem.AUTH, Problem.BUSY, Problem.TIMEOUT, Problem.LOCK_TIMEOUT}
)
_OUTAGE = frozenset({Problem.UNAVAILABLE, Problem.AUTH})  # the database answers for these
MAX_CACHED = 5000  # cached plans (and, separately, what-ifs); the oldest are dropped first


@dataclass(frozen=True)
class Cached:
    """One cached database answer: the result, the catalog generation it was computed at, when
    (monotonic seconds) and a serial number unique within its LiveState (lint caches key on it)."""

    result: object
    generation: int
    at: float
    serial: int


_uids = itertools.count(1)


class _Store:
    """The caches a LiveState fills and its DatabaseFacts read."""

    def __init__(self) -> None:
        self.uid = next(_uids)  # tells stores apart in cache keys
        self.catalog: Catalog | None = None
        self.search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
        self.generation = 0
        self.version = 0  # bumped on every change a rule could see
        self.plans: OrderedDict[str, Cached] = OrderedDict()
        self.what_ifs: OrderedDict[tuple[str, str], Cached] = OrderedDict()
        self.what_if_serial: dict[str, int] = {}  # statement text -> newest what-if serial
        self._serial = 0

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial


class DatabaseFacts:
    """What the rules may know about the database: the live catalog and cached plans.

    Read-only and synchronous: looking something up never sends anything to the database. A
    statement's plan is looked up by the statement's text exactly as it appears in the document
    (`Statement.text`). Build one for tests with `DatabaseFacts.of(catalog, plans)`.
    """

    __slots__ = ("_store",)

    def __init__(self, store: _Store) -> None:
        self._store = store

    @classmethod
    def of(
        cls,
        catalog: Catalog | None = None,
        plans: dict[str, Plan | Failure] | None = None,
        *,
        search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH,
    ) -> DatabaseFacts:
        """Fixed facts (no database): a live catalog and plans by statement text."""
        store = _Store()
        store.catalog = catalog
        store.search_path = search_path
        for text, result in (plans or {}).items():
            store.plans[text] = Cached(result, 0, 0.0, store.next_serial())
        return cls(store)

    @property
    def catalog(self) -> Catalog | None:
        """The live catalog (with statistics), or None when it has not been loaded."""
        return self._store.catalog

    @property
    def search_path(self) -> tuple[str, ...]:
        """The database connection's search_path."""
        return self._store.search_path

    @property
    def generation(self) -> int:
        """Changes whenever the live catalog changes."""
        return self._store.generation

    @property
    def version(self) -> int:
        """Changes whenever anything these facts answer changes (catalog, a plan, a what-if)."""
        return self._store.version

    def plan(self, text: str) -> Plan | None:
        """The cached plan of a statement, or None (not planned yet, or it could not be)."""
        entry = self._store.plans.get(text)
        return entry.result if entry is not None and isinstance(entry.result, Plan) else None

    def plan_result(self, text: str) -> Plan | Failure | None:
        """The cached plan or failure of a statement; None when it was never planned."""
        entry = self._store.plans.get(text)
        return entry.result if entry is not None else None  # type: ignore[return-value]

    def what_if(self, text: str, create_index_sql: str) -> WhatIf | Failure | None:
        """The cached HypoPG pricing of an index for a statement; None when never priced."""
        entry = self._store.what_ifs.get((text, create_index_sql))
        return entry.result if entry is not None else None  # type: ignore[return-value]

    @property
    def key(self) -> tuple[int, int]:
        """Equal keys, equal facts: (which LiveState, version)."""
        return (self._store.uid, self._store.version)

    def stamp(self, text: str) -> tuple[int, int, int, int]:
        """Identifies everything these facts say about one statement: equal stamps, equal
        answers. Lint caches key on it."""
        entry = self._store.plans.get(text)
        return (
            self._store.uid,
            self._store.generation,
            entry.serial if entry is not None else 0,
            self._store.what_if_serial.get(text, 0),
        )


class LiveState:
    """The configured database and what the linter knows from it (see the module docs)."""

    def __init__(
        self,
        config: Config,
        *,
        database_factory: Callable[[Config], Database] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._factory = database_factory or (lambda c: Database(c.database))
        self._clock = clock
        self.db = self._factory(config)
        self._store = _Store()
        self.live: LiveCatalog | None = None  # the last good load, with server facts
        self.failure: Failure | None = None  # why the last refresh failed (None: it worked)
        self.explains = 0  # statements sent to EXPLAIN (for status and tests)
        self._inflight: dict[tuple, asyncio.Future[object]] = {}

    # -- state ---------------------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        """A database is configured (it may still be unreachable)."""
        return self.db.configured

    @property
    def catalog(self) -> Catalog | None:
        """The live catalog of the last successful refresh, or None."""
        return self._store.catalog

    @property
    def generation(self) -> int:
        """Bumped whenever the live catalog changes (loaded, changed, or dropped)."""
        return self._store.generation

    def facts(self) -> DatabaseFacts | None:
        """The view rules get, or None when no database is configured."""
        if not self.configured:
            return None
        return DatabaseFacts(self._store)

    def status(self) -> str:
        """One line: the database's state and the catalog's."""
        line = self.db.status()
        if self.failure is not None and self.catalog is not None:
            line += " (showing the catalog of the last successful load)"
        return line

    # -- catalog -------------------------------------------------------------------------------
    async def refresh(self) -> bool:
        """Load the live catalog; True when it changed. Never raises: on failure the last good
        catalog stays and `failure` says why in one line."""
        if not self.configured:
            return False
        s = self.config.database
        box = (s.catalog_timeout_ms + s.connect_timeout_ms) / 1000 + 2.0
        try:
            async with asyncio.timeout(box):
                result = await load_catalog_or_failure(self.db)
        except TimeoutError:
            result = Failure(
                Problem.TIMEOUT,
                f"loading the catalog took longer than {s.catalog_timeout_ms} ms "
                "(database.catalogTimeoutMs)",
            )
        except Exception as e:  # a bug or an odd server: never let it reach the caller
            log.exception("loading the live catalog failed")
            result = Failure(Problem.ERROR, f"loading the catalog failed: {_line(self.db, e)}")
        if isinstance(result, Failure):
            self.failure = result
            return False
        self.failure = None
        self.live = result
        changed = self._store.catalog is None or _fingerprint(result.catalog) != _fingerprint(
            self._store.catalog
        )
        if changed:
            self._store.catalog = result.catalog
            self._store.search_path = result.search_path or DEFAULT_SEARCH_PATH
            self._store.generation += 1
            self._store.version += 1
        return changed

    # -- plans ---------------------------------------------------------------------------------
    async def plan(self, sql: str) -> Plan | Failure:
        """The (estimated, never analyzed) plan of one statement, cached by its text and the
        catalog generation. Never raises."""
        entry = self._fresh(self._store.plans.get(sql))
        if entry is not None:
            return entry.result  # type: ignore[return-value]
        return cast(Plan | Failure, await self._once(("plan", sql), lambda: self._plan_now(sql)))

    async def plan_statements(self, texts: Iterable[str]) -> bool:
        """Plan the statements not planned yet (or whose plan is out of date); True when any
        new result was cached. The statements go through a few connections at a time."""
        if not self.configured:
            return False
        todo = list(
            dict.fromkeys(t for t in texts if self._fresh(self._store.plans.get(t)) is None)
        )
        if not todo:
            return False
        before = self._store.version
        await asyncio.gather(*(self.plan(t) for t in todo))
        return self._store.version != before

    async def _plan_now(self, sql: str) -> Plan | Failure:
        got = await self._explain_now(sql, False, Lane.BACKGROUND)
        return got if isinstance(got, Failure) else got.plan

    async def explain(self, sql: str, *, analyze: bool = False) -> Explained | Failure:
        """The whole EXPLAIN answer (plan, raw JSON, notes) for a hover or the explain command:
        always asked afresh (a table dropped since the last plan says so), in the interactive
        lane, so background planning never delays it. The estimated plan also replaces the
        cached one the rules read. `analyze` only on the user's explicit request. Never
        raises."""
        return cast(
            Explained | Failure,
            await self._once(
                ("explain", sql, analyze),
                lambda: self._explain_now(sql, analyze, Lane.INTERACTIVE),
            ),
        )

    async def _explain_now(self, sql: str, analyze: bool, lane: Lane) -> Explained | Failure:
        generation = self._store.generation
        if not self.configured:
            return Failure(Problem.NOT_CONFIGURED, "no database configured")
        refused = check_statement(sql, self.config.dialect)
        if isinstance(refused, Failure):  # decided here, nothing to send
            got: Explained | Failure = refused
        else:
            self.explains += 1
            try:
                got = await explain(
                    self.db, sql, analyze=analyze, dialect=self.config.dialect, lane=lane
                )
            except Exception as e:  # explain() returns failures; anything else is a bug
                log.exception("EXPLAIN failed")
                got = Failure(Problem.ERROR, f"EXPLAIN failed: {_line(self.db, e)}")
        if not analyze:
            result = got if isinstance(got, Failure) else got.plan
            old = self._store.plans.get(sql)
            if old is None or not _same(old.result, result):
                self._put(self._store.plans, sql, result, generation)
        return got

    # -- what if -------------------------------------------------------------------------------
    async def what_if(self, sql: str, create_index_sql: str) -> WhatIf | None:
        """The HypoPG pricing of `create_index_sql` for `sql` when it is worth offering (the
        plan uses the index and the cost drops by `explain.minImprovementPercent`), else None:
        not worth it, HypoPG off or missing, database down. Cached like plans. Never raises."""
        if not self.configured or not self.config.explain.hypopg:
            return None
        key = (sql, create_index_sql)
        entry = self._fresh(self._store.what_ifs.get(key))
        if entry is None:
            await self._once(("what-if", *key), lambda: self._what_if_now(sql, create_index_sql))
            entry = self._store.what_ifs.get(key)
        result = entry.result if entry is not None else None
        if isinstance(result, WhatIf) and worth_it(
            result, self.config.explain.min_improvement_percent
        ):
            return result
        return None

    async def _what_if_now(self, sql: str, create_index_sql: str) -> WhatIf | Failure:
        generation = self._store.generation
        try:
            got = await what_if(
                self.db,
                sql,
                create_index_sql,
                dialect=self.config.dialect,
                lane=Lane.INTERACTIVE,  # asked for by a hover or a code action
            )
        except Exception as e:
            log.exception("pricing an index failed")
            got = Failure(Problem.ERROR, f"HypoPG failed: {_line(self.db, e)}")
        self._put(self._store.what_ifs, (sql, create_index_sql), got, generation)
        entry = self._store.what_ifs.get((sql, create_index_sql))
        if entry is not None:
            self._store.what_if_serial[sql] = entry.serial
        return got

    # -- settings and shutdown -----------------------------------------------------------------
    async def apply_config(self, config: Config) -> bool:
        """Use new settings. When the database settings changed the connection is rebuilt and
        everything learnt from the old one is dropped; returns True then (call `refresh()`)."""
        old = self.config
        self.config = config
        if config.database == old.database:
            if config.explain != old.explain or config.dialect != old.dialect:
                self._store.what_ifs.clear()
                self._store.what_if_serial.clear()
                if config.dialect != old.dialect:
                    self._store.plans.clear()
                self._store.version += 1
            return False
        previous, self.db = self.db, self._factory(config)
        self._inflight.clear()
        self.live = None
        self.failure = None
        self._store.catalog = None
        self._store.search_path = DEFAULT_SEARCH_PATH
        self._store.plans.clear()
        self._store.what_ifs.clear()
        self._store.what_if_serial.clear()
        self._store.generation += 1
        self._store.version += 1
        await _close_quietly(previous)
        return True

    async def close(self) -> None:
        """Close the connection pool (on shutdown). Later calls answer with failures."""
        await _close_quietly(self.db)

    # -- internals -----------------------------------------------------------------------------
    def _fresh(self, entry: Cached | None) -> Cached | None:
        """`entry` if it may still be used as it is."""
        if entry is None or entry.generation != self._store.generation:
            return None
        result = entry.result
        if not isinstance(result, Failure) or result.problem not in _TRANSIENT:
            return entry
        if result.problem in _OUTAGE:
            # good only while the database itself answers "down" without trying: once the
            # backoff is over (or it is back), ask again; the message says when the next try is
            now = self.db.current_failure()
            if now is None or now.problem not in _OUTAGE or self.db.retry_in() <= 0:
                return None
            return dataclasses.replace(entry, result=now)
        if self._clock() - entry.at > TRANSIENT_FAILURE_SECONDS:
            return None
        return entry

    def _put(self, cache: OrderedDict, key: object, result: object, generation: int) -> None:
        if generation != self._store.generation:
            return  # computed against a catalog that is gone
        cache[key] = Cached(result, generation, self._clock(), self._store.next_serial())
        cache.move_to_end(key)
        while len(cache) > MAX_CACHED:
            cache.popitem(last=False)
        self._store.version += 1

    async def _once(self, key: tuple, make: Callable[[], Awaitable[object]]) -> object:
        """Run `make()` once per key at a time; callers asking meanwhile share its result."""
        key = (*key, self._store.generation)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._inflight[key] = task
            task.add_done_callback(lambda _t, k=key: self._inflight.pop(k, None))
        return await asyncio.shield(task)


def _fingerprint(catalog: Catalog) -> tuple:
    """Everything of a live catalog that a rule or a plan can depend on, statistics included."""
    out = []
    for key in sorted(catalog.tables):
        t = catalog.tables[key]
        out.append(
            (
                key,
                t.fingerprint(),
                t.seq_scans,
                t.idx_scans,
                tuple((i.name, i.scans) for i in t.indexes),
            )
        )
    return (tuple(sorted(catalog.schemas)), tuple(sorted(catalog.types)), tuple(out))


def _same(a: object, b: object) -> bool:
    """The same answer for the rules (equal plans, equal failures): no new version then."""
    return type(a) is type(b) and a == b


def _line(db: Database, exc: BaseException) -> str:
    return one_line(db.redact(str(exc))) or type(exc).__name__


async def _close_quietly(db: Database) -> None:
    try:
        await db.close()
    except Exception:  # closing a pool whose server is gone: nothing more to do
        log.debug("error closing the database", exc_info=True)
