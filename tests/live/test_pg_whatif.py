"""HypoPG what-if: the cost of a statement without and with a hypothetical index."""

from __future__ import annotations

import re

import pytest
from live_support import LiveServer

from sql_lsp.database import Database, Problem
from sql_lsp.explain.whatif import (
    format_title,
    what_if,
    what_if_many,
    with_cost,
    worth_it,
)


@pytest.fixture
async def db(live_pg: LiveServer):
    database = live_pg.database()
    yield database
    await database.close()


async def test_an_index_that_helps(db: Database):
    result = await what_if(
        db, "SELECT * FROM orders WHERE user_id = 42", "CREATE INDEX ON orders (user_id);"
    )
    assert result.create_index == "CREATE INDEX ON orders (user_id)"
    assert result.index_used
    assert result.hypothetical_name.endswith(">btree_orders_user_id")
    assert result.plan_before.root.node_type == "Seq Scan"
    assert result.cost_before == result.plan_before.total_cost
    assert result.cost_after == result.plan_after.total_cost
    assert result.cost_after < result.cost_before / 10
    assert worth_it(result, 30)
    index_nodes = [n for _, n in result.plan_after.nodes() if n.index]
    assert [n.index for n in index_nodes] == [result.hypothetical_name]
    title = format_title("orders", ["user_id"], result)
    m = re.fullmatch(r"Create index on orders \(user_id\) — cost (\d+) → (\d+\.\d+)", title)
    assert m is not None, title
    assert abs(float(m.group(1)) - result.cost_before) <= 0.5
    assert abs(float(m.group(2)) - result.cost_after) <= 0.05


async def test_an_index_that_does_not_help(db: Database):
    result = await what_if(
        db, "SELECT * FROM orders WHERE user_id = 42", "CREATE INDEX ON orders (total)"
    )
    assert not result.index_used
    assert result.cost_after == result.cost_before
    assert result.improvement_percent == 0
    assert not worth_it(result, 30)


async def test_several_candidates_for_a_generic_plan(db: Database):
    results = await what_if_many(
        db,
        "SELECT * FROM orders WHERE user_id = %s AND created_at > %s",
        [
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_idx ON orders (user_id)",
            "CREATE INDEX ON orders (status)",
        ],
    )
    assert [r.index_used for r in results] == [True, False]
    assert results[0].cost_before == results[1].cost_before
    assert results[0].cost_after < results[0].cost_before


async def test_expression_and_partial_indexes(db: Database):
    result = await what_if(
        db,
        "SELECT * FROM users WHERE upper(username) = 'USER7' AND deleted_at IS NULL",
        "CREATE INDEX ON users (upper(username)) WHERE deleted_at IS NULL",
    )
    assert result.index_used
    assert worth_it(result, 30)
    assert with_cost("Create an expression index on users (upper(username))", result).startswith(
        "Create an expression index on users (upper(username)) — cost "
    )


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ("DROP INDEX users_pkey", "expected a CREATE INDEX statement"),
        ("CREATE TABLE x (id int)", "expected a CREATE INDEX statement"),
        (
            "CREATE INDEX ON orders (user_id); DROP TABLE orders",
            "expected exactly one CREATE INDEX statement",
        ),
    ],
)
async def test_only_create_index_is_accepted(db: Database, index: str, message: str):
    result = await what_if(db, "SELECT * FROM orders WHERE user_id = 42", index)
    assert result.problem is Problem.NOT_ALLOWED
    assert result.message == message


async def test_statement_is_checked_too(db: Database):
    result = await what_if(db, "DELETE FROM orders; SELECT 1", "CREATE INDEX ON orders (id)")
    assert result.problem is Problem.NOT_ALLOWED
    assert result.message == "only a single statement can be explained"


async def test_hypopg_missing(live_pg: LiveServer):
    db = live_pg.database(live_pg.nohypo_url)
    try:
        result = await what_if(
            db, "SELECT * FROM things WHERE name = 'x'", "CREATE INDEX ON things (name)"
        )
        assert result.problem is Problem.UNSUPPORTED
        assert result.message == "HypoPG is not installed in the database"
        assert not db.hypopg
    finally:
        await db.close()
