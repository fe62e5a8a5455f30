"""Differential tests of the fixes that rewrite queries: the original and the fixed statement
run on the suite's PostgreSQL (shop.sql, with data) and their results are compared.

A safe fix must give the same columns and the same rows; an unsafe fix is shown to change
them in the way its documentation says.
"""

from __future__ import annotations

import psycopg
from live_support import HERE, LiveServer

from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

SHOP = (HERE / "shop.sql").read_text()


def _fix(rule: str, query: str, safety: str) -> str:
    """`query` after the fixes of `rule` with the given safety (at least one must apply)."""
    doc = Document("file:///shop/q.sql", query)
    catalog = build_catalog([Document("file:///shop/shop.sql", SHOP), doc])
    findings = [f for f in Linter().lint(doc, catalog) if f.rule == rule]
    fixes = [(f.rule, f.fix) for f in findings if f.fix is not None and f.fix.safety == safety]
    assert fixes, f"{rule} offers no {safety} fix for {query!r}"
    text, applied = apply_edits(query, fixes)
    assert len(applied) == len(fixes)
    return text


def _run(url: str, sql: str) -> tuple[list[str], list[tuple]]:
    """Columns and rows (sorted) of `sql`, in a transaction that is rolled back."""
    with psycopg.connect(url) as conn:
        try:
            cur = conn.execute(sql)
            columns = [d.name for d in cur.description or []]
            rows = sorted(cur.fetchall(), key=repr) if cur.description else []
            return columns, rows
        finally:
            conn.rollback()


def test_null_comparison_fix_finds_the_rows_the_original_missed(live_pg: LiveServer) -> None:
    query = "SELECT id, email FROM users WHERE deleted_at = NULL AND id <= 5"
    fixed = _fix("null-comparison", query, "unsafe")
    assert fixed == "SELECT id, email FROM users WHERE deleted_at IS NULL AND id <= 5"
    before = _run(live_pg.admin_url, query)
    after = _run(live_pg.admin_url, fixed)
    assert before == (["id", "email"], [])
    assert after == (["id", "email"], [(i, f"user{i}@example.com") for i in range(1, 6)])


def test_not_in_subquery_safe_fix_keeps_the_result(live_pg: LiveServer) -> None:
    queries = [
        "SELECT id, email FROM users WHERE id <= 500 AND id NOT IN "
        "(SELECT user_id FROM orders WHERE status = 'paid') ORDER BY id",
        "SELECT u.id FROM users u WHERE u.id <= 3000 AND u.id NOT IN "
        "(SELECT o.user_id FROM orders o WHERE o.total > 400 AND o.status = 'new')",
        "SELECT p.id, p.sku FROM products p WHERE p.id NOT IN "
        "(SELECT product_id FROM order_items WHERE quantity = 20 AND order_id < 2000)",
    ]
    for query in queries:
        fixed = _fix("not-in-subquery", query, "safe")
        assert "NOT EXISTS (SELECT 1 FROM" in fixed and "NOT IN" not in fixed
        before = _run(live_pg.admin_url, query)
        assert before[1], query  # the comparison means something only with rows
        assert _run(live_pg.admin_url, fixed) == before, fixed


def test_count_for_existence_fix_keeps_the_result(live_pg: LiveServer) -> None:
    queries = [
        "SELECT u.id FROM users u WHERE u.id <= 400 AND "
        "(SELECT count(*) FROM orders o WHERE o.user_id = u.id AND o.status = 'paid') > 0",
        "SELECT u.id FROM users u WHERE u.id <= 400 AND "
        "(SELECT count(*) FROM orders o WHERE o.user_id = u.id AND o.status = 'paid') = 0",
        "SELECT p.id, (SELECT count(1) FROM order_items i WHERE i.product_id = p.id "
        "AND i.quantity = 20 AND i.order_id < 3000) >= 1 AS sold FROM products p",
        "SELECT CASE WHEN 0 <> (SELECT count(*) FROM audit.events) THEN 'some' ELSE 'none' END",
    ]
    for query in queries:
        fixed = _fix("count-for-existence", query, "safe")
        assert "EXISTS (SELECT 1 FROM" in fixed and "count(" not in fixed
        before = _run(live_pg.admin_url, query)
        assert before[1], query
        assert _run(live_pg.admin_url, fixed) == before, fixed


def test_insert_without_columns_fix_inserts_the_same_rows(live_pg: LiveServer) -> None:
    statements = [
        "INSERT INTO products VALUES (900001, 'SKU-X1', 'Lamp', 12.50), "
        "(900002, 'SKU-X2', 'Desk', 99.00) RETURNING *",
        "INSERT INTO order_items SELECT order_id, line + 10, product_id, quantity "
        "FROM order_items WHERE order_id <= 3 RETURNING *",
    ]
    for statement in statements:
        fixed = _fix("insert-without-columns", statement, "safe")
        assert fixed != statement
        before = _run(live_pg.admin_url, statement)  # rolled back
        assert before[1], statement
        assert _run(live_pg.admin_url, fixed) == before, fixed
