"""The live catalog of the shop database, checked exactly, and compared with the same schema read
from DDL."""

from __future__ import annotations

import asyncio

import pytest
from live_support import LiveServer

from sql_lsp.catalog.model import Catalog, IndexKey
from sql_lsp.catalog.postgres import LiveCatalog, load_catalog, read_catalog
from sql_lsp.database import DatabaseError, Problem
from sql_lsp.document import Document
from sql_lsp.project import build_catalog


@pytest.fixture(scope="module")
def live(live_pg: LiveServer) -> LiveCatalog:
    async def load() -> LiveCatalog:
        db = live_pg.database()
        try:
            return await load_catalog(db)
        finally:
            await db.close()

    return asyncio.run(load())


def describe(catalog: Catalog, table: str) -> list[tuple]:
    t = catalog.tables[("public", table)]
    return [
        (i.name, i.method, i.keys, i.unique, i.primary, i.constraint, i.predicate, i.include)
        for i in sorted(t.indexes, key=lambda i: i.name)
    ]


def col(name: str, desc: bool = False) -> IndexKey:
    return IndexKey(name, name, desc)


def test_session_facts(live: LiveCatalog):
    assert live.schemas == ("public",)
    assert live.search_path == ("public",)
    assert live.server_version >= 150000
    assert live.hypopg
    counts = dict(live.counts)
    assert counts.pop("lookups") > 0  # operator classes and collations of the server
    assert counts == {
        "relations": 7,
        "columns": 32,
        "indexes": 16,
        "foreign_keys": 4,
        "types": 0,
    }


def test_tables_kinds_and_estimates(live: LiveCatalog):
    got = {
        name: (t.kind, t.est_rows, t.source)
        for (schema, name), t in sorted(live.catalog.tables.items())
    }
    assert got == {
        "big_orders": ("view", None, "database"),
        "order_counts": ("materialized view", 20000, "database"),
        "order_items": ("table", 120000, "database"),
        "orders": ("table", 60000, "database"),
        "products": ("table", 2000, "database"),
        "shipments": ("table", 0, "database"),
        "users": ("table", 20000, "database"),
    }
    # HypoPG's view belongs to the extension: left out
    assert ("public", "hypopg_list_indexes") not in live.catalog.tables


def test_columns(live: LiveCatalog):
    users = live.catalog.tables[("public", "users")]
    assert [(c.name, c.type, c.not_null, c.default) for c in users.columns.values()] == [
        ("id", "bigint", True, "nextval('users_id_seq'::regclass)"),
        ("email", "text", True, None),
        ("username", "varchar(40)", True, None),
        ("country", "char(2)", False, None),
        ("created_at", "timestamptz", True, "now()"),
        ("deleted_at", "timestamptz", False, None),
    ]
    assert [c.name for c in live.catalog.tables[("public", "big_orders")].columns.values()] == [
        "id",
        "user_id",
        "total",
    ]


def test_indexes(live: LiveCatalog):
    cat = live.catalog
    assert describe(cat, "users") == [
        ("users_created_at_idx", "btree", (col("created_at", True),), False, False, None, None, ()),
        ("users_email_key", "btree", (col("email"),), True, False, "unique", None, ()),
        (
            "users_lower_email_idx",
            "btree",
            (IndexKey("LOWER(email)"),),
            False,
            False,
            None,
            None,
            (),
        ),
        (
            "users_lower_username_idx",
            "btree",
            (IndexKey("LOWER(username)"),),
            False,
            False,
            None,
            None,
            (),
        ),
        ("users_pkey", "btree", (col("id"),), True, True, "primary key", None, ()),
        (
            "users_username_c_idx",
            "btree",
            (IndexKey("username", "username", collation='"C"'),),
            False,
            False,
            None,
            None,
            (),
        ),
    ]
    assert describe(cat, "orders") == [
        ("orders_created_at_idx", "brin", (col("created_at"),), False, False, None, None, ()),
        (
            "orders_open_user_created_idx",
            "btree",
            (col("user_id"), col("created_at", True)),
            False,
            False,
            None,
            "status <> 'done'",
            (),
        ),
        ("orders_pkey", "btree", (col("id"),), True, True, "primary key", None, ()),
    ]
    assert describe(cat, "products") == [
        ("products_pkey", "btree", (col("id"),), True, True, "primary key", None, ()),
        ("products_sku_key", "btree", (col("sku"),), True, False, "unique", None, ()),
        (
            "products_sku_pattern_idx",
            "btree",
            (IndexKey("sku", "sku", opclass="text_pattern_ops"),),
            False,
            False,
            None,
            None,
            (),
        ),
        ("products_title_key", "btree", (col("title"),), True, False, None, None, ("price",)),
    ]
    assert describe(cat, "order_items") == [
        (
            "order_items_pkey",
            "btree",
            (col("order_id"), col("line")),
            True,
            True,
            "primary key",
            None,
            (),
        ),
        (
            "order_items_product_qty_idx",
            "btree",
            (col("product_id"),),
            False,
            False,
            None,
            "quantity > 10",
            (),
        ),
    ]
    for index in cat.indexes():
        assert index.valid and index.source == "database"
        assert index.size_bytes is not None and index.size_bytes > 0


def test_foreign_keys_keep_column_order(live: LiveCatalog):
    got = sorted(
        (f.table, f.name, f.columns, f.ref_table, f.ref_columns)
        for f in live.catalog.foreign_keys()
    )
    assert got == [
        ("order_items", "order_items_order_fk", ("order_id",), "orders", ("id",)),
        ("order_items", "order_items_product_id_fkey", ("product_id",), "products", ("id",)),
        ("orders", "orders_user_id_fkey", ("user_id",), "users", ("id",)),
        (
            "shipments",
            "shipments_item_fk",
            ("order_id", "line"),
            "order_items",
            ("order_id", "line"),
        ),
    ]


def test_live_indexes_equal_the_same_ddl(live: LiveCatalog):
    """Expressions and predicates as PostgreSQL renders them compare equal to the DDL's."""
    ddl = build_catalog([Document("file:///shop.sql", (_shop_sql()))])
    for key, table in ddl.tables.items():
        if key not in live.catalog.tables:
            continue
        mine = live.catalog.tables[key]
        for index in table.indexes:
            other = mine.index_named(index.name)
            assert other is not None, index.name
            assert (index.keys, index.predicate, index.unique, index.method, index.include) == (
                other.keys,
                other.predicate,
                other.unique,
                other.method,
                other.include,
            )
        assert sorted(f.fingerprint() for f in table.foreign_keys) == sorted(
            f.fingerprint() for f in mine.foreign_keys
        )


def _shop_sql() -> str:
    from pathlib import Path

    return (Path(__file__).parent / "shop.sql").read_text(encoding="utf-8")


async def test_configured_schemas(live_pg: LiveServer):
    db = live_pg.database(schemas=("audit",))
    try:
        live = await load_catalog(db)
    finally:
        await db.close()
    assert live.schemas == ("audit",)
    assert sorted(live.catalog.tables) == [("audit", "events")]
    assert live.catalog.schemas == {"audit"}


async def test_search_path_of_the_connection(live_pg: LiveServer):
    conn = await live_pg.admin()
    try:
        await conn.execute("SET search_path = audit, public")
        live = await read_catalog(conn)
    finally:
        await conn.close()
    assert live.search_path == ("audit", "public")
    assert ("audit", "events") in live.catalog.tables
    assert ("public", "users") in live.catalog.tables


async def test_usage_statistics(live_pg: LiveServer):
    db = live_pg.database()
    admin = await live_pg.admin()
    try:
        before = await load_catalog(db)
        await admin.execute("SET enable_seqscan = off")
        await admin.execute("SELECT * FROM products WHERE title = 'Product 5'")
        await admin.execute("RESET enable_seqscan")
        await admin.execute("SELECT * FROM products WHERE price > 0")  # a seq scan
        await admin.execute("SELECT pg_stat_force_next_flush()")
        await admin.execute("SELECT 1")  # the flush happens at the end of a transaction
        after = await load_catalog(db)
    finally:
        await admin.close()
        await db.close()

    def scans(cat: LiveCatalog) -> tuple:
        t = cat.catalog.tables[("public", "products")]
        return t.seq_scans, t.idx_scans, t.index_named("products_title_key").scans

    seq, idx, title = scans(before)
    assert scans(after) == (seq + 1, idx + 1, title + 1)


async def test_catalog_time_box(live_pg: LiveServer):
    """A catalog query stuck behind a lock ends at the time box with a one-line message."""
    db = live_pg.database(catalog_timeout_ms=300, lock_timeout_ms=10_000)
    admin = await live_pg.admin()
    try:
        await admin.execute("BEGIN")
        await admin.execute("LOCK TABLE pg_catalog.pg_depend IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(DatabaseError) as raised:
            await load_catalog(db)
        assert raised.value.problem is Problem.TIMEOUT
        assert raised.value.failure.message == (
            "loading the catalog took longer than 300 ms (database.catalogTimeoutMs)"
        )
        await admin.execute("ROLLBACK")
        assert (await load_catalog(db)).counts["relations"] == 7
    finally:
        await admin.close()
        await db.close()


async def test_merges_with_the_workspace_catalog(live: LiveCatalog):
    ddl = build_catalog(
        [
            Document(
                "file:///m.sql",
                "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
                "CREATE INDEX users_email_idx ON users (email);\n",
            )
        ]
    )
    merged = ddl.merge(live.catalog)
    users = merged.tables[("public", "users")]
    names = sorted(i.name for i in users.indexes)
    # the database's indexes count too; the pkey is matched by name
    assert names == [
        "users_created_at_idx",
        "users_email_idx",
        "users_email_key",
        "users_lower_email_idx",
        "users_lower_username_idx",
        "users_pkey",
        "users_username_c_idx",
    ]
    assert users.est_rows == 20000
    assert ("public", "orders") in merged.tables
