"""Plans as text: a short markdown hover, a full document, and the raw JSON.

- `hover_markdown(explained)`: a header line (cost, rows, generic / analyzed), the plan tree in
  EXPLAIN's familiar `->` layout with relation/index, cost, rows and conditions, the costliest
  node marked, and the warnings. Long plans are cut after `max_nodes` nodes.
- `plan_document(explained)`: the same, complete, with the statement, as a markdown document for
  "open the plan"; `plan_text(explained)` is the bare tree as plain text.
- `plan_json(explained)`: EXPLAIN's JSON as PostgreSQL returned it, for plan visualisers.
- `plan_view(explained)`: the parsed tree as plain data (own and total costs, the costliest
  node, times), for a client that draws the plan itself.
- `failure_markdown(failure)`: one line for a hover when there is no plan.
"""

from __future__ import annotations

import json
from typing import Any

from sql_lsp.database import Failure
from sql_lsp.explain.plan import Plan, PlanNode, PlanWarning
from sql_lsp.explain.run import Explained

COSTLIEST = "◀ costliest"
HOVER_MAX_NODES = 25
HOVER_MAX_CONDITION = 120


def _plan(item: Explained | Plan) -> Plan:
    return item.plan if isinstance(item, Explained) else item


def format_cost(cost: float) -> str:
    """A cost for a one-line summary: `7772`, `23.6`, `0.42`."""
    if cost >= 100:
        return f"{cost:.0f}"
    if cost >= 10:
        return f"{cost:.1f}"
    return f"{cost:.2f}"


def summary(item: Explained | Plan) -> str:
    """One line: `cost 1250 · ~3 rows · generic plan ($1..$2) · executed in 12.3 ms`."""
    plan = _plan(item)
    parts = [f"cost {format_cost(plan.total_cost)}", f"~{plan.root.rows:,} rows"]
    if isinstance(item, Explained) and item.generic:
        params = "$1" if item.params == 1 else f"$1..${item.params}"
        parts.append(f"generic plan ({params} unknown)")
    if plan.analyzed and plan.execution_ms is not None:
        parts.append(f"executed in {plan.execution_ms:.1f} ms, rolled back")
    return " · ".join(parts)


def plan_lines(
    plan: Plan,
    *,
    max_nodes: int | None = None,
    max_condition: int | None = None,
    mark_costliest: bool = True,
) -> list[str]:
    """The plan tree as text lines, EXPLAIN-style (`->` children, conditions indented)."""
    costliest = plan.costliest if mark_costliest and _has_children(plan.root) else None
    lines: list[str] = []
    total = sum(1 for _ in plan.nodes())
    for shown, (depth, node) in enumerate(plan.nodes()):
        if max_nodes is not None and shown >= max_nodes:
            lines.append(f"… {total - shown} more nodes")
            break
        pad = "" if depth == 0 else "  " + "      " * (depth - 1) + "->  "
        cond_pad = " " * (len(pad) + 2) if depth else "  "
        head = f"{pad}{node.label}  {_numbers(node)}"
        if node is costliest:
            head += f"  {COSTLIEST}"
        lines.append(head)
        for key, value in node.conditions.items():
            if max_condition is not None and len(value) > max_condition:
                value = value[: max_condition - 1] + "…"
            lines.append(f"{cond_pad}{key}: {value}")
        for extra in _details(node):
            lines.append(f"{cond_pad}{extra}")
    return lines


def _has_children(node: PlanNode) -> bool:
    return bool(node.children)


def _numbers(node: PlanNode) -> str:
    text = f"(cost={node.startup_cost:.2f}..{node.total_cost:.2f} rows={node.rows})"
    if node.actual_total_ms is not None:
        rows = f"{node.actual_rows:.0f}" if node.actual_rows is not None else "?"
        text += (
            f" (actual time={node.actual_startup_ms or 0:.3f}..{node.actual_total_ms:.3f} "
            f"rows={rows} loops={node.actual_loops or 1})"
        )
    elif node.actual_loops == 0:
        text += " (never executed)"
    return text


def _details(node: PlanNode) -> list[str]:
    out: list[str] = []
    if node.rows_removed_by_filter:
        out.append(f"Rows Removed by Filter: {node.rows_removed_by_filter:.0f}")
    if node.sort_method:
        space = (
            f"  {node.sort_space_type}: {node.sort_space_kb}kB"
            if node.sort_space_type and node.sort_space_kb is not None
            else ""
        )
        out.append(f"Sort Method: {node.sort_method}{space}")
    if node.hash_batches is not None:
        mem = f"  Memory Usage: {node.peak_memory_kb}kB" if node.peak_memory_kb is not None else ""
        out.append(f"Batches: {node.hash_batches}{mem}")
    return out


def _warning_lines(warnings: list[PlanWarning]) -> list[str]:
    return [f"- ⚠ {w.message}" for w in warnings]


def hover_markdown(
    item: Explained | Plan,
    *,
    seq_scan_rows: int = 10_000,
    max_nodes: int = HOVER_MAX_NODES,
) -> str:
    """A short markdown hover for a plan."""
    plan = _plan(item)
    title = "EXPLAIN ANALYZE" if plan.analyzed else "EXPLAIN"
    out = [f"**{title}** · {summary(item)}", ""]
    if isinstance(item, Explained) and item.note:
        out += [f"_{item.note}_", ""]
    out += ["```", *plan_lines(plan, max_nodes=max_nodes, max_condition=HOVER_MAX_CONDITION)]
    out += ["```"]
    warnings = plan.warnings(seq_scan_rows=seq_scan_rows)
    if warnings:
        out += ["", *_warning_lines(warnings)]
    return "\n".join(out)


def plan_document(
    item: Explained | Plan, *, statement: str | None = None, seq_scan_rows: int = 10_000
) -> str:
    """The complete plan as a markdown document, with the statement it explains."""
    plan = _plan(item)
    title = "EXPLAIN ANALYZE" if plan.analyzed else "EXPLAIN"
    if statement is None and isinstance(item, Explained):
        statement = item.statement
    out = [f"# {title}", "", summary(item), ""]
    if isinstance(item, Explained) and item.note:
        out += [f"_{item.note}_", ""]
    if statement:
        out += ["```sql", statement.strip(), "```", ""]
    out += ["## Plan", "", "```", *plan_lines(plan), "```"]
    warnings = plan.warnings(seq_scan_rows=seq_scan_rows)
    if warnings:
        out += ["", "## Warnings", "", *_warning_lines(warnings)]
    costliest = plan.costliest
    out += [
        "",
        f"Costliest node: {costliest.label} (own cost {costliest.exclusive_cost:.2f} of "
        f"{plan.total_cost:.2f})",
    ]
    if plan.planning_ms is not None:
        out.append(f"Planning time: {plan.planning_ms:.3f} ms")
    if plan.execution_ms is not None:
        out.append(f"Execution time: {plan.execution_ms:.3f} ms (rolled back)")
    return "\n".join(out) + "\n"


def plan_text(item: Explained | Plan) -> str:
    """The plan tree as plain text (no markdown)."""
    return "\n".join(plan_lines(_plan(item))) + "\n"


def plan_json(item: Explained) -> str:
    """EXPLAIN's JSON exactly as PostgreSQL returned it (for plan visualisers)."""
    return json.dumps(item.raw, indent=2)


def plan_view(
    item: Explained | Plan, *, statement: str | None = None, seq_scan_rows: int = 10_000
) -> dict[str, Any]:
    """The plan as plain data for a client that draws it (the VS Code plan view): every node
    with its label, costs (own and total), rows, conditions and, when analyzed, times; the
    costliest node flagged; the warnings."""
    plan = _plan(item)
    costliest = plan.costliest

    def node(n: PlanNode, path: str) -> dict[str, Any]:
        return {
            "id": path,
            "label": n.label,
            "node_type": n.node_type,
            "relation": n.relation,
            "index": n.index,
            "startup_cost": n.startup_cost,
            "total_cost": n.total_cost,
            "own_cost": n.exclusive_cost,
            "rows": n.rows,
            "actual_total_ms": n.actual_total_ms,
            "actual_rows": n.actual_rows,
            "loops": n.actual_loops,
            "own_ms": n.exclusive_ms,
            "never_executed": n.actual_loops == 0,
            "conditions": dict(n.conditions),
            "details": _details(n),
            "costliest": n is costliest,
            "children": [node(c, f"{path}.{i}") for i, c in enumerate(n.children)],
        }

    if statement is None and isinstance(item, Explained):
        statement = item.statement
    return {
        "title": "EXPLAIN ANALYZE" if plan.analyzed else "EXPLAIN",
        "summary": summary(item),
        "statement": statement.strip() if statement else None,
        "note": item.note if isinstance(item, Explained) else None,
        "analyzed": plan.analyzed,
        "total_cost": plan.total_cost,
        "planning_ms": plan.planning_ms,
        "execution_ms": plan.execution_ms,
        "warnings": [w.message for w in plan.warnings(seq_scan_rows=seq_scan_rows)],
        "root": node(plan.root, "0"),
    }


def failure_markdown(failure: Failure) -> str:
    """One line for a hover when there is no plan."""
    return f"**EXPLAIN** — {failure.message}"
