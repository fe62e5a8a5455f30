"""The connection to the user's PostgreSQL: settings, a lazily opened pool, failure and backoff.

`Database` owns everything: the conninfo (built from `DatabaseSettings`), an
`AsyncConnectionPool` opened on first use, and a failure state. Work runs through
`Database.run(work)`, which hands `work` a pooled connection and turns every problem into a
`DatabaseError` carrying a `Failure`: a kind and a one-line message without any password.

Failure behaviour:

- Connecting is tried once, with a connect timeout. When it fails, the database is marked
  unavailable and every call answers at once with the same one-line reason ("... next try in
  4 s") until the backoff delay has passed; then one call tries again. Delays double from
  `backoff_initial` up to `backoff_max`, and reset after a success. There is never more than one
  connection attempt in flight.
- A connection that breaks while in use (server restarted, killed, network gone) drops the whole
  pool; the call is retried once on a fresh connection, which recovers transparently from a
  server restart, or enters the backoff when the server is still gone.
- Every connection goes back to the pool clean: the pool's reset hook rolls back, runs
  `SELECT hypopg_reset()` when HypoPG is installed and `DISCARD ALL` (advisory locks, prepared
  statements, settings, temporary objects, LISTEN, the session role), and closes a connection
  that still has a dblink connection open.
- Two lanes (`Lane`): background work (planning whole files, loading the catalog) gets at most
  `max_size - INTERACTIVE_RESERVED` connections at a time, so interactive work (hovers, code
  actions, the explain command) never waits behind it.
- Passwords: every message is scrubbed of every password-like part of the settings, whatever
  the URL's shape (`sql_lsp.redaction`); nothing relies on libpq leaving them out.

Call `close()` on shutdown: an open pool keeps worker tasks alive and can make process exit hang.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from sql_lsp.config import DatabaseSettings
from sql_lsp.redaction import redact, secrets_in

if TYPE_CHECKING:  # imported when a database is used (150 ms of a server's start otherwise)
    import psycopg
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

T = TypeVar("T")

APPLICATION_NAME = "sql-lsp"


class Lane(StrEnum):
    """Who is waiting for a piece of database work.

    INTERACTIVE work (a hover, a code action, the explain command) never queues behind
    BACKGROUND work (planning a whole file, loading the catalog): background work gets at most
    `max_size - INTERACTIVE_RESERVED` pooled connections at a time, so the others are always free
    for interactive requests."""

    INTERACTIVE = "interactive"
    BACKGROUND = "background"


INTERACTIVE_RESERVED = 2  # pooled connections background work never takes


class Problem(StrEnum):
    """What went wrong, for callers that react differently (retry later, say "not in database")."""

    NOT_CONFIGURED = "not-configured"  # no database.url, no SQL_LSP_DATABASE_URL, no PG* variables
    BAD_SETTINGS = "bad-settings"  # the connection string cannot be parsed
    UNAVAILABLE = "unavailable"  # cannot connect, connection lost, or waiting before a retry
    AUTH = "auth"  # the server refused the login
    BUSY = "busy"  # every pooled connection is in use
    TIMEOUT = "timeout"  # statement_timeout (or our own deadline) hit
    LOCK_TIMEOUT = "lock-timeout"  # lock_timeout hit: another session holds a lock
    NOT_IN_DATABASE = "not-in-database"  # a table/column/function the statement uses does not exist
    SYNTAX = "syntax"  # PostgreSQL rejected the statement's syntax
    NOT_ALLOWED = "not-allowed"  # refused by sql-lsp's safety rules (or a read-only transaction)
    PERMISSION = "permission"  # the role may not read something
    UNSUPPORTED = "unsupported"  # the database lacks what is needed (e.g. HypoPG)
    ERROR = "error"  # anything else PostgreSQL said


@dataclass(frozen=True)
class Failure:
    """A problem as a value: `message` is one line and never contains a password."""

    problem: Problem
    message: str

    def __str__(self) -> str:
        return self.message


class DatabaseError(Exception):
    """Raised by `Database.run`; `failure` says what happened in one password-free line."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure

    @property
    def problem(self) -> Problem:
        return self.failure.problem


def one_line(text: str) -> str:
    """The first line of a message with runs of white space collapsed."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return " ".join(first.split())


# --------------------------------------------------------------------------------------------
# the Database


class Database:
    """One configured PostgreSQL database: a pool opened on first use, and its failure state.

    `settings` are fixed for the object's life; on a settings change create a new Database and
    `close()` the old one. `clock` (seconds, monotonic) is injectable for tests of the backoff.
    """

    def __init__(
        self,
        settings: DatabaseSettings,
        *,
        environ: Mapping[str, str] | None = None,
        max_size: int = 4,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.max_size = max_size
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock
        self._url = settings.effective_url(environ)
        self._secrets: tuple[str, ...] = ()
        self._conninfo = ""
        self._bad_settings: Failure | None = None
        self._pool: AsyncConnectionPool | None = None
        self._pool_errors_seen = 0  # the pool's connection errors before its last success
        self._lock = asyncio.Lock()
        self._background: asyncio.Semaphore | None = None
        self._closed = False
        self._failure: Failure | None = None
        self._retry_at = 0.0
        self._delay = 0.0
        self.connect_attempts = 0  # connection attempts made (probes), for status and tests
        self.server_version: int | None = None  # e.g. 150018, known after the first connection
        self.hypopg_version: str | None = None  # installed HypoPG extension version, if any
        # dblink's dblink_get_connections(), schema-qualified, when the extension is installed:
        # its connections outlive DISCARD ALL, so the pool's reset asks whether any is open
        self._dblink_connections: str | None = None
        self.target = "no database"
        env = os.environ if environ is None else environ
        if self._url is not None:
            self._prepare(self._url, env)

    def _prepare(self, url: str, env: Mapping[str, str]) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        secrets = [env.get("PGPASSWORD", ""), *secrets_in(url)]
        try:
            params = conninfo_to_dict(url) if url else {}
            secrets.append(str(params.get("password") or ""))
            extra: dict[str, object] = {
                "connect_timeout": max(2, math.ceil(self.settings.connect_timeout_ms / 1000))
            }
            if "application_name" not in params and not env.get("PGAPPNAME"):
                extra["application_name"] = APPLICATION_NAME
            self._conninfo = make_conninfo(url, **extra)
        except psycopg.Error as e:
            self._secrets = tuple(s for s in secrets if s)
            self._bad_settings = Failure(
                Problem.BAD_SETTINGS, f"invalid database.url: {self._line(e)}"
            )
            self.target = "invalid database.url"
            return
        self._secrets = tuple(s for s in secrets if s)
        self.target = self.redact(_describe(params, env))

    # -- state ---------------------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        """True when a database is configured (it may still be unreachable)."""
        return self._url is not None

    @property
    def hypopg(self) -> bool:
        """HypoPG is installed in the database (known after the first connection)."""
        return self.hypopg_version is not None

    @property
    def failure(self) -> Failure | None:
        """The current failure (while backing off or after a bad setting), else None."""
        return self._bad_settings or self._failure

    def current_failure(self) -> Failure | None:
        """The current failure as `run` would answer it now ("... (next try in 3 s)")."""
        failure = self.failure
        return None if failure is None else self._with_retry(failure)

    def retry_in(self) -> float:
        """Seconds until the next connection attempt is allowed (0 when not backing off)."""
        if self._failure is None:
            return 0.0
        return max(0.0, self._retry_at - self._clock())

    def status(self) -> str:
        """One line for a status display: where it connects and whether it works."""
        if not self.configured:
            return "no database configured"
        failure = self.current_failure()
        if failure is not None:
            return failure.message
        if self._pool is None:
            return f"{self.target} (not connected yet)"
        version = _version_text(self.server_version)
        return f"connected to {self.target}" + (f" (PostgreSQL {version})" if version else "")

    def redact(self, text: str) -> str:
        """`text` without this database's password (or any other that looks like one)."""
        return redact(text, self._secrets)

    # -- running work --------------------------------------------------------------------------
    async def run(
        self,
        work: Callable[[psycopg.AsyncConnection], Awaitable[T]],
        *,
        lane: Lane = Lane.BACKGROUND,
    ) -> T:
        """Run `work(connection)` on a pooled autocommit connection and return its result.

        Raises `DatabaseError` for every problem (database down, timeouts, PostgreSQL errors),
        with a one-line, password-free message. Cancelling the awaiting task cancels the query
        on the server (psycopg sends a cancel request) and returns the connection to the pool.
        Background work waits for one of its few connections; interactive work does not wait
        for background work (see `Lane`).
        """
        if lane is Lane.INTERACTIVE:
            return await self._run(work)
        if self._background is None:
            self._background = asyncio.Semaphore(max(1, self.max_size - INTERACTIVE_RESERVED))
        async with self._background:
            return await self._run(work)

    async def _run(self, work: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        import psycopg
        from psycopg_pool import PoolClosed, PoolTimeout

        for attempt in (1, 2):
            pool = await self._get_pool()
            stats = pool.get_stats()
            if (
                stats.get("pool_available", 0) == 0
                and stats.get("connections_errors", 0) > self._pool_errors_seen
            ):
                # the pool failed to (re)connect in the background since its last success:
                # start over rather than wait for it, so the probe says why (or finds it back)
                await self._drop_pool(pool)
                pool = await self._get_pool()
            try:
                async with pool.connection() as conn:
                    try:
                        return await work(conn)
                    except (psycopg.Error, OSError) as e:
                        if conn.broken or conn.closed:
                            raise _ConnectionLost(e) from e
                        raise
            except _ConnectionLost as lost:
                await self._drop_pool(pool)
                if attempt == 1:
                    log.info("database connection lost; reconnecting: %s", self._line(lost.cause))
                    continue
                raise self._fail(
                    f"database connection lost: {self._line(lost.cause)}", Problem.UNAVAILABLE
                ) from None
            except PoolTimeout:
                if pool.get_stats().get("pool_size", 0) >= self.max_size:
                    raise DatabaseError(
                        Failure(
                            Problem.BUSY,
                            f"all {self.max_size} database connections are busy; try again",
                        )
                    ) from None
                # the pool could not open a connection: start over, the probe tells why
                await self._drop_pool(pool)
                if attempt == 1:
                    continue
                raise self._fail(
                    f"database unavailable: no connection within "
                    f"{self.settings.connect_timeout_ms} ms (database.connectTimeoutMs)",
                    Problem.UNAVAILABLE,
                ) from None
            except PoolClosed:
                raise DatabaseError(self._closed_failure()) from None
            except DatabaseError:
                raise
            except TimeoutError:
                raise DatabaseError(
                    Failure(
                        Problem.TIMEOUT,
                        f"no answer within {self.settings.statement_timeout_ms} ms "
                        "(database.statementTimeoutMs)",
                    )
                ) from None
            except (psycopg.Error, OSError) as e:
                raise DatabaseError(self.classify(e)) from None
        raise AssertionError("unreachable")

    def classify(self, exc: BaseException) -> Failure:
        """A one-line, password-free Failure for an exception raised while talking to PostgreSQL."""
        import psycopg
        from psycopg import errors as pgerrors

        s = self.settings
        text = self._line(exc)
        if isinstance(exc, TimeoutError):
            return Failure(
                Problem.TIMEOUT,
                f"no answer within {s.statement_timeout_ms} ms (database.statementTimeoutMs)",
            )
        if isinstance(exc, pgerrors.LockNotAvailable):
            return Failure(
                Problem.LOCK_TIMEOUT,
                f"another session holds a lock on a table of this statement (waited "
                f"{s.lock_timeout_ms} ms, database.lockTimeoutMs); try again later",
            )
        if isinstance(exc, pgerrors.QueryCanceled):
            if "statement timeout" in text:
                return Failure(
                    Problem.TIMEOUT,
                    f"cancelled after {s.statement_timeout_ms} ms (database.statementTimeoutMs)",
                )
            return Failure(Problem.TIMEOUT, f"cancelled: {text}")
        if isinstance(exc, pgerrors.UndefinedTable):
            m = re.search(r'relation "(.+?)" does not exist', text)
            what = f'table "{m.group(1)}"' if m else text
            return Failure(Problem.NOT_IN_DATABASE, f"{what} is not in the database")
        if isinstance(
            exc,
            pgerrors.UndefinedColumn
            | pgerrors.UndefinedFunction
            | pgerrors.UndefinedObject
            | pgerrors.InvalidSchemaName,
        ):
            return Failure(Problem.NOT_IN_DATABASE, f"not in the database: {text}")
        if isinstance(exc, pgerrors.SyntaxError):
            return Failure(Problem.SYNTAX, f"PostgreSQL: {text}")
        if isinstance(exc, pgerrors.InsufficientPrivilege):
            return Failure(Problem.PERMISSION, f"PostgreSQL: {text}")
        if isinstance(exc, pgerrors.ReadOnlySqlTransaction):
            return Failure(Problem.NOT_ALLOWED, f"refused in a read-only transaction: {text}")
        if isinstance(
            exc, pgerrors.InvalidPassword | pgerrors.InvalidAuthorizationSpecification
        ) or _is_auth_message(text):
            return Failure(Problem.AUTH, f"database login failed: {_strip_libpq(text)}")
        if isinstance(exc, psycopg.OperationalError | OSError):
            return Failure(Problem.UNAVAILABLE, f"database unavailable: {_strip_libpq(text)}")
        if isinstance(exc, psycopg.Error) and getattr(exc, "sqlstate", None):
            return Failure(Problem.ERROR, f"PostgreSQL: {text}")
        return Failure(Problem.ERROR, f"database error: {text}")

    async def close(self) -> None:
        """Close the pool for good (call it on shutdown). Later calls of `run` fail at once."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(timeout=2.0)

    # -- internals -----------------------------------------------------------------------------
    def _line(self, exc: BaseException) -> str:
        return one_line(self.redact(str(exc))) or type(exc).__name__

    def _closed_failure(self) -> Failure:
        return Failure(Problem.UNAVAILABLE, "database connection closed")

    def _with_retry(self, failure: Failure) -> Failure:
        if failure.problem not in (Problem.UNAVAILABLE, Problem.AUTH):
            return failure
        wait = self.retry_in()
        if wait <= 0:
            return failure
        return Failure(failure.problem, f"{failure.message} (next try in {math.ceil(wait)} s)")

    def _fail(self, message: str, problem: Problem) -> DatabaseError:
        """Enter (or extend) the backoff and return the error to raise."""
        self._delay = (
            self.backoff_initial if self._delay == 0 else min(self.backoff_max, self._delay * 2)
        )
        self._retry_at = self._clock() + self._delay
        self._failure = Failure(problem, message)
        log.warning("%s (next try in %.0f s)", message, self._delay)
        return DatabaseError(self._with_retry(self._failure))

    async def _get_pool(self) -> AsyncConnectionPool:
        if self._url is None:
            raise DatabaseError(
                Failure(
                    Problem.NOT_CONFIGURED,
                    "no database configured (set database.url or SQL_LSP_DATABASE_URL)",
                )
            )
        if self._bad_settings is not None:
            raise DatabaseError(self._bad_settings)
        if self._closed:
            raise DatabaseError(self._closed_failure())
        if self._pool is not None:
            return self._pool
        if self._failure is not None and self.retry_in() > 0:
            raise DatabaseError(self._with_retry(self._failure))
        async with self._lock:
            if self._pool is not None:
                return self._pool
            if self._closed:
                raise DatabaseError(self._closed_failure())
            if self._failure is not None and self.retry_in() > 0:
                raise DatabaseError(self._with_retry(self._failure))
            await self._probe()
            from psycopg_pool import AsyncConnectionPool

            pool = AsyncConnectionPool(
                self._conninfo,
                # psycopg's automatic server-side prepared statements are off: the only ones
                # are explain.run's own, deallocated at once
                kwargs={"autocommit": True, "prepare_threshold": None},
                min_size=1,
                max_size=self.max_size,
                open=False,
                configure=self._configured,
                reset=self._reset_connection,
                timeout=self.settings.connect_timeout_ms / 1000,
                reconnect_timeout=60.0,
                max_idle=300.0,
                name=APPLICATION_NAME,
            )
            self._pool_errors_seen = 0
            self._pool = pool
            await pool.open(wait=False)
            return pool

    async def _probe(self) -> None:
        """Connect once, directly, to learn whether the server answers (and why not) and what
        it is (version, HypoPG). Raises DatabaseError and enters the backoff on failure."""
        import psycopg

        self.connect_attempts += 1
        try:
            async with asyncio.timeout(self.settings.connect_timeout_ms / 1000):
                conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, prepare_threshold=None
                )
        except TimeoutError:
            raise self._fail(
                f"database unavailable: no answer from {self.target} within "
                f"{self.settings.connect_timeout_ms} ms (database.connectTimeoutMs)",
                Problem.UNAVAILABLE,
            ) from None
        except (psycopg.Error, OSError) as e:
            failure = self.classify(e)
            raise self._fail(failure.message, failure.problem) from None
        try:
            self.server_version = conn.info.server_version
            self.target = self.redact(_describe_info(conn.info))
            cur = await conn.execute(_PROBE, binary=True)
            row = await cur.fetchone()
            self.hypopg_version = str(row[0]) if row and row[0] is not None else None
            self._dblink_connections = str(row[1]) if row and row[1] is not None else None
        except (psycopg.Error, OSError) as e:
            failure = self.classify(e)
            raise self._fail(failure.message, failure.problem) from None
        finally:
            await conn.close()
        self._failure = None
        self._delay = 0.0
        self._retry_at = 0.0

    async def _drop_pool(self, pool: AsyncConnectionPool) -> None:
        if self._pool is pool:
            self._pool = None
        try:
            await pool.close(timeout=0.5)
        except Exception:  # closing a pool whose server is gone: nothing more to do
            log.debug("error closing a broken pool", exc_info=True)

    async def _configured(self, conn: psycopg.AsyncConnection) -> None:
        """Pool configure hook: a connection was made; remember the pool's error count."""
        if self._pool is not None:
            self._pool_errors_seen = self._pool.get_stats().get("connections_errors", 0)

    async def _reset_connection(self, conn: psycopg.AsyncConnection) -> None:
        """Pool reset hook: leave nothing behind. A function that planning ran (PostgreSQL
        evaluates IMMUTABLE and STABLE functions while planning) may have taken a session
        advisory lock, created a HypoPG index or opened a dblink connection; none of these is
        undone by a rollback. So: roll back, `DISCARD ALL` (advisory locks, prepared
        statements, settings, temporary objects, LISTEN, cursors, the session role),
        `hypopg_reset()`; and a connection with a dblink connection still open is closed
        (raising here makes the pool discard it)."""
        from psycopg.pq import TransactionStatus

        if conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.rollback()
        if self.hypopg_version is not None:
            await conn.execute("SELECT hypopg_reset()")
        if self._dblink_connections is not None:
            # the name comes from the catalog (regprocedure output is quoted as needed)
            fn = self._dblink_connections
            cur = await conn.execute(
                f"SELECT CASE WHEN has_function_privilege(%s::regprocedure, 'EXECUTE') "
                f"THEN {fn.removesuffix('()')}() IS NOT NULL ELSE false END",
                [fn],
            )
            row = await cur.fetchone()
            if row is None or row[0] is not False:
                raise _Dirty("a dblink connection is still open")
        await conn.execute("DISCARD ALL")  # cannot run in a transaction: a statement alone


# what the first connection learns: the HypoPG version and dblink_get_connections()
_PROBE = (
    "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'hypopg'), "
    "(SELECT to_regprocedure(quote_ident(n.nspname) || '.dblink_get_connections()')::text "
    " FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    " WHERE e.extname = 'dblink')"
)


class _Dirty(Exception):
    """Raised by the pool's reset hook for a connection that cannot be cleaned: the pool closes
    it."""


class _ConnectionLost(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _describe(params: Mapping[str, object], env: Mapping[str, str]) -> str:
    """`user@host:port/dbname` from conninfo parameters and libpq's PG* variables."""
    host = str(params.get("host") or env.get("PGHOST") or "localhost")
    port = str(params.get("port") or env.get("PGPORT") or "5432")
    user = str(params.get("user") or env.get("PGUSER") or "")
    dbname = str(params.get("dbname") or env.get("PGDATABASE") or user or "")
    if params.get("service") or env.get("PGSERVICE"):
        return f"service {params.get('service') or env.get('PGSERVICE')}"
    where = f"{host}:{port}" if not host.startswith("/") else f"{host} (port {port})"
    return f"{user + '@' if user else ''}{where}/{dbname}"


def _describe_info(info: psycopg.ConnectionInfo) -> str:
    host = info.host
    where = f"{host}:{info.port}" if not host.startswith("/") else f"{host} (port {info.port})"
    return f"{info.user}@{where}/{info.dbname}"


def _version_text(version: int | None) -> str:
    if not version:
        return ""
    major, minor = divmod(version, 10000)
    return f"{major}.{minor}" if major >= 10 else f"{major // 100}.{major % 100}.{minor}"


_AUTH_MARKERS = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "password is required",
    "pg_hba.conf rejects",
    "no pg_hba.conf entry",
)


def _is_auth_message(text: str) -> bool:
    low = text.lower()
    return any(m in low for m in _AUTH_MARKERS) or bool(re.search(r'role ".*" does not exist', low))


def _strip_libpq(text: str) -> str:
    """libpq's connection error without its noise: `connection failed: connection to server at
    "h", port 1 failed: FATAL:  password ...` -> `connection to server at "h", port 1 failed:
    password ...`."""
    out = re.sub(r"^connection failed:\s*", "", text)
    out = re.sub(r"\b(FATAL|ERROR):\s+", "", out)
    return " ".join(out.split())
