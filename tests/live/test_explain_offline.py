"""The parts of the live-database code that need no database: statement checks, placeholder
rewriting, redaction, plan parsing and analysis, rendering, expression normalization."""

from __future__ import annotations

import json

import pytest

from sql_lsp.catalog.postgres import _type_name, pg_expression
from sql_lsp.database import Failure, Problem, one_line, redact
from sql_lsp.explain.plan import parse_plan, seq_scans_with_filter
from sql_lsp.explain.render import (
    failure_markdown,
    format_cost,
    hover_markdown,
    plan_document,
    plan_text,
)
from sql_lsp.explain.run import Checked, Explained, check_statement, to_dollar_params
from sql_lsp.explain.whatif import WhatIf, check_create_index, format_title, worth_it

# --------------------------------------------------------------------------------------------
# placeholders


@pytest.mark.parametrize(
    ("sql", "out", "n"),
    [
        ("SELECT 1", "SELECT 1", 0),
        ("SELECT $1, $2", "SELECT $1, $2", 2),
        ("SELECT %s, %s", "SELECT $1, $2", 2),
        ("SELECT %(a)s, %(b)s, %(a)s", "SELECT $1, $2, $1", 2),
        ("SELECT :a, :b, :a", "SELECT $1, $2, $1", 2),
        ("SELECT ?, ?", "SELECT $1, $2", 2),
        ("SELECT :'name', :name", "SELECT $1, $2", 2),
        ("SELECT x::int, :n::text FROM t", "SELECT x::int, $1::text FROM t", 1),
        (
            "SELECT a[1:2], a[:n], a[lo:hi] FROM t WHERE b = :n",
            "SELECT a[1:2], a[:n], a[lo:hi] FROM t WHERE b = $1",
            1,
        ),
        ("SELECT '%s', ':x', '?', '$1' FROM t", "SELECT '%s', ':x', '?', '$1' FROM t", 0),
        ("SELECT $$ :x %s $$", "SELECT $$ :x %s $$", 0),
        (
            "SELECT * FROM t WHERE d ? 'k' AND id = ?",
            "SELECT * FROM t WHERE d ? 'k' AND id = $1",
            1,
        ),
        (
            "SELECT * FROM t WHERE id IN (?, ?) LIMIT ?",
            "SELECT * FROM t WHERE id IN ($1, $2) LIMIT $3",
            3,
        ),
        ("SELECT $2, %s", "SELECT $2, $3", 3),
        ("SELECT a % b, a %s", "SELECT a % b, a $1", 1),
        ("SELECT :user, :limit", "SELECT $1, $2", 2),
        ('SELECT "col:x" FROM t -- :y', 'SELECT "col:x" FROM t -- :y', 0),
    ],
)
def test_to_dollar_params(sql: str, out: str, n: int):
    assert to_dollar_params(sql) == (out, n)


def test_psql_identifier_variable_cannot_become_a_parameter():
    with pytest.raises(ValueError, match='psql variable :"tbl" names an identifier'):
        to_dollar_params('SELECT * FROM :"tbl"')


# --------------------------------------------------------------------------------------------
# statement checks


@pytest.mark.parametrize(
    ("sql", "kind", "params", "refusal"),
    [
        ("SELECT 1", "select", 0, None),
        ("  -- a comment\nSELECT 1;  ", "select", 0, None),
        ("(SELECT 1) UNION (SELECT 2)", "select", 0, None),
        ("VALUES (1), (2)", "select", 0, None),
        ("TABLE users", "select", 0, None),
        (
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
            "SELECT * FROM r",
            "select",
            0,
            None,
        ),
        (
            "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u",
            "select",
            0,
            "EXPLAIN ANALYZE would run its data-modifying CTE; showing the estimated plan",
        ),
        (
            "SELECT * FROM t WHERE id = :id",
            "select",
            1,
            "EXPLAIN ANALYZE needs values for the parameters; showing the generic plan",
        ),
        (
            "INSERT INTO t VALUES (1)",
            "insert",
            0,
            "EXPLAIN ANALYZE would run this INSERT; showing the estimated plan",
        ),
        (
            "WITH x AS (SELECT 1) DELETE FROM t",
            "delete",
            0,
            "EXPLAIN ANALYZE would run this DELETE; showing the estimated plan",
        ),
    ],
)
def test_check_statement_accepts(sql: str, kind: str, params: int, refusal: str | None):
    checked = check_statement(sql)
    assert isinstance(checked, Checked), checked
    assert (checked.kind, checked.params, checked.analyze_refusal) == (kind, params, refusal)


def test_check_statement_sends_the_statement_only():
    checked = check_statement("-- header\n/* c */ SELECT * FROM t WHERE a = %s; -- trailing\n")
    assert isinstance(checked, Checked)
    assert checked.text == "SELECT * FROM t WHERE a = $1"


@pytest.mark.parametrize(
    ("sql", "problem", "message"),
    [
        ("SELECT 1; SELECT 2", Problem.NOT_ALLOWED, "only a single statement can be explained"),
        ("\\d users", Problem.NOT_ALLOWED, "only a single statement can be explained"),
        ("   ", Problem.NOT_ALLOWED, "no statement to explain"),
        (
            "ALTER TABLE t ADD COLUMN x int",
            Problem.NOT_ALLOWED,
            "ALTER TABLE cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        (
            "CREATE UNIQUE INDEX i ON t (a)",
            Problem.NOT_ALLOWED,
            "CREATE INDEX cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
        ),
        ("SELECT 'unterminated", Problem.SYNTAX, "cannot explain: unterminated quoted string"),
        (
            'SELECT * FROM :"tbl"',
            Problem.NOT_ALLOWED,
            'cannot explain: psql variable :"tbl" names an identifier',
        ),
    ],
)
def test_check_statement_refuses(sql: str, problem: Problem, message: str):
    assert check_statement(sql) == Failure(problem, message)


def test_check_create_index():
    assert check_create_index("CREATE INDEX ON t (a);") == "CREATE INDEX ON t (a)"
    assert check_create_index("create unique index concurrently i on t (lower(a))") == (
        "create unique index concurrently i on t (lower(a))"
    )
    assert check_create_index("SELECT 1") == Failure(
        Problem.NOT_ALLOWED, "expected a CREATE INDEX statement"
    )


# --------------------------------------------------------------------------------------------
# redaction


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("postgresql://bob:s3cr3t@db:5432/app", "postgresql://bob:***@db:5432/app"),
        (
            "postgres://bob:p%40ss@db/app?sslmode=require",
            "postgres://bob:***@db/app?sslmode=require",
        ),
        ("postgresql://bob@db/app", "postgresql://bob@db/app"),
        ("host=db password=s3cr3t user=bob", "host=db password=*** user=bob"),
        ("host=db password='with space' user=bob", "host=db password=*** user=bob"),
        (
            "postgresql://db/app?password=s3cr3t&user=bob",
            "postgresql://db/app?password=***&user=bob",
        ),
        ('missing "=" after "PASSWORD = x"', 'missing "=" after "PASSWORD = ***"'),
    ],
)
def test_redact_patterns(text: str, out: str):
    assert redact(text) == out


def test_redact_known_secrets():
    assert redact("login failed, tried Hunter2!", ["Hunter2!"]) == "login failed, tried ***"
    # short secrets only where they stand alone
    assert redact("abc and xabcx", ["abc"]) == "*** and xabcx"
    assert redact("nothing", ["", "zzz"]) == "nothing"


def test_one_line():
    assert one_line("  first   line\n\tsecond\n") == "first line"
    assert one_line("") == ""


# --------------------------------------------------------------------------------------------
# plans


def node(node_type: str, total: float, rows: int, children: list | None = None, **extra) -> dict:
    d = {
        "Node Type": node_type,
        "Startup Cost": 0.0,
        "Total Cost": total,
        "Plan Rows": rows,
        "Plan Width": 8,
        **extra,
    }
    if children:
        d["Plans"] = children
    return d


JOIN = [
    {
        "Plan": node(
            "Nested Loop",
            52000.0,
            50000,
            [
                node(
                    "Seq Scan",
                    1250.0,
                    50000,
                    **{
                        "Relation Name": "orders",
                        "Alias": "o",
                        "Filter": "(status = 'paid'::text)",
                        "Parent Relationship": "Outer",
                    },
                ),
                node(
                    "Index Scan",
                    0.5,
                    1,
                    **{
                        "Relation Name": "users",
                        "Alias": "u",
                        "Index Name": "users_pkey",
                        "Index Cond": "(id = o.user_id)",
                        "Parent Relationship": "Inner",
                    },
                ),
            ],
            **{"Join Type": "Inner"},
        )
    }
]


def test_parse_plan_and_analysis():
    plan = parse_plan(JOIN, relation_rows={"orders": 60000, "users": 20000})
    assert [(d, n.label) for d, n in plan.nodes()] == [
        (0, "Nested Loop"),
        (1, "Seq Scan on orders o"),
        (1, "Index Scan using users_pkey on users u"),
    ]
    assert plan.total_cost == 52000.0
    assert plan.costliest.label == "Nested Loop"  # 52000 - 1250 - 0.5 of its own
    assert [(w.kind, w.message) for w in plan.warnings()] == [
        (
            "nested-loop",
            "Nested Loop repeats its inner side (Index Scan using users_pkey on users u) for "
            "~50,000 outer rows",
        ),
        (
            "seq-scan",
            "Seq Scan on orders (~60,000 rows) with filter (status = 'paid'::text)",
        ),
    ]
    scans = seq_scans_with_filter(plan, 10_000)
    assert [(s.relation, s.alias, s.filter, s.relation_rows) for s in scans] == [
        ("orders", "o", "(status = 'paid'::text)", 60000)
    ]
    assert seq_scans_with_filter(plan, 60_000) == []
    # without relation sizes an estimated plan says nothing about big scans
    assert seq_scans_with_filter(parse_plan(JOIN), 10) == []
    assert parse_plan(json.dumps(JOIN)).total_cost == 52000.0


def test_parse_plan_rejects_other_json():
    with pytest.raises(ValueError, match="not an EXPLAIN"):
        parse_plan([{"rows": 1}])


ANALYZED = [
    {
        "Plan": node(
            "Sort",
            900.0,
            100,
            [
                node(
                    "Hash Join",
                    400.0,
                    100,
                    [
                        node(
                            "Seq Scan",
                            100.0,
                            10,
                            **{
                                "Relation Name": "items",
                                "Alias": "items",
                                "Filter": "(qty > 1)",
                                "Actual Rows": 10,
                                "Actual Loops": 1,
                                "Actual Startup Time": 0.01,
                                "Actual Total Time": 5.0,
                                "Rows Removed by Filter": 20000,
                            },
                        ),
                        node(
                            "Hash",
                            50.0,
                            10,
                            **{
                                "Hash Batches": 4,
                                "Original Hash Batches": 1,
                                "Peak Memory Usage": 4096,
                                "Actual Rows": 10,
                                "Actual Loops": 1,
                                "Actual Total Time": 1.0,
                            },
                        ),
                    ],
                    **{
                        "Join Type": "Left",
                        "Hash Cond": "(a = b)",
                        "Actual Rows": 100,
                        "Actual Loops": 1,
                        "Actual Total Time": 9.0,
                    },
                )
            ],
            **{
                "Sort Method": "external merge",
                "Sort Space Used": 2048,
                "Sort Space Type": "Disk",
                "Actual Rows": 100,
                "Actual Loops": 1,
                "Actual Startup Time": 11.0,
                "Actual Total Time": 12.5,
            },
        ),
        "Planning Time": 0.2,
        "Execution Time": 12.9,
    }
]


def test_analyzed_plan_warnings_and_times():
    plan = parse_plan(ANALYZED)
    assert plan.analyzed and plan.execution_ms == 12.9 and plan.planning_ms == 0.2
    assert [w.message for w in plan.warnings()] == [
        "Sort spilled to disk (2,048 kB), external merge; more work_mem would keep it in memory",
        "Seq Scan on items (~20,010 rows) with filter (qty > 1)",
        "Hash spilled to disk in 4 batches; more work_mem would keep it in memory",
    ]
    sort = plan.root
    assert sort.exclusive_cost == 500.0
    assert sort.exclusive_ms == 3.5
    assert plan.costliest is sort


def test_plan_text_layout():
    plan = parse_plan(ANALYZED)
    assert plan_text(plan) == (
        "Sort  (cost=0.00..900.00 rows=100) (actual time=11.000..12.500 rows=100 loops=1)"
        "  ◀ costliest\n"
        "  Sort Method: external merge  Disk: 2048kB\n"
        "  ->  Hash Join (Left)  (cost=0.00..400.00 rows=100) (actual time=0.000..9.000 "
        "rows=100 loops=1)\n"
        "        Hash Cond: (a = b)\n"
        "        ->  Seq Scan on items  (cost=0.00..100.00 rows=10) (actual time=0.010..5.000 "
        "rows=10 loops=1)\n"
        "              Filter: (qty > 1)\n"
        "              Rows Removed by Filter: 20000\n"
        "        ->  Hash  (cost=0.00..50.00 rows=10) (actual time=0.000..1.000 rows=10 loops=1)\n"
        "              Batches: 4  Memory Usage: 4096kB\n"
    )


def explained(raw: list, **kw) -> Explained:
    values = {
        "plan": parse_plan(raw, relation_rows={"orders": 60000}),
        "raw": raw,
        "statement": "SELECT * FROM orders o JOIN users u ON u.id = o.user_id WHERE status = $1",
        "analyzed": False,
        "generic": True,
        "params": 1,
        "server_version": 150018,
        "note": None,
    }
    values.update(kw)
    return Explained(**values)


def test_hover_markdown():
    text = hover_markdown(explained(JOIN))
    assert text == (
        "**EXPLAIN** · cost 52000 · ~50,000 rows · generic plan ($1 unknown)\n"
        "\n"
        "```\n"
        "Nested Loop  (cost=0.00..52000.00 rows=50000)  ◀ costliest\n"
        "  ->  Seq Scan on orders o  (cost=0.00..1250.00 rows=50000)\n"
        "        Filter: (status = 'paid'::text)\n"
        "  ->  Index Scan using users_pkey on users u  (cost=0.00..0.50 rows=1)\n"
        "        Index Cond: (id = o.user_id)\n"
        "```\n"
        "\n"
        "- ⚠ Nested Loop repeats its inner side (Index Scan using users_pkey on users u) for "
        "~50,000 outer rows\n"
        "- ⚠ Seq Scan on orders (~60,000 rows) with filter (status = 'paid'::text)"
    )


def test_hover_is_cut_and_notes_shown():
    deep = node("Seq Scan", 10.0, 1, **{"Relation Name": "t", "Alias": "t"})
    for i in range(40):
        deep = node("Limit", 10.0 + i, 1, [deep])
    text = hover_markdown(explained([{"Plan": deep}], note="why not analyzed"), max_nodes=5)
    lines = text.splitlines()
    assert lines[2] == "_why not analyzed_"
    assert "… 36 more nodes" in lines
    assert sum(1 for line in lines if "Limit" in line) == 5


def test_plan_document():
    doc = plan_document(explained(JOIN))
    assert doc.startswith(
        "# EXPLAIN\n\ncost 52000 · ~50,000 rows · generic plan ($1 unknown)\n\n```sql\n"
        "SELECT * FROM orders o JOIN users u ON u.id = o.user_id WHERE status = $1\n```\n"
    )
    assert "## Warnings" in doc
    assert doc.endswith("Costliest node: Nested Loop (own cost 50749.50 of 52000.00)\n")


def test_failure_markdown():
    failure = Failure(Problem.UNAVAILABLE, "database unavailable: refused (next try in 2 s)")
    assert failure_markdown(failure) == (
        "**EXPLAIN** — database unavailable: refused (next try in 2 s)"
    )


@pytest.mark.parametrize(
    ("cost", "text"),
    [(7771.67, "7772"), (100.0, "100"), (23.63, "23.6"), (10.0, "10.0"), (0.424, "0.42")],
)
def test_format_cost(cost: float, text: str):
    assert format_cost(cost) == text


def test_what_if_helpers():
    plan = parse_plan(JOIN)
    result = WhatIf("CREATE INDEX ON orders (user_id)", 7771.67, 23.63, True, "<1>x", plan, plan)
    assert result.improvement_percent == pytest.approx(99.6959, abs=1e-3)
    assert worth_it(result, 30)
    assert not worth_it(WhatIf("", 100.0, 71.0, True, "", plan, plan), 30)
    assert worth_it(WhatIf("", 100.0, 70.0, True, "", plan, plan), 30)
    assert not worth_it(WhatIf("", 100.0, 1.0, False, "", plan, plan), 30)
    assert format_title("orders", ["user_id"], result) == (
        "Create index on orders (user_id) — cost 7772 → 23.6"
    )
    assert format_title("orders", "user_id, created_at DESC", result) == (
        "Create index on orders (user_id, created_at DESC) — cost 7772 → 23.6"
    )


# --------------------------------------------------------------------------------------------
# catalog normalization


@pytest.mark.parametrize(
    ("rendered", "normalized"),
    [
        ("lower(email)", "LOWER(email)"),
        ("lower(username::text)", "LOWER(username)"),
        ("lower(id::text)", "LOWER(CAST(id AS TEXT))"),
        ("(status <> 'done'::text)", "status <> 'done'"),
        ("(created_at::date)", "CAST(created_at AS DATE)"),
        ("(status = ANY (ARRAY['a'::text, 'b'::text]))", "status IN ('a', 'b')"),
        ("(status <> ALL (ARRAY['a'::text, 'b'::text]))", "NOT status IN ('a', 'b')"),
        ("(deleted_at IS NULL)", "deleted_at IS NULL"),
    ],
)
def test_pg_expression(rendered: str, normalized: str):
    types = {"email": "text", "username": "varchar(40)", "id": "bigint"}
    assert pg_expression(rendered, types) == normalized


@pytest.mark.parametrize(
    ("pg", "ours"),
    [
        ("character varying(40)", "varchar(40)"),
        ("timestamp with time zone", "timestamptz"),
        ("numeric(12,2)", "decimal(12, 2)"),
        ("integer", "int"),
        ("text[]", "text[]"),
        ("bit varying(3)", "bit varying(3)"),
    ],
)
def test_type_names(pg: str, ours: str):
    assert _type_name(pg) == ours
