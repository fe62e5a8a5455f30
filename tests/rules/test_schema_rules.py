"""Exact spans and messages of the schema-design rules (the fixtures check the lines)."""

from __future__ import annotations

import pytest

from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog
from sql_lsp.rules.base import Edit

SCHEMA = """CREATE TABLE audit_log (at timestamptz NOT NULL);
CREATE TABLE refunds (id bigint PRIMARY KEY, unit_price real, seen timestamp(3), active bool);
CREATE INDEX refunds_active_idx ON refunds (active);
ALTER TABLE refunds ADD COLUMN fee_usd double precision;
"""


def _found(rule: str) -> list[tuple[str, str]]:
    doc = Document("file:///schema.sql", SCHEMA)
    findings = Linter().lint(doc, build_catalog([doc]))
    return [(SCHEMA[f.start : f.end], f.message) for f in findings if f.rule == rule]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "missing-primary-key",
            [
                (
                    "audit_log",
                    "table audit_log has no primary key: nothing identifies its rows (duplicates, "
                    "no foreign key to it, no UPDATE/DELETE under logical replication); add one",
                )
            ],
        ),
        (
            "float-for-money",
            [
                (
                    "unit_price",
                    "refunds.unit_price holds money in real, which cannot store most decimal "
                    "amounts exactly (sums drift, equal amounts compare unequal); use numeric",
                ),
                (
                    "fee_usd",
                    "refunds.fee_usd holds money in double precision, which cannot store most "
                    "decimal amounts exactly (sums drift, equal amounts compare unequal); use numeric",
                ),
            ],
        ),
        (
            "timestamp-without-time-zone",
            [
                (
                    "seen",
                    "refunds.seen is a timestamp without time zone: its values mean different "
                    "instants in different time zones; use timestamptz",
                )
            ],
        ),
        (
            "low-cardinality-index",
            [
                (
                    "CREATE INDEX refunds_active_idx ON refunds (active)",
                    "index refunds_active_idx on refunds (active) has a boolean as its only key: "
                    "it is not used for the common value; use a partial index (… WHERE active or "
                    "WHERE NOT active)",
                )
            ],
        ),
    ],
)
def test_span_and_message(rule: str, expected: list[tuple[str, str]]) -> None:
    assert _found(rule) == expected


DESIGN = """CREATE TABLE customers (id bigint PRIMARY KEY, phone1 text, phone2 text, phone3 text);
CREATE TABLE posts (id bigint PRIMARY KEY, customer_id bigint, tag_ids text, doc jsonb);
CREATE INDEX posts_doc_idx ON posts (doc);
"""


def _design(rule: str) -> list[tuple[str, str]]:
    doc = Document("file:///design.sql", DESIGN)
    findings = Linter().lint(doc, build_catalog([doc]))
    return [(DESIGN[f.start : f.end], f.message) for f in findings if f.rule == rule]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "repeating-column-group",
            [
                (
                    "phone1",
                    "customers.phone1 starts a repeating group (phone1, phone2, phone3): one "
                    "column per value breaks first normal form (fixed slots, every query tests "
                    "each column); use a child table with one row per value, or an array",
                )
            ],
        ),
        (
            "multi-valued-column",
            [
                (
                    "tag_ids",
                    "posts.tag_ids holds a list in text: no foreign key checks it and no index "
                    "serves a search for one value; use an array or a join table",
                )
            ],
        ),
        (
            "missing-foreign-key",
            [
                (
                    "customer_id",
                    "posts.customer_id looks like a reference to customers (id, same type) but no "
                    "foreign key checks it: orphan rows go unnoticed; add REFERENCES customers (id)",
                )
            ],
        ),
        (
            "wide-column-index",
            [
                (
                    "CREATE INDEX posts_doc_idx ON posts (doc)",
                    "btree index posts_doc_idx on posts (doc) keys on a jsonb: a btree serves only "
                    "whole-value comparisons and fails on values over ~2.7 kB; use a GIN index "
                    "(jsonb_path_ops) or a btree on the expression queries compare",
                )
            ],
        ),
    ],
)
def test_design_span_and_message(rule: str, expected: list[tuple[str, str]]) -> None:
    assert _design(rule) == expected


def test_missing_foreign_key_fix() -> None:
    doc = Document("file:///design.sql", DESIGN)
    (finding,) = [
        f for f in Linter().lint(doc, build_catalog([doc])) if f.rule == "missing-foreign-key"
    ]
    fix = finding.fix
    assert fix is not None
    assert (fix.title, fix.safety) == ("Add foreign key posts (customer_id) → customers", "unsafe")
    at = DESIGN.index("\n", DESIGN.index("CREATE TABLE posts"))
    assert fix.edits == (
        Edit(
            at,
            at,
            "\nALTER TABLE posts ADD FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
        ),
    )
