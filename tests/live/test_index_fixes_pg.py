"""The index fixes and the cast verdicts, proven on the suite's PostgreSQL.

- Each index fix (missing-fk-index, function-on-indexed-column's expression index,
  redundant-index) is applied by `sql-lsp check --fix` to a file that sets search_path as pg_dump
  does (`''`) and to one that works in a custom schema; the fixed file is loaded with psql, and
  the new index must exist with the intended definition (`pg_get_indexdef`), and the query the
  expression index was made for must use it.
- A cast is reported by function-on-indexed-column exactly when EXPLAIN shows that PostgreSQL
  cannot use the column's index through it.
- `--fix` over every folder of the real-world corpus (`../shared/corpus`, copied): every fixed
  file loads as well as the original did, and holds the indexes the fixes added.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from live_support import LiveServer, url_with
from pg_cluster import find_bindir

from sql_lsp.catalog.model import Catalog
from sql_lsp.catalog.postgres import load_catalog
from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"

NewDatabase = Callable[[], str]


def _psql() -> str:
    path = find_bindir() / "psql"
    found = str(path) if path.is_file() else shutil.which("psql")
    assert found, "psql not found: run scripts/ensure-postgres"
    return found


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SQL_LSP_"))}


@pytest.fixture(scope="module")
def new_database(live_pg: LiveServer) -> Iterator[NewDatabase]:
    """Makes empty databases on the suite's server; drops them at the end of the module."""
    made: list[str] = []

    def make() -> str:
        name = f"fixes_{secrets.token_hex(4)}"
        with psycopg.connect(live_pg.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return url_with(live_pg.admin_url, dbname=name)

    yield make
    with psycopg.connect(live_pg.admin_url, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(url: str, *files: Path) -> list[str]:
    """psql -f each file in order (on error, go on, as psql does by default); the ERROR
    messages, without their file and line."""
    errors: list[str] = []
    for file in files:
        proc = subprocess.run(
            [_psql(), "-X", "-q", "-d", url, "-f", str(file)],
            capture_output=True,
            text=True,
            timeout=300,
            env=_env(),
            cwd=file.parent,
        )
        errors += [m.group(1) for m in re.finditer(r"ERROR:\s+(.*)", proc.stderr)]
    return errors


def fix(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sql_lsp", "check", "--fix", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )


def indexdefs(url: str, schema: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('i', 'I') AND n.nspname = %s",
            [schema],
        ).fetchall()
    return dict(rows)


def plan(url: str, query: str, search_path: str) -> str:
    with psycopg.connect(url) as conn:
        conn.execute(f"SET search_path TO {search_path}")
        conn.execute("SET enable_seqscan = off")
        return json.dumps(conn.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchone()[0])


# -- index fixes ---------------------------------------------------------------------------------

PG_DUMP = """\
SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.users (id bigint NOT NULL, email text NOT NULL);
CREATE TABLE public.orders (id bigint NOT NULL, user_id bigint NOT NULL, placed timestamp NOT NULL);
CREATE TABLE public.orders_user_id_idx (id integer);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
CREATE INDEX orders_placed_idx ON public.orders USING btree (placed);
ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);
SELECT o.id FROM public.orders o WHERE extract(year from o.placed) = 2020;
SELECT o.id FROM public.orders o WHERE EXTRACT(YEAR FROM o.placed) = 2021;
"""

CUSTOM_SCHEMA = """\
CREATE SCHEMA "Sales";
SET search_path TO "Sales";
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    placed timestamp NOT NULL
);
CREATE INDEX orders_placed_idx ON orders (placed);
SELECT id FROM orders WHERE date_trunc('month', placed) = '2020-01-01';
"""


@pytest.mark.parametrize(
    ("text", "schema", "search_path", "query", "expected"),
    [
        (
            PG_DUMP,
            "public",
            "public",
            "SELECT o.id FROM orders o WHERE extract(year from o.placed) = 2020",
            {
                "orders_user_id_idx1": "CREATE INDEX orders_user_id_idx1 ON public.orders"
                " USING btree (user_id)",
                "orders_extract_placed_idx": "CREATE INDEX orders_extract_placed_idx ON"
                " public.orders USING btree (EXTRACT(year FROM placed))",
            },
        ),
        (
            CUSTOM_SCHEMA,
            "Sales",
            '"Sales"',
            "SELECT id FROM orders WHERE date_trunc('month', placed) = '2020-01-01'",
            {
                "orders_user_id_idx": 'CREATE INDEX orders_user_id_idx ON "Sales".orders'
                " USING btree (user_id)",
                "orders_date_trunc_placed_idx": "CREATE INDEX orders_date_trunc_placed_idx ON"
                " \"Sales\".orders USING btree (date_trunc('month'::text, placed))",
            },
        ),
    ],
    ids=["pg_dump", "custom_schema"],
)
def test_index_fixes_load_and_create_the_intended_index(
    tmp_path: Path,
    new_database: NewDatabase,
    text: str,
    schema: str,
    search_path: str,
    query: str,
    expected: dict[str, str],
) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    file = tmp_path / "schema.sql"
    file.write_text(text)
    before_url = new_database()
    assert load(before_url, file) == []
    before = indexdefs(before_url, schema)
    assert "orders_placed_idx" in before

    proc = fix("--unsafe-fixes", "schema.sql", cwd=tmp_path)
    assert sorted(proc.stderr.splitlines()) == [
        "fixed 2 in schema.sql: missing-fk-index, function-on-indexed-column"
    ]
    assert file.read_text().count("CREATE INDEX") == text.count("CREATE INDEX") + 2

    url = new_database()
    assert load(url, file) == []
    after = indexdefs(url, schema)
    assert {name: d for name, d in after.items() if name not in before} == expected
    assert set(before) <= set(after)
    # the query the expression index was made for uses it
    expression_index = next(n for n in expected if "user_id" not in n)
    assert f'"Index Name": "{expression_index}"' in plan(url, query, search_path)


def test_redundant_index_fix_loads_in_a_custom_schema(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    text = (
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE SCHEMA app;\n"
        "CREATE TABLE app.t (a integer, b integer);\n"
        "CREATE INDEX t_a_idx ON app.t USING btree (a);\n"
        "CREATE INDEX t_a_b_idx ON app.t USING btree (a, b);\n"
    )
    (tmp_path / "s.sql").write_text(text)
    proc = fix("--unsafe-fixes", "s.sql", cwd=tmp_path)
    assert proc.stderr == "fixed 1 in s.sql: redundant-index\n"
    url = new_database()
    assert load(url, tmp_path / "s.sql") == []
    assert indexdefs(url, "app") == {
        "t_a_b_idx": "CREATE INDEX t_a_b_idx ON app.t USING btree (a, b)"
    }


# -- casts -----------------------------------------------------------------------------------------

CAST_SCHEMA = """\
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN dtext AS text;
CREATE TABLE t (
    id int PRIMARY KEY, vc varchar(20), tx text, ch char(5), ts timestamp,
    n numeric(10, 2), i int, mood_col mood, d dtext
);
CREATE INDEX t_vc_idx ON t (vc);
CREATE INDEX t_tx_idx ON t (tx);
CREATE INDEX t_ch_idx ON t (ch);
CREATE INDEX t_ts_idx ON t (ts);
CREATE INDEX t_n_idx ON t (n);
CREATE INDEX t_i_idx ON t (i);
CREATE INDEX t_mood_idx ON t (mood_col);
CREATE INDEX t_d_idx ON t (d);
"""

# (condition, PostgreSQL uses the column's index); the rule must report exactly the others
CASTS = [
    ("(t.vc)::text = 'Post'::text", True),  # what pg_dump writes for a varchar column
    ("vc::text = 'x'", True),
    ("CAST(vc AS text) = 'x'", True),
    ("(((vc)))::text = 'x'", True),
    ("vc::character varying = 'x'", True),
    ("vc::varchar(20) = 'x'", True),
    ("vc::text::varchar = 'x'", True),
    ("tx::varchar = 'x'", True),
    ("tx::text = 'x'", True),
    ("ch::bpchar = 'x'", True),
    ("ch::char(5) = 'x'", True),
    ("ts::timestamp = '2020-01-01'", True),
    ("n::numeric = 1", True),
    ("n::numeric(10,2) = 1", True),
    ("i::integer = 1", True),
    ("vc::varchar(10) = 'x'", False),
    ("vc::bpchar = 'x'", False),
    ("tx::varchar(5) = 'x'", False),
    ("tx::name = 'x'", False),
    ("ch::text = 'x'", False),
    ("ch::char = 'x'", False),
    ("ch::varchar = 'x'", False),
    ("ts::timestamp(0) = '2020-01-01'", False),
    ("ts::timestamptz = now()", False),
    ("n::numeric(5,1) = 1", False),
    ("i::bigint = 1", False),
    ("vc::text::varchar(5) = 'x'", False),
]
# types whose casts the rule does not know: it says nothing, whatever the planner does
SILENT = [("mood_col::text = 'x'", False), ("d::text = 'x'", True)]


@pytest.fixture(scope="module")
def cast_db(new_database: NewDatabase, live_pg: LiveServer) -> tuple[str, Catalog]:
    """The database of CAST_SCHEMA, and its live catalog (column types as PostgreSQL writes
    them: `character varying(20)`, `timestamp without time zone`…)."""
    url = new_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CAST_SCHEMA)
        conn.execute("ANALYZE t")

    async def read() -> Catalog:
        db = live_pg.database(url)
        try:
            return (await load_catalog(db)).catalog
        finally:
            await db.close()

    return url, asyncio.run(read())


def _reported(condition: str, live: Catalog | None) -> bool:
    doc = Document("file:///q.sql", f"SELECT id FROM t WHERE {condition};")
    if live is None:
        catalog = build_catalog([Document("file:///s.sql", CAST_SCHEMA), doc])
    else:
        catalog = build_catalog([doc]).merge(live)
    findings = Linter().lint(doc, catalog)
    return any(f.rule == "function-on-indexed-column" for f in findings)


@pytest.mark.parametrize("source", ["ddl", "database"])
@pytest.mark.parametrize(("condition", "uses_index"), CASTS + SILENT)
def test_cast_is_reported_exactly_when_explain_cannot_use_the_index(
    cast_db: tuple[str, Catalog], condition: str, uses_index: bool, source: str
) -> None:
    url, live = cast_db
    shown = plan(url, f"SELECT id FROM t WHERE {condition}", "public")
    assert ('"Index Cond"' in shown) is uses_index, shown
    silent = (condition, uses_index) in SILENT
    reported = _reported(condition, live if source == "database" else None)
    assert reported is (not uses_index and not silent)


# -- the corpus ------------------------------------------------------------------------------------


def _sql_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.sql"))


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize(
    "project", sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
)
def test_fixed_corpus_files_load_as_the_originals_do(
    tmp_path: Path, new_database: NewDatabase, project: str, unsafe: bool
) -> None:
    source = CORPUS / project
    copy = tmp_path / project
    shutil.copytree(source, copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    proc = fix(".", *(["--unsafe-fixes"] if unsafe else []), cwd=copy)
    assert "Traceback" not in proc.stderr, proc.stderr
    changed = [
        f for f in _sql_files(copy) if f.read_bytes() != (source / f.relative_to(copy)).read_bytes()
    ]
    reported = re.findall(r"^fixed (\d+) in ", proc.stderr, re.M)
    assert len(changed) == len(reported)

    url = new_database()
    original_errors = load(url, *(source / f.relative_to(copy) for f in _sql_files(copy)))
    original = indexdefs(url, "public")
    fixed_url = new_database()
    fixed_errors = load(fixed_url, *_sql_files(copy))
    fixed = indexdefs(fixed_url, "public")

    # every index a fix inserted exists, every index a fix deleted is gone; nothing else changed
    def declared(files: list[Path]) -> Counter[str]:
        pattern = re.compile(
            r'^CREATE (?:UNIQUE )?INDEX (?:"((?:[^"]|"")+)"|(\S+)) ON ', re.M | re.I
        )
        return Counter(
            m.group(1).replace('""', '"') if m.group(1) else m.group(2).lower()
            for f in files
            for m in pattern.finditer(f.read_text())
        )

    originals = [source / f.relative_to(copy) for f in changed]
    inserted = declared(changed) - declared(originals)
    deleted = declared(originals) - declared(changed)
    applied: Counter[str] = Counter()
    for what in re.findall(r"^fixed \d+ in .*?: (.*)$", proc.stderr, re.M):
        for part in what.split(", "):
            rule, _, n = part.partition(" x")
            applied[rule] += int(n or 1)
    assert sum(deleted.values()) == applied["redundant-index"]
    assert (
        sum(inserted.values())
        == applied["missing-fk-index"] + applied["function-on-indexed-column"]
    )
    assert unsafe or not deleted
    missing_tables = {
        m.group(1) for e in original_errors for m in re.finditer(r'relation "([^"]+)"', e)
    }
    new_errors = Counter(fixed_errors) - Counter(original_errors)
    # an index on a table that PostgreSQL 15 could not create (pagila's PostgreSQL 18 syntax)
    # fails as every other statement on that table does
    unexplained = [
        e
        for e in new_errors.elements()
        if not any(f'relation "{t}" does not exist' in e for t in missing_tables)
    ]
    assert unexplained == []
    assert Counter(original_errors) - Counter(fixed_errors) == Counter()
    created = {name for name in inserted if name in fixed}
    assert set(fixed) - set(original) == created
    assert set(original) - set(fixed) == {name for name in deleted if name in original}
    if project in ("osm", "danbooru", "northwind"):
        assert created == set(inserted) and len(created) >= 10
