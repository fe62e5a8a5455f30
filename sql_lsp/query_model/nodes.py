"""The nodes of a statement's tree, from one walk per statement text: what rules would
otherwise find with one `find_all` walk each (a dozen of them on a query)."""

from __future__ import annotations

from sqlglot import exp

from sql_lsp.statements import Parsed


class NodeIndex:
    """Every node of one tree in the order sqlglot's `find_all` yields them (breadth first),
    and the nodes of each set of types asked for."""

    __slots__ = ("_all", "_found")

    def __init__(self, tree: exp.Expression) -> None:
        self._all = list(tree.walk())
        self._found: dict[tuple[type, ...], list[exp.Expression]] = {}

    @property
    def nodes(self) -> list[exp.Expression]:
        """Every node of the tree (`statements.dismantle` unlinks them without a walk)."""
        return self._all

    def find_all(self, types: tuple[type, ...]) -> list[exp.Expression]:
        """The nodes that are instances of any of `types` (shared: do not modify it)."""
        found = self._found.get(types)
        if found is None:
            found = self._found[types] = [n for n in self._all if isinstance(n, types)]
        return found


def find_all(parsed: Parsed, types: tuple[type, ...]) -> list[exp.Expression]:
    """`parsed.tree.find_all(*types)` as a list, from the statement's one walk."""
    if parsed.tree is None:
        return []
    index = parsed.memo.get("nodes")
    if index is None:
        index = parsed.memo["nodes"] = NodeIndex(parsed.tree)
    assert isinstance(index, NodeIndex)
    return index.find_all(types)
