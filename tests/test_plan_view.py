"""The plan as plain data for the VS Code plan view (`plan_view`, `what_if_view`)."""

from __future__ import annotations

from typing import Any

from sql_lsp.explain.plan import parse_plan
from sql_lsp.explain.render import plan_view
from sql_lsp.explain.whatif import WhatIf, what_if_view


def node(kind: str, cost: float, rows: int, children: list | None = None, **extra: Any) -> dict:
    out = {"Node Type": kind, "Startup Cost": 0.0, "Total Cost": cost, "Plan Rows": rows}
    out.update(extra)
    if children:
        out["Plans"] = children
    return out


BEFORE = [
    {
        "Plan": node(
            "Hash Join",
            3000.0,
            100,
            [
                node(
                    "Seq Scan",
                    2500.0,
                    100,
                    **{"Relation Name": "orders", "Alias": "o", "Filter": "(user_id = 42)"},
                ),
                node("Seq Scan", 100.0, 1000, **{"Relation Name": "users", "Alias": "u"}),
            ],
        )
    }
]
AFTER = [
    {
        "Plan": node(
            "Index Scan",
            8.3,
            100,
            **{
                "Relation Name": "orders",
                "Alias": "o",
                "Index Name": "<1>btree_orders_user_id",
                "Index Cond": "(user_id = 42)",
            },
        )
    }
]


def test_plan_view_tree_costs_and_costliest_node() -> None:
    view = plan_view(parse_plan(BEFORE), statement="  SELECT 1\n")
    assert view["title"] == "EXPLAIN"
    assert view["statement"] == "SELECT 1"
    assert view["analyzed"] is False
    assert view["total_cost"] == 3000.0
    root = view["root"]
    assert (root["id"], root["label"], root["own_cost"], root["costliest"]) == (
        "0",
        "Hash Join",
        400.0,
        False,
    )
    scan, users = root["children"]
    assert (scan["id"], scan["label"], scan["own_cost"], scan["costliest"]) == (
        "0.0",
        "Seq Scan on orders o",
        2500.0,
        True,
    )
    assert scan["conditions"] == {"Filter": "(user_id = 42)"}
    assert (users["id"], users["costliest"], users["children"]) == ("0.1", False, [])
    assert users["actual_total_ms"] is None and users["never_executed"] is False


def test_what_if_view_has_both_plans() -> None:
    result = WhatIf(
        create_index="CREATE INDEX ON orders (user_id)",
        cost_before=3000.0,
        cost_after=8.3,
        index_used=True,
        hypothetical_name="<1>btree_orders_user_id",
        plan_before=parse_plan(BEFORE),
        plan_after=parse_plan(AFTER),
    )
    view = what_if_view(result, "Create index on orders (user_id)")
    assert view["create_index"] == "CREATE INDEX ON orders (user_id)"
    assert (view["cost_before"], view["cost_after"], view["index_used"]) == (3000.0, 8.3, True)
    assert view["title"].startswith("Create index on orders (user_id) — cost ")
    assert view["before"]["root"]["label"] == "Hash Join"
    assert view["after"]["root"]["label"] == "Index Scan using <1>btree_orders_user_id on orders o"
    assert view["after"]["root"]["costliest"] is True
    # a title that carries the cost already keeps it once
    again = what_if_view(result, view["title"])
    assert again["title"] == view["title"]
    assert what_if_view(result)["title"] == view["title"].split(" — ", 1)[1]
