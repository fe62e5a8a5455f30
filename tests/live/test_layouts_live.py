"""A whole repository of migrations in several tools' layouts, with rollback files and sections:
the catalog `sql-lsp check` builds gives the missing-fk-index findings that PostgreSQL's own
catalog gives after the tools' up migrations are applied in the tools' order."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
from live_support import LiveServer, scratch_database

from sql_lsp.migrations import plan_files

PK = "id bigint PRIMARY KEY"

# (path, text applied by the tool) in the order each tool applies them; rollbacks are listed in
# ROLLBACKS and never applied. Every layout below gets the order wrong if read alphabetically or
# with its rollbacks.
APPLIED: list[tuple[str, str]] = [
    # golang-migrate: 10 after 9 (alphabetically 10 comes first and drops nothing)
    (
        "gm/1_init.up.sql",
        f"CREATE TABLE gm_users ({PK});\n"
        f"CREATE TABLE gm_orders ({PK}, user_id bigint REFERENCES gm_users (id));\n"
        "CREATE INDEX gm_orders_user_idx ON gm_orders (user_id);\n",
    ),
    ("gm/2_drop_idx.up.sql", "DROP INDEX gm_orders_user_idx;\n"),
    (
        "gm/9_items.up.sql",
        f"CREATE TABLE gm_items ({PK}, order_id bigint REFERENCES gm_orders (id));\n"
        "CREATE INDEX gm_items_order_idx ON gm_items (order_id);\n",
    ),
    ("gm/10_drop_items_idx.up.sql", "DROP INDEX gm_items_order_idx;\n"),
    # Flyway: versions, then repeatables
    (
        "fw/V1__init.sql",
        f"CREATE TABLE fw_a ({PK});\nCREATE TABLE fw_b ({PK}, a_id bigint REFERENCES fw_a (id));\n",
    ),
    ("fw/V1.1__index.sql", "CREATE INDEX fw_b_a_idx ON fw_b (a_id);\n"),
    ("fw/V2__drop.sql", "DROP INDEX fw_b_a_idx;\n"),
    ("fw/V10__reindex.sql", "CREATE INDEX fw_b_a_idx2 ON fw_b (a_id);\n"),
    ("fw/R__views.sql", "CREATE OR REPLACE VIEW fw_v AS SELECT id FROM fw_a;\n"),
    # dbmate: the up section only (the down section follows it in the same file)
    (
        "dbm/20240101000000_init.sql",
        "-- migrate:up\n"
        f"CREATE TABLE dbm_p ({PK});\n"
        f"CREATE TABLE dbm_c ({PK}, p_id bigint REFERENCES dbm_p (id));\n"
        "CREATE INDEX dbm_c_p_idx ON dbm_c (p_id);\n\n",
    ),
    # goose
    (
        "goose/00001_init.sql",
        "-- +goose Up\n"
        f"CREATE TABLE gs_p ({PK});\n"
        f"CREATE TABLE gs_c ({PK}, p_id bigint REFERENCES gs_p (id));\n",
    ),
    # diesel
    (
        "diesel/2024-01-02-000000_create/up.sql",
        f"CREATE TABLE ds_p ({PK});\n"
        f"CREATE TABLE ds_c ({PK}, p_id bigint REFERENCES ds_p (id));\n"
        "CREATE INDEX ds_c_p_idx ON ds_c (p_id);\n",
    ),
    ("diesel/2024-01-10-000000_unindex/up.sql", "DROP INDEX ds_c_p_idx;\n"),
    # sqitch, in plan order (alphabetically a_unindex would run first and drop nothing)
    ("sq/deploy/parent.sql", f"CREATE TABLE sq_parent ({PK});\n"),
    (
        "sq/deploy/child.sql",
        f"CREATE TABLE sq_child ({PK}, parent_id bigint REFERENCES sq_parent (id));\n",
    ),
    ("sq/deploy/index_child.sql", "CREATE INDEX sq_child_parent_idx ON sq_child (parent_id);\n"),
    ("sq/deploy/a_unindex.sql", "DROP INDEX sq_child_parent_idx;\n"),
    # a schema folder with create and drop scripts (DropTables.sql sorts after CreateTables.sql)
    (
        "admin/sql/CreateTables.sql",
        f"CREATE TABLE mb_artist ({PK});\n"
        f"CREATE TABLE mb_release ({PK}, artist_id bigint REFERENCES mb_artist (id));\n",
    ),
]
DOWN_SECTIONS = {
    "dbm/20240101000000_init.sql": "-- migrate:down\nDROP INDEX dbm_c_p_idx;\n",
    "goose/00001_init.sql": "\n-- +goose Down\nDROP TABLE gs_c;\n",
}
ROLLBACKS: dict[str, str] = {
    "gm/1_init.down.sql": "DROP TABLE gm_orders;\nDROP TABLE gm_users;\n",
    "gm/2_drop_idx.down.sql": "CREATE INDEX gm_orders_user_idx ON gm_orders (user_id);\n",
    "gm/9_items.down.sql": "DROP TABLE gm_items;\n",
    "gm/10_drop_items_idx.down.sql": "CREATE INDEX gm_items_order_idx ON gm_items (order_id);\n",
    "fw/U10__reindex.sql": "DROP INDEX fw_b_a_idx2;\n",
    "diesel/2024-01-02-000000_create/down.sql": "DROP TABLE ds_c;\nDROP TABLE ds_p;\n",
    "diesel/2024-01-10-000000_unindex/down.sql": "CREATE INDEX ds_c_p_idx ON ds_c (p_id);\n",
    "sq/revert/child.sql": "DROP TABLE sq_child;\n",
    "sq/revert/parent.sql": "DROP TABLE sq_parent;\n",
    "sq/verify/child.sql": "SELECT id, parent_id FROM sq_child WHERE false;\n",
    "admin/sql/DropTables.sql": "DROP TABLE mb_release;\nDROP TABLE mb_artist;\n",
}
SQITCH_PLAN = """\
%syntax-version=1.0.0
%project=sq

parent 2020-01-01T00:00:00Z A <a@example.com> # parent
child [parent] 2020-01-01T00:01:00Z A <a@example.com> # child
index_child [child] 2020-01-01T00:02:00Z A <a@example.com>
a_unindex [index_child] 2020-01-01T00:03:00Z A <a@example.com>
"""
UNINDEXED_FKS = """
SELECT c.conrelid::regclass::text,
       array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                             ORDER BY k.o), ', ')
FROM pg_constraint c
WHERE c.contype = 'f'
  AND NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = c.conrelid AND i.indpred IS NULL
      AND i.indnkeyatts >= cardinality(c.conkey)
      AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
      AND c.conkey @> (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)])
"""
FINDING = re.compile(r": warning missing-fk-index foreign key (\S+) \(([^)]*)\) -> ")


def _write(root: Path) -> None:
    files = {path: text + DOWN_SECTIONS.get(path, "") for path, text in APPLIED}
    files.update(ROLLBACKS)
    files["sq/sqitch.plan"] = SQITCH_PLAN
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_whole_repository_layouts_match_postgresql(live_pg: LiveServer, tmp_path: Path) -> None:
    _write(tmp_path)
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    paths = sorted(tmp_path.rglob("*.sql"))

    # the order: each tool's files in the tool's order, no rollback
    plans = plan_files(paths, roots=[tmp_path])
    applied = [p.path.relative_to(tmp_path).as_posix() for p in plans if p.applied]
    for tool in ("gm/", "fw/", "dbm/", "goose/", "diesel/", "sq/", "admin/"):
        expected = [path for path, _ in APPLIED if path.startswith(tool)]
        assert [p for p in applied if p.startswith(tool)] == expected, tool
    assert sorted(p.path.relative_to(tmp_path).as_posix() for p in plans if not p.applied) == (
        sorted(ROLLBACKS)
    )

    # PostgreSQL's truth after the up migrations
    with (
        scratch_database(live_pg.admin_url, "layouts") as url,
        psycopg.connect(url, autocommit=True) as db,
    ):
        for _, text in APPLIED:
            db.execute(text)
        truth = {(table, cols) for table, cols in db.execute(UNINDEXED_FKS).fetchall()}
    assert truth == {
        ("gm_orders", "user_id"),
        ("gm_items", "order_id"),
        ("gs_c", "p_id"),
        ("ds_c", "p_id"),
        ("sq_child", "parent_id"),
        ("mb_release", "artist_id"),
    }

    # what sql-lsp check finds on the whole repository, offline
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SQL_LSP_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "sql_lsp", "check", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=environ,
    )
    assert proc.stderr == ""
    found = [m.groups() for m in map(FINDING.search, proc.stdout.splitlines()) if m]
    assert len(found) == len(set(found))
    assert set(found) == truth
