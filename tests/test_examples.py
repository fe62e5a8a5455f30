"""`sql-lsp check examples/` reports exactly the findings the examples explain in comments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sql_lsp.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent

# (file, line, rule): each one has a comment line above it in the example saying why.
EXPECTED = {
    ("examples/migrations/001_users.sql", 14, "redundant-index"),
    ("examples/migrations/002_orders.sql", 7, "missing-fk-index"),
    ("examples/queries/orders.sql", 3, "function-on-indexed-column"),
    ("examples/queries/orders.sql", 11, "syntax-error"),
    ("examples/queries/orders.sql", 22, "unknown-table"),
    ("examples/queries/users.sql", 3, "select-star"),
    ("examples/queries/users.sql", 7, "function-on-indexed-column"),
    ("examples/queries/reports.sql", 3, "null-comparison"),
    ("examples/queries/maintenance.sql", 2, "update-without-where"),
    ("examples/queries/maintenance.sql", 5, "delete-without-where"),
    ("examples/queries/reports.sql", 7, "not-in-subquery"),
    ("examples/queries/reports.sql", 14, "order-by-random"),
    ("examples/queries/reports.sql", 18, "large-offset"),
    ("examples/queries/reports.sql", 24, "limit-without-order-by"),
    ("examples/queries/reports.sql", 11, "count-for-existence"),
    ("examples/queries/maintenance.sql", 12, "insert-without-columns"),
    ("examples/queries/reports.sql", 27, "implicit-cross-join"),
    ("examples/migrations/005_roles.sql", 5, "plaintext-password"),
    ("examples/migrations/005_roles.sql", 8, "grant-all"),
    ("examples/migrations/005_roles.sql", 14, "grant-to-public"),
    ("examples/migrations/005_roles.sql", 18, "security-definer-search-path"),
    ("examples/migrations/004_coupons.sql", 18, "non-concurrent-index"),
    ("examples/migrations/004_coupons.sql", 14, "foreign-key-not-valid"),
    ("examples/migrations/006_reviews.sql", 9, "inline-index-definition"),
    ("examples/migrations/006_reviews.sql", 5, "missing-foreign-key"),
    ("examples/queries/users.sql", 14, "unknown-column"),
    ("examples/migrations/007_audit.sql", 3, "missing-primary-key"),
    ("examples/migrations/007_audit.sql", 11, "float-for-money"),
    ("examples/migrations/007_audit.sql", 17, "timestamp-without-time-zone"),
    ("examples/migrations/007_audit.sql", 25, "low-cardinality-index"),
    ("examples/migrations/008_order_totals.sql", 3, "column-type-rewrite"),
    ("examples/queries/functions.sql", 8, "query-in-loop"),
    ("examples/queries/functions.sql", 17, "dynamic-sql-injection"),
    ("examples/queries/functions.sql", 23, "select-star"),
    ("examples/queries/functions.sql", 27, "repeated-query"),
    ("examples/queries/functions.sql", 29, "repeated-query"),
    ("examples/queries/functions.sql", 31, "repeated-query"),
    ("examples/migrations/009_catalogue.sql", 4, "repeating-column-group"),
    ("examples/migrations/009_catalogue.sql", 8, "multi-valued-column"),
    ("examples/migrations/009_catalogue.sql", 12, "wide-column-index"),
    ("examples/queries/joins.sql", 3, "outer-join-nullified"),
    ("examples/queries/joins.sql", 6, "correlated-subquery"),
    ("examples/queries/joins.sql", 10, "leading-wildcard-like"),
    ("examples/queries/joins.sql", 14, "index-column-order"),
}
# rules that need a live database and stay silent offline
DATABASE_RULES = {r.id for r in ALL_RULES if r.needs == "database"}


def _check_examples() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sql_lsp", "check", "examples/", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},  # no PG* variables: offline
    )


def test_examples_findings() -> None:
    proc = _check_examples()
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    found = {(f["path"], f["line"], f["rule"]) for f in json.loads(proc.stdout)}
    assert found == EXPECTED


def test_every_offline_rule_fires_in_the_examples() -> None:
    # analysis-skipped needs a 200 kB statement: its own fixture has one, the examples do not
    offline = {r.id for r in ALL_RULES} - DATABASE_RULES - {"analysis-skipped"}
    assert offline <= {rule for _, _, rule in EXPECTED}


def test_each_finding_is_explained_by_the_comment_above() -> None:
    for path, line, rule in EXPECTED:
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        above = lines[: line - 1]
        comment = []
        for text in reversed(above):
            if not text.strip().startswith("--"):
                break
            comment.append(text)
        assert any(f"{rule}:" in c for c in comment), f"{path}:{line}: no comment explains {rule}"
