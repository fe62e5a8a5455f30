"""The registry: every rule, explicitly, in the order they are documented."""

from __future__ import annotations

from sql_lsp.rules import (
    analysis_skipped,
    count_for_existence,
    delete_without_where,
    foreign_key_not_valid,
    function_on_indexed_column,
    grant_all,
    grant_to_public,
    implicit_cross_join,
    inline_index_definition,
    insert_without_columns,
    large_offset,
    limit_without_order_by,
    missing_fk_index,
    non_concurrent_index,
    not_in_subquery,
    null_comparison,
    order_by_random,
    plaintext_password,
    redundant_index,
    security_definer_search_path,
    select_star,
    seq_scan_on_large_table,
    syntax_error,
    unused_index,
    update_without_where,
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
    null_comparison.RULE,
    update_without_where.RULE,
    delete_without_where.RULE,
    not_in_subquery.RULE,
    order_by_random.RULE,
    large_offset.RULE,
    limit_without_order_by.RULE,
    count_for_existence.RULE,
    insert_without_columns.RULE,
    implicit_cross_join.RULE,
    plaintext_password.RULE,
    grant_all.RULE,
    grant_to_public.RULE,
    security_definer_search_path.RULE,
    non_concurrent_index.RULE,
    foreign_key_not_valid.RULE,
    inline_index_definition.RULE,
    analysis_skipped.RULE,
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}
