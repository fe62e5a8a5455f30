"""EXPLAIN (FORMAT JSON) output as a small tree of plan nodes, and what is worth pointing out.

`parse_plan(raw)` turns PostgreSQL's JSON into `Plan` / `PlanNode`. Analysis on top:

- `Plan.costliest`: the node with the highest exclusive cost (its own cost, children excluded);
- `Plan.warnings(...)`: a sequential scan with a filter over a big relation, a sort or hash that
  spilled to disk (analyzed plans), a nested loop whose outer side is large;
- `seq_scans_with_filter(plan, min_rows)`: the facts the `seq-scan-on-large-table` rule needs.

Relation sizes are not part of EXPLAIN's output; `parse_plan` takes them as `relation_rows`
(`explain.run` reads them from pg_class in the same transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# the conditions a node can carry, in the order they are shown
CONDITION_KEYS = (
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Filter",
    "One-Time Filter",
    "TID Cond",
)

# how EXPLAIN's text format names an Aggregate node, by strategy
_AGGREGATE_NAMES = {
    "Hashed": "HashAggregate",
    "Sorted": "GroupAggregate",
    "Mixed": "MixedAggregate",
}

DEFAULT_SEQ_SCAN_ROWS = 10_000
DEFAULT_NESTED_LOOP_ROWS = 10_000


@dataclass
class PlanNode:
    """One node of a plan. Costs are PostgreSQL's estimates; `actual_*` are set when analyzed
    (`actual_rows` and `actual_total_ms` are per loop, as EXPLAIN reports them)."""

    node_type: str
    startup_cost: float
    total_cost: float
    rows: int
    width: int = 0
    relation: str | None = None
    schema: str | None = None
    alias: str | None = None
    index: str | None = None
    relation_rows: int | None = None  # estimated rows of the scanned relation (pg_class)
    join_type: str | None = None
    strategy: str | None = None
    parent_relationship: str | None = None
    subplan_name: str | None = None
    conditions: dict[str, str] = field(default_factory=dict)
    actual_rows: float | None = None
    actual_loops: int | None = None
    actual_startup_ms: float | None = None
    actual_total_ms: float | None = None
    rows_removed_by_filter: float | None = None
    sort_method: str | None = None
    sort_space_type: str | None = None  # "Memory" or "Disk"
    sort_space_kb: int | None = None
    hash_batches: int | None = None
    original_hash_batches: int | None = None
    peak_memory_kb: int | None = None
    children: list[PlanNode] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """`Seq Scan on orders o`, `Index Scan using orders_pkey on orders`, `Hash Join`, ..."""
        head = self.node_type
        joins = ("Hash Join", "Merge Join", "Nested Loop")
        if self.join_type and self.join_type != "Inner" and self.node_type in joins:
            head = f"{self.node_type} ({self.join_type})"
        if self.node_type == "Aggregate" and self.strategy in _AGGREGATE_NAMES:
            head = _AGGREGATE_NAMES[self.strategy]
        if self.index:
            head += f" using {self.index}"
        if self.relation:
            head += f" on {self.relation}"
            if self.alias and self.alias != self.relation:
                head += f" {self.alias}"
        if self.subplan_name:
            head = f"{self.subplan_name}: {head}"
        return head

    @property
    def exclusive_cost(self) -> float:
        """This node's own estimated cost: its total minus its children's totals."""
        inner = sum(c.total_cost for c in self.children)
        return max(0.0, self.total_cost - inner)

    @property
    def exclusive_ms(self) -> float | None:
        """This node's own time over all loops (analyzed plans only)."""
        if self.actual_total_ms is None:
            return None
        mine = self.actual_total_ms * (self.actual_loops or 1)
        for c in self.children:
            if c.actual_total_ms is not None:
                mine -= c.actual_total_ms * (c.actual_loops or 1)
        return max(0.0, mine)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, PlanNode]]:
        """(depth, node) for this node and every descendant, parents first."""
        yield depth, self
        for c in self.children:
            yield from c.walk(depth + 1)


@dataclass(frozen=True)
class PlanWarning:
    """Something in a plan worth a look: `kind` (seq-scan, sort-spill, hash-spill,
    nested-loop), a one-line `message`, and the node it is about."""

    kind: str
    message: str
    node: PlanNode


@dataclass(frozen=True)
class SeqScan:
    """A sequential scan with a filter: what the `seq-scan-on-large-table` rule reports."""

    relation: str
    schema: str | None
    alias: str | None
    filter: str
    relation_rows: int
    node: PlanNode


@dataclass
class Plan:
    """A parsed plan: the root node plus the timings EXPLAIN reports."""

    root: PlanNode
    analyzed: bool = False
    planning_ms: float | None = None
    execution_ms: float | None = None

    @property
    def total_cost(self) -> float:
        return self.root.total_cost

    def nodes(self) -> Iterator[tuple[int, PlanNode]]:
        """(depth, node) in display order."""
        return self.root.walk()

    @property
    def costliest(self) -> PlanNode:
        """The node with the highest exclusive (own) estimated cost; the first one on ties."""
        best = self.root
        for _, node in self.nodes():
            if node.exclusive_cost > best.exclusive_cost:
                best = node
        return best

    def warnings(
        self,
        *,
        seq_scan_rows: int = DEFAULT_SEQ_SCAN_ROWS,
        nested_loop_rows: int = DEFAULT_NESTED_LOOP_ROWS,
    ) -> list[PlanWarning]:
        """What deserves a look, in plan order."""
        out: list[PlanWarning] = []
        big_scans = {id(s.node): s for s in seq_scans_with_filter(self, seq_scan_rows)}
        for _, node in self.nodes():
            scan = big_scans.get(id(node))
            if scan is not None:
                out.append(
                    PlanWarning(
                        "seq-scan",
                        f"Seq Scan on {scan.relation} (~{scan.relation_rows:,} rows) "
                        f"with filter {scan.filter}",
                        node,
                    )
                )
            if node.sort_space_type == "Disk":
                size = f" ({node.sort_space_kb:,} kB)" if node.sort_space_kb is not None else ""
                method = f", {node.sort_method}" if node.sort_method else ""
                out.append(
                    PlanWarning(
                        "sort-spill",
                        f"Sort spilled to disk{size}{method}; more work_mem would keep it in memory",
                        node,
                    )
                )
            if node.hash_batches is not None and node.hash_batches > 1:
                out.append(
                    PlanWarning(
                        "hash-spill",
                        f"Hash spilled to disk in {node.hash_batches} batches; more work_mem "
                        "would keep it in memory",
                        node,
                    )
                )
            if node.node_type == "Nested Loop" and node.children:
                outer = _outer_child(node)
                outer_rows = _rows_out(outer)
                if outer_rows > nested_loop_rows:
                    inner = next((c for c in node.children if c is not outer), None)
                    what = f" ({inner.label})" if inner is not None else ""
                    out.append(
                        PlanWarning(
                            "nested-loop",
                            f"Nested Loop repeats its inner side{what} for ~{outer_rows:,.0f} "
                            "outer rows",
                            node,
                        )
                    )
        return out


def _outer_child(node: PlanNode) -> PlanNode:
    for c in node.children:
        if c.parent_relationship == "Outer":
            return c
    return node.children[0]


def _rows_out(node: PlanNode) -> float:
    if node.actual_rows is not None:
        return node.actual_rows * (node.actual_loops or 1)
    return float(node.rows)


def seq_scans_with_filter(plan: Plan, min_rows: int = DEFAULT_SEQ_SCAN_ROWS) -> list[SeqScan]:
    """Sequential scans with a filter over relations of more than `min_rows` estimated rows.

    The relation's size is its pg_class estimate when known (`relation_rows`); for analyzed
    plans without it, the rows the scan read (kept plus removed by the filter).
    """
    out: list[SeqScan] = []
    for _, node in plan.nodes():
        if node.node_type != "Seq Scan" or node.relation is None:
            continue
        filt = node.conditions.get("Filter")
        if not filt:
            continue
        size = node.relation_rows
        if size is None and node.actual_rows is not None:
            size = int(node.actual_rows + (node.rows_removed_by_filter or 0))
        if size is None or size <= min_rows:
            continue
        out.append(SeqScan(node.relation, node.schema, node.alias, filt, size, node))
    return out


def parse_plan(raw: Any, relation_rows: Mapping[str, int] | None = None) -> Plan:
    """A `Plan` from EXPLAIN (FORMAT JSON) output (the list PostgreSQL returns, its first
    element, or a JSON string of either). `relation_rows` maps a relation name as it appears in
    the plan to its estimated row count. Raises ValueError when `raw` is not a plan."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    doc = raw[0] if isinstance(raw, list) and raw else raw
    if not isinstance(doc, dict) or not isinstance(doc.get("Plan"), dict):
        raise ValueError("not an EXPLAIN (FORMAT JSON) document")
    sizes = relation_rows or {}
    root = _node(doc["Plan"], sizes)
    analyzed = "Execution Time" in doc or root.actual_loops is not None
    return Plan(
        root=root,
        analyzed=analyzed,
        planning_ms=_float(doc.get("Planning Time")),
        execution_ms=_float(doc.get("Execution Time")),
    )


def _node(d: dict[str, Any], sizes: Mapping[str, int]) -> PlanNode:
    relation = d.get("Relation Name")
    node = PlanNode(
        node_type=str(d.get("Node Type", "?")),
        startup_cost=_float(d.get("Startup Cost")) or 0.0,
        total_cost=_float(d.get("Total Cost")) or 0.0,
        rows=int(d.get("Plan Rows") or 0),
        width=int(d.get("Plan Width") or 0),
        relation=relation,
        schema=d.get("Schema"),
        alias=d.get("Alias"),
        index=d.get("Index Name"),
        relation_rows=sizes.get(relation) if relation else None,
        join_type=d.get("Join Type"),
        strategy=d.get("Strategy"),
        parent_relationship=d.get("Parent Relationship"),
        subplan_name=d.get("Subplan Name"),
        conditions={k: str(d[k]) for k in CONDITION_KEYS if d.get(k)},
        actual_rows=_float(d.get("Actual Rows")),
        actual_loops=_int(d.get("Actual Loops")),
        actual_startup_ms=_float(d.get("Actual Startup Time")),
        actual_total_ms=_float(d.get("Actual Total Time")),
        rows_removed_by_filter=_float(d.get("Rows Removed by Filter")),
        sort_method=d.get("Sort Method"),
        sort_space_type=d.get("Sort Space Type"),
        sort_space_kb=_int(d.get("Sort Space Used")),
        hash_batches=_int(d.get("Hash Batches")),
        original_hash_batches=_int(d.get("Original Hash Batches")),
        peak_memory_kb=_int(d.get("Peak Memory Usage")),
        raw={k: v for k, v in d.items() if k != "Plans"},
    )
    node.children = [_node(c, sizes) for c in d.get("Plans") or [] if isinstance(c, dict)]
    return node


def _float(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
