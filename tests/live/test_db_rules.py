"""The database rules (unused-index, seq-scan-on-large-table, index-on-small-table), LiveState and `check
--database-url`, against a database of their own whose statistics are known exactly.

The module creates the `<shop>_dbrules` database from db_rules/001_schema.sql, fills it, resets the
statistics and runs a fixed workload: events_account_idx is scanned 51 times, events is
sequentially scanned 3 times, nothing else is read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from live_support import HERE, LiveServer, url_with

from sql_lsp import cli
from sql_lsp.config import Config, DatabaseSettings, ExplainSettings, RuleSettings
from sql_lsp.database import Failure, Problem
from sql_lsp.document import Document
from sql_lsp.explain.plan import Plan
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.live import DatabaseFacts, LiveState
from sql_lsp.project import build_catalog
from sql_lsp.rules.base import Finding

FIXTURES = HERE / "db_rules"
DB_RULES = ("unused-index", "seq-scan-on-large-table")
DOWN_URL = "postgresql://nobody@127.0.0.1:1/nowhere"

DATA = """
INSERT INTO events (id, ref, kind, account_id, created_at, payload)
SELECT g, 'ref-' || g, (ARRAY['click', 'view', 'buy', 'share'])[1 + g % 4], 1 + g % 1000,
       timestamptz '2024-01-01' + g * interval '1 minute', 'p' || (g % 100)
FROM generate_series(1, 50000) AS g;
INSERT INTO tags SELECT g, 'tag ' || g FROM generate_series(1, 100) AS g;
"""

UNUSED_CREATED = (
    "index events_created_idx was scanned 0 times since the statistics were reset, while "
    "events was read 54 times (3 sequential scans, 51 index scans): it slows down every write "
    "for few or no reads"
)
SEQ_KIND = (
    "sequential scan of events (~50,000 rows) with filter (kind = 'click'::text): every "
    "execution reads the whole table"
)
SEQ_KIND_PAYLOAD = (
    "sequential scan of events (~50,000 rows) with filter ((payload > $2) AND (kind = $1)): "
    "every execution reads the whole table"
)

SMALL = "index-on-small-table"
SMALL_TAGS = (
    "index tags_name_idx is on tags, which the database estimates at ~100 rows: a sequential "
    "scan reads so few pages as fast, so the index is rarely used but slows down every write"
)

SELECT_STAR = (
    "queries.sql:13:8: warning select-star * selects every column of tags; list the columns the "
    "query needs"
)


@dataclasses.dataclass(frozen=True)
class RulesDb:
    url: str  # the read-only role on the database
    admin_url: str


@pytest.fixture(scope="module")
def rules_db(live_pg: LiveServer) -> Iterator[RulesDb]:
    name = f"{psycopg.conninfo.conninfo_to_dict(live_pg.admin_url)['dbname']}_dbrules"
    admin = url_with(live_pg.admin_url, dbname=name)
    with psycopg.connect(live_pg.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION hypopg")
            conn.execute((FIXTURES / "001_schema.sql").read_text(encoding="utf-8"))
            conn.execute(DATA)
            conn.execute("VACUUM ANALYZE")
        # a backend reports its statistics when it closes: reset only after that
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_reset()")
            conn.execute("SET max_parallel_workers_per_gather = 0")
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET enable_bitmapscan = off")
            for n in range(51):
                conn.execute("SELECT id FROM events WHERE account_id = %s", [n + 1]).fetchall()
            conn.execute("RESET enable_seqscan")
            conn.execute("RESET enable_bitmapscan")
            for _ in range(3):
                conn.execute("SELECT count(*) FROM events WHERE kind = 'view'").fetchall()
            conn.execute("SELECT pg_stat_force_next_flush()")
        # closing the connection flushed its statistics
        with psycopg.connect(admin, autocommit=True) as conn:
            seen = conn.execute(
                "SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'events'"
            ).fetchone()
        assert seen == (3, 51)
        yield RulesDb(url=url_with(live_pg.ro_url, dbname=name), admin_url=admin)
    finally:
        with psycopg.connect(live_pg.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def config_for(url: str, **rules: RuleSettings) -> Config:
    return Config(
        database=DatabaseSettings(url=url, connect_timeout_ms=3000, statement_timeout_ms=5000),
        rules=rules,
    )


def workspace() -> tuple[dict[str, Document], list[Document]]:
    docs = {
        p.name: Document(p.as_uri(), p.read_text(encoding="utf-8"))
        for p in sorted(FIXTURES.glob("*.sql"))
    }
    return docs, list(docs.values())


async def lint_with(
    config: Config, rules: tuple[str, ...] = DB_RULES
) -> dict[str, list[tuple[str, int, str]]]:
    """{file: [(rule, line, message)]} of the database rules over the fixture folder."""
    docs, ordered = workspace()
    live = LiveState(config)
    try:
        assert await live.refresh()
        await live.plan_statements(s.text for d in ordered for s in d.statements)
        facts = live.facts()
        assert facts is not None and live.catalog is not None
        catalog = build_catalog(ordered).merge(live.catalog)
        linter = Linter(config)
        return {
            name: _rows(doc, linter.lint(doc, catalog, facts), rules) for name, doc in docs.items()
        }
    finally:
        await live.close()


def _rows(
    doc: Document, findings: list[Finding], rules: tuple[str, ...] = DB_RULES
) -> list[tuple[str, int, str]]:
    return [
        (f.rule, doc.lines.line_of(f.start) + 1, f.message) for f in findings if f.rule in rules
    ]


# -- the rules ---------------------------------------------------------------------------------


async def test_exact_findings(rules_db: RulesDb):
    got = await lint_with(config_for(rules_db.url))
    assert got == {
        "002_pending.sql": [],
        "queries.sql": [
            ("seq-scan-on-large-table", 2, SEQ_KIND),
            ("seq-scan-on-large-table", 5, SEQ_KIND_PAYLOAD),
        ],
        "001_schema.sql": [("unused-index", 15, UNUSED_CREATED)],
    }


async def test_ranges_and_fixes(rules_db: RulesDb):
    config = config_for(rules_db.url)
    docs, ordered = workspace()
    live = LiveState(config)
    try:
        await live.refresh()
        queries = docs["queries.sql"]
        await live.plan_statements(s.text for s in queries.statements)
        catalog = build_catalog(ordered).merge(live.catalog)
        facts = live.facts()
        found = Linter(config).lint(queries, catalog, facts)
    finally:
        await live.close()
    text = queries.text
    seq = [f for f in found if f.rule == "seq-scan-on-large-table"]
    assert [text[f.start : f.end] for f in seq] == ["events", "events"]
    assert [(f.fix.title, f.fix.safety) for f in seq if f.fix] == [
        ("Create index on events (kind)", "unsafe"),
        ("Create index on events (kind, payload)", "unsafe"),
    ]
    fixed, applied = apply_edits(text, [(f.rule, f.fix) for f in seq])
    assert applied == ["seq-scan-on-large-table"] * 2
    assert fixed.splitlines()[1:8] == [
        "SELECT id, created_at FROM events WHERE kind = 'click';",
        "CREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);",
        "",
        "SELECT e.id",
        "FROM events AS e",
        "WHERE e.kind = $1 AND e.payload > $2;",
        "CREATE INDEX CONCURRENTLY events_kind_payload_idx ON events (kind, payload);",
    ]
    # once the workspace declares the index, the scan is the migration's business
    again = Document(queries.uri, fixed)
    catalog = build_catalog([d for d in ordered if d is not queries] + [again])
    assert [f for f in Linter(config).lint(again, catalog, facts) if f.rule in DB_RULES] == []


async def test_thresholds_are_options(rules_db: RulesDb):
    config = config_for(
        rules_db.url,
        **{
            "unused-index": RuleSettings(options={"max_scans": 51}),
            "seq-scan-on-large-table": RuleSettings(options={"min_rows": 50_000}),
        },
    )
    got = await lint_with(config)
    account = UNUSED_CREATED.replace("events_created_idx", "events_account_idx").replace(
        "0 times", "51 times"
    )
    assert got == {
        "002_pending.sql": [],
        "queries.sql": [],  # events has 50,000 rows, not more
        "001_schema.sql": [("unused-index", 14, account), ("unused-index", 15, UNUSED_CREATED)],
    }


async def test_index_on_small_table(rules_db: RulesDb):
    got = await lint_with(config_for(rules_db.url), (SMALL,))
    # events has 50,000 rows; events_ref_idx is unique, the primary keys are constraints
    assert got == {
        "002_pending.sql": [],
        "queries.sql": [],
        "001_schema.sql": [(SMALL, 17, SMALL_TAGS)],
    }
    docs, _ = workspace()
    schema = docs["001_schema.sql"]
    line = schema.text.splitlines()[16]
    assert line == "CREATE INDEX tags_name_idx ON tags (name);"


async def test_index_on_small_table_threshold(rules_db: RulesDb):
    config = config_for(rules_db.url, **{SMALL: RuleSettings(options={"min_rows": 50_001})})
    got = await lint_with(config, (SMALL,))
    events = (
        "which the database estimates at ~50,000 rows: a sequential scan reads so few pages as "
        "fast, so the index is rarely used but slows down every write"
    )
    assert got == {
        # the pending index is judged by its table's rows, before it exists
        "002_pending.sql": [(SMALL, 2, f"index events_payload_idx is on events, {events}")],
        "queries.sql": [],
        "001_schema.sql": [
            (SMALL, 14, f"index events_account_idx is on events, {events}"),
            (SMALL, 15, f"index events_created_idx is on events, {events}"),
            (SMALL, 17, SMALL_TAGS),
        ],
    }
    # a threshold at the row count itself: 100 rows are not fewer than 100
    config = config_for(rules_db.url, **{SMALL: RuleSettings(options={"min_rows": 100})})
    assert await lint_with(config, (SMALL,)) == {
        "002_pending.sql": [],
        "queries.sql": [],
        "001_schema.sql": [],
    }


async def test_silent_without_a_database(monkeypatch: pytest.MonkeyPatch):
    for name in ("SQL_LSP_DATABASE_URL", "PGHOST", "PGDATABASE", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    _, ordered = workspace()
    catalog = build_catalog(ordered)
    for doc in ordered:
        found = Linter(Config()).lint(doc, catalog)
        assert [f for f in found if f.rule in (*DB_RULES, SMALL)] == []
    live = LiveState(Config())
    assert not live.configured and live.facts() is None
    assert await live.refresh() is False
    assert await live.plan_statements(["SELECT 1"]) is False
    assert await live.what_if("SELECT 1", "CREATE INDEX ON t (a)") is None
    await live.close()


async def test_arriving_plans_reach_the_same_linter(rules_db: RulesDb):
    """The lint cache keys on the facts: a plan that arrives re-checks its statement."""
    config = config_for(rules_db.url)
    docs, ordered = workspace()
    queries = docs["queries.sql"]
    catalog = build_catalog(ordered)
    linter = Linter(config)
    live = LiveState(config)
    try:
        facts = live.facts()
        assert _rows(queries, linter.lint(queries, catalog, facts)) == []
        first = queries.statements[0].text
        assert await live.plan_statements([first]) is True
        assert _rows(queries, linter.lint(queries, catalog, facts)) == [
            ("seq-scan-on-large-table", 2, SEQ_KIND)
        ]
        # the same plan seen through fixed facts, and none at all without facts
        fixed = DatabaseFacts.of(None, {first: facts.plan(first)})  # type: ignore[dict-item]
        assert _rows(queries, linter.lint(queries, catalog, fixed)) == [
            ("seq-scan-on-large-table", 2, SEQ_KIND)
        ]
        assert _rows(queries, linter.lint(queries, catalog)) == []
    finally:
        await live.close()


async def test_silent_when_the_database_is_down():
    config = config_for(DOWN_URL)
    docs, ordered = workspace()
    live = LiveState(config)
    try:
        assert await live.refresh() is False
        assert live.catalog is None
        assert live.failure is not None and live.failure.problem == Problem.UNAVAILABLE
        assert "\n" not in live.failure.message
        queries = docs["queries.sql"]
        texts = [s.text for s in queries.statements]
        assert await live.plan_statements(texts) is True  # failures are results too
        attempts = live.db.connect_attempts
        sent = live.explains
        # cached: asked again at once, nothing is sent and nobody connects
        assert await live.plan_statements(texts) is False
        result = await live.plan(texts[1])
        assert isinstance(result, Failure) and result.problem == Problem.UNAVAILABLE
        assert (live.db.connect_attempts, live.explains) == (attempts, sent)
        facts = live.facts()
        assert facts is not None and facts.plan(texts[1]) is None
        for doc in ordered:
            found = Linter(config).lint(doc, build_catalog(ordered), facts)
            assert [f for f in found if f.rule in (*DB_RULES, SMALL)] == []
    finally:
        await live.close()


# -- LiveState ---------------------------------------------------------------------------------


async def test_plan_cache_does_not_replan_identical_text(rules_db: RulesDb):
    live = LiveState(config_for(rules_db.url))
    try:
        await live.refresh()
        sql = "SELECT id FROM events WHERE kind = 'buy'"
        assert await live.plan_statements([sql, sql]) is True
        assert live.explains == 1
        facts = live.facts()
        assert facts is not None
        plan = facts.plan(sql)
        assert isinstance(plan, Plan) and plan.root.node_type == "Seq Scan"
        stamp = facts.stamp(sql)
        assert await live.plan_statements([sql]) is False
        assert await live.plan(sql) is plan
        assert live.explains == 1 and facts.stamp(sql) == stamp
        # a statement that cannot be explained is refused without asking the database
        refused = await live.plan("CREATE INDEX ON events (kind)")
        assert isinstance(refused, Failure) and refused.problem == Problem.NOT_ALLOWED
        assert live.explains == 1
        # an unchanged catalog keeps the plans; a new one (another database) drops them
        assert await live.refresh() is False
        assert await live.plan(sql) is plan
        other = dataclasses.replace(live.config.database, statement_timeout_ms=4000)
        assert await live.apply_config(dataclasses.replace(live.config, database=other))
        assert live.catalog is None and facts.plan(sql) is None
        assert await live.refresh() is True
        assert await live.plan(sql) is not plan and live.explains == 2
    finally:
        await live.close()


async def test_concurrent_requests_share_one_explain(rules_db: RulesDb):
    live = LiveState(config_for(rules_db.url))
    try:
        sql = "SELECT id FROM events WHERE payload = 'p1'"
        first, second = await asyncio.gather(live.plan(sql), live.plan(sql))
        assert first is second and live.explains == 1
    finally:
        await live.close()


async def test_what_if(rules_db: RulesDb):
    config = config_for(rules_db.url)
    live = LiveState(config)
    sql = "SELECT id, created_at FROM events WHERE kind = 'click' AND payload = 'p7'"
    try:
        good = await live.what_if(sql, "CREATE INDEX ON events (payload)")
        assert good is not None and good.index_used and good.cost_after < good.cost_before
        # an index the plan would not use is not worth offering
        assert await live.what_if(sql, "CREATE INDEX ON events (created_at)") is None
        facts = live.facts()
        assert facts is not None
        assert facts.what_if(sql, "CREATE INDEX ON events (payload)") is good
        # explain.hypopg off: nothing is priced
        off = dataclasses.replace(config, explain=ExplainSettings(hypopg=False))
        assert not await live.apply_config(off)
        assert await live.what_if(sql, "CREATE INDEX ON events (payload)") is None
    finally:
        await live.close()


# -- the command line --------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(FIXTURES, folder)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("SQL_LSP_DATABASE_URL", raising=False)
    return folder


def test_cli_with_database_url(rules_db: RulesDb, project: Path, capsys: pytest.CaptureFixture):
    code = cli.main(["check", "--database-url", rules_db.url, "."])
    out, err = capsys.readouterr()
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"001_schema.sql:15:14: info unused-index {UNUSED_CREATED}",
        f"001_schema.sql:17:1: info {SMALL} {SMALL_TAGS}",
        f"queries.sql:2:28: warning seq-scan-on-large-table {SEQ_KIND}",
        f"queries.sql:5:6: warning seq-scan-on-large-table {SEQ_KIND_PAYLOAD}",
        SELECT_STAR,
    ]


def test_cli_takes_the_url_from_the_environment(
    rules_db: RulesDb, project: Path, capsys: pytest.CaptureFixture, monkeypatch
):
    monkeypatch.setenv("SQL_LSP_DATABASE_URL", rules_db.url)
    code = cli.main(["check", "--format", "json", "001_schema.sql"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")  # unused-index is only info
    assert [(f["rule"], f["line"], f["column"], f["fix"]) for f in json.loads(out)] == [
        ("unused-index", 15, 14, None),
        (SMALL, 17, 1, None),
    ]


def test_cli_with_a_database_that_is_down(project: Path, capsys: pytest.CaptureFixture):
    code = cli.main(["check", "--database-url", DOWN_URL, "."])
    out, err = capsys.readouterr()
    assert code == 1  # the offline rules still found something
    assert out.splitlines() == [SELECT_STAR]
    assert err.count("\n") == 1
    assert err == (
        'sql-lsp: warning: database unavailable: connection to server at "127.0.0.1", port 1 '
        "failed: Connection refused; checking without the database rules\n"
    )


def test_cli_with_a_bad_database_url(project: Path, capsys: pytest.CaptureFixture):
    code = cli.main(["check", "--database-url", "host=x port=notanumber 'oops", "."])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("sql-lsp: error: invalid database.url: ")


async def test_hypopg_prices_the_fix(rules_db: RulesDb):
    """Once HypoPG has priced the fix's index, its title shows the cost change; an index the
    planner would not use loses its fix (the finding stays)."""
    config = config_for(rules_db.url)
    docs, ordered = workspace()
    queries = docs["queries.sql"]
    live = LiveState(config)
    try:
        await live.refresh()
        first, second = (s.text for s in queries.statements[:2])
        await live.plan_statements([first, second])
        catalog = build_catalog(ordered).merge(live.catalog)
        linter = Linter(config)
        create_kind = "CREATE INDEX CONCURRENTLY events_kind_idx ON events (kind)"
        create_both = "CREATE INDEX CONCURRENTLY events_kind_payload_idx ON events (kind, payload)"
        await live.what_if(first, create_kind)
        await live.what_if(second, create_both)
        found = [f for f in linter.lint(queries, catalog, live.facts()) if f.rule in DB_RULES]
    finally:
        await live.close()
    assert [(f.message, f.fix.title if f.fix else None) for f in found] == [
        (SEQ_KIND, None),  # a quarter of the rows are clicks: the planner keeps its scan
        (
            SEQ_KIND_PAYLOAD,
            "Create index on events (kind, payload) — cost 1218 → 661",
        ),
    ]
