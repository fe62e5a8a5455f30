"""The registry: every rule, explicitly, in the order they are documented."""

from __future__ import annotations

from sql_lsp.rules import (
    analysis_skipped,
    function_on_indexed_column,
    missing_fk_index,
    redundant_index,
    select_star,
    seq_scan_on_large_table,
    syntax_error,
    unused_index,
)
from sql_lsp.rules.base import Rule

ALL_RULES: tuple[Rule, ...] = (
    syntax_error.RULE,
    select_star.RULE,
    function_on_indexed_column.RULE,
    missing_fk_index.RULE,
    redundant_index.RULE,
    unused_index.RULE,
    seq_scan_on_large_table.RULE,
    analysis_skipped.RULE,
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}
