"""The live catalog: tables, columns, indexes, foreign keys and statistics read from PostgreSQL.

One query per kind of object (queries/*.sql), never one per table, all in one read-only
REPEATABLE READ transaction (a consistent snapshot) with a statement timeout of
`database.catalogTimeoutMs`, and the whole load bounded by the same time box. Only the schemas on
the connection's search_path are read, or `database.schemas` when set; objects that belong to an
extension (HypoPG's view, PostGIS tables, ...) are left out.

The result is a `Catalog` of the shared model (`catalog/model.py`) with `source="database"`:
names as PostgreSQL stores them, index expressions and predicates normalized with
`normalize_expression` after undoing PostgreSQL's deparsing habits (`'x'::text` literals,
`varchar` columns cast to text, `= ANY (ARRAY[...])` for `IN (...)`) so they compare equal to
the same index written in workspace DDL. Statistics ride along: `Table.est_rows`,
`Table.seq_scans` / `idx_scans` and `Index.scans` (since the last statistics reset) and
`Index.size_bytes` (from the planner's page count).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from sql_lsp.catalog.expressions import _type_name, pg_expression
from sql_lsp.catalog.model import (
    Catalog,
    Column,
    ForeignKey,
    Index,
    IndexKey,
    Table,
)
from sql_lsp.database import Database, DatabaseError, Failure, Problem

if TYPE_CHECKING:  # imported when a database is used
    import psycopg

RELKINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}
DEFAULT_COLLATION_OID = 100
QUERIES = ("relations", "columns", "indexes", "foreign_keys", "types", "lookups")


@dataclass
class LiveCatalog:
    """What one load of the live catalog produced."""

    catalog: Catalog
    server_version: int  # e.g. 150018
    hypopg_version: str | None  # the installed HypoPG extension's version, if any
    schemas: tuple[str, ...]  # the schemas that were read
    search_path: tuple[str, ...]  # the connection's search_path (existing schemas, in order)
    elapsed_ms: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # rows per query, for status and logs

    @property
    def hypopg(self) -> bool:
        """HypoPG is installed in the database."""
        return self.hypopg_version is not None


@cache
def query(name: str) -> str:
    """The text of queries/<name>.sql."""
    return (resources.files("sql_lsp.catalog") / "queries" / f"{name}.sql").read_text(
        encoding="utf-8"
    )


async def load_catalog(db: Database) -> LiveCatalog:
    """Load the live catalog of `db` with its settings (schemas, catalog time box).

    Raises DatabaseError (one-line, password-free message) when the database cannot be read.
    """
    from psycopg import errors as pgerrors

    s = db.settings

    async def work(conn: psycopg.AsyncConnection) -> LiveCatalog:
        try:
            return await read_catalog(
                conn,
                schemas=s.schemas,
                timeout_ms=s.catalog_timeout_ms,
                lock_timeout_ms=s.lock_timeout_ms,
            )
        except (TimeoutError, pgerrors.QueryCanceled):
            raise DatabaseError(
                Failure(
                    Problem.TIMEOUT,
                    f"loading the catalog took longer than {s.catalog_timeout_ms} ms "
                    "(database.catalogTimeoutMs)",
                )
            ) from None

    live = await db.run(work)
    db.hypopg_version = live.hypopg_version
    return live


async def read_catalog(
    conn: psycopg.AsyncConnection,
    *,
    schemas: Sequence[str] = (),
    timeout_ms: int = 30_000,
    lock_timeout_ms: int = 500,
) -> LiveCatalog:
    """Read the catalog over `conn` (an autocommit connection) in one read-only snapshot.

    `schemas` empty means the schemas on the connection's search_path. Raises TimeoutError when
    the time box is exceeded and psycopg errors as they come.
    """
    import psycopg

    started = time.perf_counter()
    async with asyncio.timeout(timeout_ms / 1000 + 1.0):
        async with conn.transaction(force_rollback=True):
            cur = psycopg.AsyncCursor(conn)
            await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # JIT compilation costs far more than it saves on these catalog queries
            await cur.execute(
                "SELECT set_config('statement_timeout', %s, true), "
                "set_config('lock_timeout', %s, true), set_config('jit', 'off', true)",
                [str(timeout_ms), str(lock_timeout_ms)],
            )
            await cur.execute(query("session"), binary=True)
            row = await cur.fetchone()
            assert row is not None
            search_path = tuple(row[0] or ())
            server_version = int(row[1])
            hypopg_version = str(row[2]) if row[2] is not None else None
            chosen = tuple(schemas) if schemas else search_path
            params = {"schemas": list(chosen)}
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for name in QUERIES:
                await cur.execute(query(name), params if "%(" in query(name) else None, binary=True)
                rows[name] = await cur.fetchall()
    # in a worker thread: a large schema takes a while to build and typing must go on meanwhile
    catalog = await asyncio.to_thread(build_catalog, rows, chosen)
    return LiveCatalog(
        catalog=catalog,
        server_version=server_version,
        hypopg_version=hypopg_version,
        schemas=chosen,
        search_path=search_path,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        counts={k: len(v) for k, v in rows.items()},
    )


def build_catalog(rows: dict[str, list[tuple[Any, ...]]], schemas: Sequence[str]) -> Catalog:
    """A Catalog from the rows of the catalog queries (in the order of their SELECT lists)."""
    catalog = Catalog()
    catalog.schemas = set(schemas)
    by_oid: dict[int, Table] = {}
    for oid, schema, name, relkind, est_rows, seq_scans in rows["relations"]:
        kind = RELKINDS.get(relkind, "table")
        table = Table(
            schema=schema,
            name=name,
            kind=kind,
            source="database",
            est_rows=int(est_rows) if est_rows is not None and est_rows >= 0 else None,
            seq_scans=int(seq_scans) if seq_scans is not None else None,
        )
        if kind in ("view", "foreign table"):
            table.est_rows = None
        by_oid[int(oid)] = table
        catalog.tables[(schema, name)] = table
    attnames: dict[int, dict[int, str]] = {}
    collations: dict[tuple[int, int], int] = {}
    for table_oid, attnum, name, type_, not_null, default, collation in rows["columns"]:
        table = by_oid.get(int(table_oid))
        if table is None:
            continue
        table.columns[name] = Column(name, _type_name(type_), bool(not_null), default)
        attnames.setdefault(int(table_oid), {})[int(attnum)] = name
        collations[(int(table_oid), int(attnum))] = int(collation or 0)
    names: dict[str, dict[int, str]] = {"opclass": {}, "collation": {}}
    for kind, oid, name in rows.get("lookups", ()):
        names.setdefault(kind, {})[int(oid)] = name
    for row in rows["indexes"]:
        table = by_oid.get(int(row[0]))
        if table is None:
            continue
        index = _index(row, table, attnames.get(int(row[0]), {}), collations, names, catalog)
        if index is not None:
            table.indexes.append(index)
    for table_oid, name, columns, ref_schema, ref_table, ref_columns in rows["foreign_keys"]:
        table = by_oid.get(int(table_oid))
        if table is None:
            continue
        table.foreign_keys.append(
            ForeignKey(
                name=name,
                schema=table.schema,
                table=table.name,
                columns=tuple(columns),
                ref_schema=ref_schema,
                ref_table=ref_table,
                ref_columns=tuple(ref_columns),
                source="database",
            )
        )
    for table in by_oid.values():
        if table.kind in ("table", "partitioned table", "materialized view"):
            scans = [i.scans for i in table.indexes if i.scans is not None]
            table.idx_scans = sum(scans) if table.indexes else None
    for schema, name in rows["types"]:
        catalog.types[(schema, name)] = None
    return catalog


def _index(
    row: tuple[Any, ...],
    table: Table,
    names: dict[int, str],
    column_collations: dict[tuple[int, int], int],
    lookups: dict[str, dict[int, str]],
    catalog: Catalog,
) -> Index | None:
    (
        table_oid,
        name,
        method,
        is_unique,
        is_primary,
        is_valid,
        n_key,
        attnums,
        options,
        keys_text,
        predicate,
        opclass_oids,
        collation_oids,
        constraint_type,
        scans,
        size_bytes,
    ) = row
    types = {c.name: c.type or "" for c in table.columns.values()} if keys_text or predicate else {}
    keys: list[IndexKey] = []
    include: list[str] = []
    for pos, attnum in enumerate(attnums):
        attnum = int(attnum)
        if pos >= n_key:
            include.append(names.get(attnum, keys_text[pos] if keys_text else f"#{attnum}"))
            continue
        desc = bool(int(options[pos]) & 1) if options and pos < len(options) else False
        opclass = lookups["opclass"].get(int(opclass_oids[pos])) if opclass_oids else None
        coll_oid = int(collation_oids[pos]) if collation_oids and pos < len(collation_oids) else 0
        if attnum != 0:
            default_coll = column_collations.get((int(table_oid), attnum), 0)
            collation = _collation(coll_oid, default_coll, lookups["collation"])
            column = names.get(attnum)
            if column is None:
                return None
            keys.append(IndexKey(column, column, desc, opclass, collation))
        else:
            collation = _collation(coll_oid, DEFAULT_COLLATION_OID, lookups["collation"])
            text = keys_text[pos] if keys_text and pos < len(keys_text) else ""
            keys.append(IndexKey(pg_expression(text, types), None, desc, opclass, collation))
    constraint = {"p": "primary key", "u": "unique"}.get(constraint_type or "")
    return Index(
        name=name,
        schema=table.schema,
        table=table.name,
        keys=tuple(keys),
        unique=bool(is_unique),
        primary=bool(is_primary),
        constraint=constraint,
        method=method,
        predicate=pg_expression(predicate, types) if predicate else None,
        include=tuple(include),
        valid=bool(is_valid),
        source="database",
        scans=int(scans) if scans is not None else None,
        size_bytes=int(size_bytes) if size_bytes is not None else None,
        seq=catalog.next_seq(),
    )


def _collation(oid: int, default: int, names: dict[int, str]) -> str | None:
    """The collation of an index key when it is not the one the key would have anyway."""
    if oid in (0, default, DEFAULT_COLLATION_OID):
        return None
    return names.get(oid)


async def load_catalog_or_failure(db: Database) -> LiveCatalog | Failure:
    """`load_catalog`, with problems returned as a Failure instead of raised."""
    try:
        return await load_catalog(db)
    except DatabaseError as e:
        return e.failure
