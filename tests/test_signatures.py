"""The call around the cursor, its signatures and the active argument."""

from __future__ import annotations

import pytest

from sql_lsp.document import Document
from sql_lsp.signatures import help_at

DDL = Document(
    "file:///s/fn.sql",
    "CREATE FUNCTION add_points(p_user bigint, p_points integer DEFAULT 1, VARIADIC tags text[])"
    " RETURNS SETOF integer LANGUAGE sql AS $$ SELECT 1 $$;\n"
    "CREATE PROCEDURE add_points(a varchar(3)) LANGUAGE sql AS $$ SELECT 1 $$;\n",
)


@pytest.mark.parametrize(
    ("typed", "labels", "active"),
    [
        ("SELECT lower(", ["lower(text) → text"], 0),
        ("SELECT replace(a, ", ["replace(text, from text, to text) → text"], 1),
        ("SELECT coalesce(x, lower(y), ", ["coalesce(value, …) → same as input"], 2),
        ("SELECT lower('a,b', ", ["lower(text) → text"], 1),
        ("SELECT count(*", ["count(expression) → bigint"], 0),
        (
            "SELECT 1;\nSELECT Add_Points(1, ",
            [
                "add_points(p_user bigint, p_points integer = …, tags text[]) → setof integer",
                "add_points(a varchar)",
            ],
            1,
        ),
    ],
)
def test_calls(typed: str, labels: list[str], active: int) -> None:
    found = help_at(Document("file:///q.sql", typed), len(typed), [DDL])
    assert found is not None
    assert [s.label for s in found.signatures] == labels
    assert found.active_parameter == active


@pytest.mark.parametrize(
    "typed",
    [
        "SELECT (a",  # an expression, not a call
        "SELECT x FROM t WHERE id IN (",
        "SELECT left(name, 3) FROM t",  # the call is closed
        "SELECT no_such_function(",
        "SELECT lower(x);",  # after the statement
        "INSERT INTO t (",
    ],
)
def test_no_call(typed: str) -> None:
    assert help_at(Document("file:///q.sql", typed), len(typed), [DDL]) is None


def test_parameter_ranges_cover_each_parameter() -> None:
    typed = "SELECT add_points("
    found = help_at(Document("file:///q.sql", typed), len(typed), [DDL])
    assert found is not None
    sig = found.signatures[0]
    assert [sig.label[a:b] for a, b in sig.parameters] == [
        "p_user bigint",
        "p_points integer = …",
        "tags text[]",
    ]
