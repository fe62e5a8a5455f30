"""EXPLAIN against the shop database: plans, generic plans for every placeholder style, errors."""

from __future__ import annotations

import json

import pytest
from live_support import LiveServer

from sql_lsp.database import Database, Problem
from sql_lsp.explain.render import hover_markdown, plan_document, plan_json
from sql_lsp.explain.run import Explained, explain


@pytest.fixture
async def db(live_pg: LiveServer):
    database = live_pg.database()
    yield database
    await database.close()


async def test_plain_plan_with_a_seq_scan_warning(db: Database):
    result = await explain(db, "SELECT * FROM orders WHERE user_id = 42;")
    assert isinstance(result, Explained)
    assert (result.analyzed, result.generic, result.params, result.note) == (False, False, 0, None)
    assert result.statement == "SELECT * FROM orders WHERE user_id = 42"
    assert result.server_version >= 150000
    root = result.plan.root
    assert (root.node_type, root.relation, root.relation_rows) == ("Seq Scan", "orders", 60000)
    assert root.conditions == {"Filter": "(user_id = 42)"}
    assert [w.message for w in result.plan.warnings()] == [
        "Seq Scan on orders (~60,000 rows) with filter (user_id = 42)"
    ]
    assert result.plan.costliest is root
    # the raw JSON is PostgreSQL's, unchanged
    assert result.raw[0]["Plan"]["Node Type"] == "Seq Scan"
    assert json.loads(plan_json(result)) == result.raw


async def test_join_plan_and_hover(db: Database):
    sql = (
        "SELECT u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id "
        "WHERE u.country = 'FR' AND o.status = 'paid'"
    )
    result = await explain(db, sql)
    assert isinstance(result, Explained)
    relations = sorted(n.relation for _, n in result.plan.nodes() if n.relation)
    assert relations == ["orders", "users"]
    assert result.plan.root.node_type == "Hash Join"
    assert result.plan.root.conditions == {"Hash Cond": "(o.user_id = u.id)"}
    hover = hover_markdown(result)
    lines = hover.splitlines()
    assert lines[0].startswith("**EXPLAIN** · cost ")
    assert "Hash Join  (cost=" in hover
    assert "  Hash Cond: (o.user_id = u.id)" in hover
    assert "->  Seq Scan on orders o  (cost=" in hover
    assert "- ⚠ Seq Scan on orders (~60,000 rows) with filter (status = 'paid'::text)" in lines
    assert "- ⚠ Seq Scan on users (~20,000 rows) with filter (country = 'FR'::bpchar)" in lines
    assert sum("◀ costliest" in line for line in lines) == 1
    doc = plan_document(result)
    assert doc.startswith("# EXPLAIN\n")
    assert f"```sql\n{sql}\n```" in doc


@pytest.mark.parametrize(
    ("sql", "sent"),
    [
        (
            "SELECT * FROM orders WHERE user_id = $1",
            "SELECT * FROM orders WHERE user_id = $1",
        ),
        (
            "SELECT * FROM orders WHERE user_id = %s",
            "SELECT * FROM orders WHERE user_id = $1",
        ),
        (
            "SELECT * FROM orders WHERE user_id = %(user_id)s",
            "SELECT * FROM orders WHERE user_id = $1",
        ),
        (
            "SELECT * FROM orders WHERE user_id = :user_id",
            "SELECT * FROM orders WHERE user_id = $1",
        ),
        (
            "SELECT * FROM orders WHERE user_id = ?",
            "SELECT * FROM orders WHERE user_id = $1",
        ),
        (
            "SELECT * FROM orders WHERE user_id = :'user_id'",
            "SELECT * FROM orders WHERE user_id = $1",
        ),
    ],
)
async def test_generic_plan_for_each_placeholder_style(db: Database, sql: str, sent: str):
    result = await explain(db, sql)
    assert isinstance(result, Explained), result
    assert (result.generic, result.params, result.statement) == (True, 1, sent)
    root = result.plan.root
    assert (root.node_type, root.relation) == ("Seq Scan", "orders")
    assert root.conditions == {"Filter": "(user_id = $1)"}
    assert "generic plan ($1 unknown)" in hover_markdown(result).splitlines()[0]


async def test_generic_plan_reuses_numbers_of_repeated_names(db: Database):
    result = await explain(
        db,
        "SELECT * FROM orders WHERE (user_id = :uid OR id = :uid) AND status = :status "
        "AND created_at::date > :since",
    )
    assert isinstance(result, Explained), result
    assert result.params == 3
    assert result.statement == (
        "SELECT * FROM orders WHERE (user_id = $1 OR id = $1) AND status = $2 "
        "AND created_at::date > $3"
    )
    assert result.plan.root.conditions["Filter"] == (
        "((status = $2) AND ((user_id = $1) OR (id = $1)) AND ((created_at)::date > $3))"
    )


async def test_generic_plan_uses_an_index_when_one_fits(db: Database):
    result = await explain(db, "SELECT * FROM users WHERE lower(email) = lower(%s)")
    assert isinstance(result, Explained), result
    indexes = [n.index for _, n in result.plan.nodes() if n.index]
    assert indexes == ["users_lower_email_idx"]


async def test_analyze_with_parameters_shows_the_generic_plan(db: Database):
    result = await explain(db, "SELECT * FROM orders WHERE user_id = $1", analyze=True)
    assert isinstance(result, Explained)
    assert (result.analyzed, result.generic) == (False, True)
    assert result.note == (
        "EXPLAIN ANALYZE needs values for the parameters; showing the generic plan"
    )


async def test_analyze(db: Database):
    result = await explain(db, "SELECT count(*) FROM orders WHERE status = 'paid'", analyze=True)
    assert isinstance(result, Explained)
    assert result.analyzed and result.plan.analyzed
    assert result.plan.execution_ms is not None
    assert result.plan.root.actual_rows == 1
    scan = next(n for _, n in result.plan.nodes() if n.node_type == "Seq Scan")
    assert scan.actual_rows == 15000
    assert scan.rows_removed_by_filter == 45000
    assert hover_markdown(result).startswith("**EXPLAIN ANALYZE** · cost ")


async def test_relation_not_in_the_database(db: Database):
    result = await explain(db, "SELECT * FROM invoices WHERE id = 1")
    assert result.problem is Problem.NOT_IN_DATABASE
    assert result.message == 'table "invoices" is not in the database'


async def test_column_not_in_the_database(db: Database):
    result = await explain(db, "SELECT nickname FROM users")
    assert result.problem is Problem.NOT_IN_DATABASE
    assert result.message == 'not in the database: column "nickname" does not exist'


async def test_syntax_error_found_by_postgres_grammar(db: Database):
    # sqlglot accepts the trailing comma; PostgreSQL's grammar (checked before sending) does not
    result = await explain(db, "SELECT id, FROM users")
    assert result.problem is Problem.SYNTAX
    assert result.message == 'cannot explain: syntax error at or near "FROM"'


async def test_syntax_error_found_before_sending(db: Database):
    result = await explain(db, "SELECT * FROM users WHERE")
    assert result.problem is Problem.SYNTAX
    assert result.message.startswith("cannot explain: syntax error")


async def test_dml_plans_without_running(live_pg: LiveServer):
    db = live_pg.database(live_pg.admin_url)
    try:
        result = await explain(db, "UPDATE orders SET status = 'done' WHERE user_id = %(u)s")
        assert isinstance(result, Explained), result
        assert result.plan.root.node_type == "ModifyTable"
        assert result.generic
    finally:
        await db.close()


async def test_schema_qualified_relation_sizes(live_pg: LiveServer):
    db = live_pg.database(live_pg.admin_url)
    try:
        result = await explain(db, "SELECT * FROM audit.events WHERE payload ? 'kind'")
        assert isinstance(result, Explained), result
        assert result.params == 0  # the jsonb ? operator is not a placeholder
        assert result.plan.root.relation == "events"
    finally:
        await db.close()
