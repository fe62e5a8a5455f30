"""Migration layouts: the order files are applied to the catalog in, what is left out, and the
files that are never opened (FIFOs) or read (too large)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sql_lsp.config import CatalogSettings, Config, merge
from sql_lsp.document import Document
from sql_lsp.migrations import (
    down_sections,
    is_migration_name,
    natural_key,
    new_migration,
    plan_files,
    sqitch_plan_order,
)
from sql_lsp.project import (
    Project,
    SkippedFile,
    build_catalog,
    catalog_order,
    read_sql,
    sql_files,
    uri_of,
)


def _tree(root: Path, files: dict[str, str] | list[str]) -> list[Path]:
    items = files.items() if isinstance(files, dict) else ((f, "") for f in files)
    out = []
    for rel, text in items:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def _plan(
    root: Path, files: dict[str, str] | list[str], **kwargs
) -> tuple[list[str], dict[str, str]]:
    """(applied files in order, {skipped file: reason}), as paths relative to `root`."""
    paths = _tree(root, files)
    plans = plan_files(paths[::-1], roots=[root], **kwargs)  # the input order does not count
    applied = [p.path.relative_to(root).as_posix() for p in plans if p.applied]
    skipped = {p.path.relative_to(root).as_posix(): p.reason for p in plans if not p.applied}
    return applied, skipped


# -- natural order ------------------------------------------------------------------------------


def test_natural_key_compares_numbers_as_numbers() -> None:
    names = ["V10__c.sql", "v2__b.sql", "V1__a.sql", "a10", "a2", "B1", "0010_x", "9_x"]
    assert sorted(names, key=natural_key) == [
        "9_x",
        "0010_x",
        "a2",
        "a10",
        "B1",
        "V1__a.sql",
        "v2__b.sql",
        "V10__c.sql",
    ]


def test_plain_numbered_files_and_timestamps(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path,
        [
            "migrations/10_orders.sql",
            "migrations/2_users.sql",
            "migrations/0001_init.sql",
            "migrations/20240102120000_late.sql",
            "migrations/20231231235959_early.sql",
        ],
    )
    assert applied == [
        "migrations/0001_init.sql",
        "migrations/2_users.sql",
        "migrations/10_orders.sql",
        "migrations/20231231235959_early.sql",
        "migrations/20240102120000_late.sql",
    ]
    assert skipped == {}


def test_path_components_compare_naturally(tmp_path: Path) -> None:
    applied, _ = _plan(
        tmp_path,
        ["db/10/a.sql", "db/9/b.sql", "db/9/a.sql", "db/schema.sql", "db/10.sql", "app/q.sql"],
    )
    assert applied == [
        "app/q.sql",
        "db/9/a.sql",
        "db/9/b.sql",
        "db/10/a.sql",
        "db/10.sql",
        "db/schema.sql",
    ]


# -- the tools' layouts ------------------------------------------------------------------------


def test_flyway_versions_then_repeatables_and_no_undo(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path,
        [
            "sql/V10__orders.sql",
            "sql/V2__users.sql",
            "sql/V1_1__types.sql",
            "sql/V1__init.sql",
            "sql/V1.2__more.sql",
            "sql/R__views.sql",
            "sql/R__functions.sql",
            "sql/U2__users.sql",
            "sql/U10__orders.sql",
        ],
    )
    assert applied == [
        "sql/V1__init.sql",
        "sql/V1_1__types.sql",
        "sql/V1.2__more.sql",
        "sql/V2__users.sql",
        "sql/V10__orders.sql",
        "sql/R__functions.sql",
        "sql/R__views.sql",
    ]
    assert skipped == {
        "sql/U2__users.sql": "Flyway undo migration",
        "sql/U10__orders.sql": "Flyway undo migration",
    }


def test_golang_migrate_up_files_only(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path,
        [
            "migrations/10_orders.up.sql",
            "migrations/10_orders.down.sql",
            "migrations/9_users.up.sql",
            "migrations/9_users.down.sql",
        ],
    )
    assert applied == ["migrations/9_users.up.sql", "migrations/10_orders.up.sql"]
    assert skipped == {
        "migrations/9_users.down.sql": "rollback file (down migration)",
        "migrations/10_orders.down.sql": "rollback file (down migration)",
    }


def test_diesel_folders_up_sql_only(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path,
        [
            "migrations/2024-01-10-090000_orders/up.sql",
            "migrations/2024-01-10-090000_orders/down.sql",
            "migrations/2024-01-02-120000_users/up.sql",
            "migrations/2024-01-02-120000_users/down.sql",
            "migrations/00000000000000_diesel_initial_setup/up.sql",
            "migrations/00000000000000_diesel_initial_setup/down.sql",
        ],
    )
    assert applied == [
        "migrations/00000000000000_diesel_initial_setup/up.sql",
        "migrations/2024-01-02-120000_users/up.sql",
        "migrations/2024-01-10-090000_orders/up.sql",
    ]
    assert set(skipped) == {
        "migrations/00000000000000_diesel_initial_setup/down.sql",
        "migrations/2024-01-02-120000_users/down.sql",
        "migrations/2024-01-10-090000_orders/down.sql",
    }


def test_rollback_file_names_and_folders(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path,
        [
            "admin/CreateTables.sql",
            "admin/DropTables.sql",
            "admin/drop_indexes.sql",
            "admin/dropdown_items.sql",
            "admin/backdrop.sql",
            "admin/rollback_2024.sql",
            "admin/001_init_down.sql",
            "admin/001_init.sql",
            "admin/down/001.sql",
            "admin/downtime.sql",
            # versioned or up files are forward migrations, whatever they are called
            "admin/003_rollback_feature.sql",
            "admin/V4__drop_legacy.sql",
            "admin/drop_users.up.sql",
        ],
    )
    assert applied == [
        "admin/001_init.sql",
        "admin/003_rollback_feature.sql",
        "admin/V4__drop_legacy.sql",  # Flyway files sort by their version
        "admin/backdrop.sql",
        "admin/CreateTables.sql",
        "admin/downtime.sql",
        "admin/drop_users.up.sql",
        "admin/dropdown_items.sql",
    ]
    assert skipped == {
        "admin/001_init_down.sql": "rollback file (down migration)",
        "admin/down/001.sql": "rollback file (under down/)",
        "admin/DropTables.sql": "rollback file (Drop*.sql)",
        "admin/drop_indexes.sql": "rollback file (Drop*.sql)",
        "admin/rollback_2024.sql": "rollback file (name contains rollback)",
    }


def test_yoyo_rollback_files(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path, ["m/0001_init.sql", "m/0001_init.rollback.sql", "m/0002_x_rollback.sql"]
    )
    assert applied == ["m/0001_init.sql"]
    assert skipped == dict.fromkeys(
        ["m/0001_init.rollback.sql", "m/0002_x_rollback.sql"], "rollback file (down migration)"
    )


def test_prisma_and_supabase_folders(tmp_path: Path) -> None:
    applied, _ = _plan(
        tmp_path,
        [
            "prisma/migrations/20240110000000_b/migration.sql",
            "prisma/migrations/20240102000000_a/migration.sql",
            "supabase/migrations/20240110000000_b.sql",
            "supabase/migrations/20240102000000_a.sql",
        ],
    )
    assert applied == [
        "prisma/migrations/20240102000000_a/migration.sql",
        "prisma/migrations/20240110000000_b/migration.sql",
        "supabase/migrations/20240102000000_a.sql",
        "supabase/migrations/20240110000000_b.sql",
    ]


def test_folders_above_the_root_do_not_mark_rollbacks(tmp_path: Path) -> None:
    root = tmp_path / "down" / "project"
    applied, skipped = _plan(root, ["schema.sql"])
    assert (applied, skipped) == (["schema.sql"], {})


def test_rails_structure_sql_is_applied(tmp_path: Path) -> None:
    applied, skipped = _plan(tmp_path, ["db/structure.sql", "app/queries/report.sql"])
    assert applied == ["app/queries/report.sql", "db/structure.sql"]
    assert skipped == {}


SQITCH_PLAN = """\
%syntax-version=1.0.0
%project=flipr

appschema 2013-12-30T23:19:22Z Marge <marge@example.com> # schema
users [appschema] 2013-12-30T23:49:00Z Marge <marge@example.com> # users
flips [users] 2013-12-31T00:10:00Z Marge <marge@example.com> # flips
@v1.0.0 2013-12-31T00:20:00Z Marge <marge@example.com> # Tag v1.0.0.
insert_user [users appschema] 2013-12-31T00:30:00Z Marge <marge@example.com>
users [users@v1.0.0] 2014-01-02T10:00:00Z Marge <marge@example.com> # Add twitter.
"""


def test_sqitch_deploy_in_plan_order_revert_and_verify_never(tmp_path: Path) -> None:
    (tmp_path / "sqitch.plan").write_text(SQITCH_PLAN, encoding="utf-8")
    applied, skipped = _plan(
        tmp_path,
        [
            "deploy/appschema.sql",
            "deploy/users.sql",
            "deploy/users@v1.0.0.sql",
            "deploy/flips.sql",
            "deploy/insert_user.sql",
            "deploy/adhoc.sql",  # not in the plan: after the planned ones
            "revert/appschema.sql",
            "revert/users.sql",
            "verify/users.sql",
        ],
    )
    assert applied == [
        "deploy/appschema.sql",
        "deploy/users@v1.0.0.sql",  # the first version of the reworked change
        "deploy/flips.sql",
        "deploy/insert_user.sql",
        "deploy/users.sql",  # its latest version, where the plan reworks it
        "deploy/adhoc.sql",
    ]
    assert skipped == {
        "revert/appschema.sql": "sqitch revert script",
        "revert/users.sql": "sqitch revert script",
        "verify/users.sql": "sqitch verify script",
    }


def test_sqitch_without_a_plan_is_recognised_by_its_folders(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path, ["deploy/b.sql", "deploy/a.sql", "verify/a.sql", "revert/a.sql"]
    )
    assert applied == ["deploy/a.sql", "deploy/b.sql"]
    assert skipped == {
        "revert/a.sql": "sqitch revert script",
        "verify/a.sql": "sqitch verify script",
    }


def test_sqitch_plan_order_skips_pragmas_tags_and_reverted_changes() -> None:
    plan = "%project=x\n\n# comment\nb 2020\n@t1 2020\na [b] 2020\n-b 2020\n+c 2020\n"
    assert sqitch_plan_order(plan, ["a", "b", "c"]) == {"b": 0, "a": 1, "c": 2}


# -- settings ----------------------------------------------------------------------------------


def test_catalog_exclude_globs(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path,
        [
            "db/schema.sql",
            "db/legacy/old.sql",
            "db/seed/data.sql",
            "tests/fixtures/broken.sql",
            "scratch.sql",
        ],
        exclude=["db/legacy", "**/fixtures/*.sql", "scratch.sql", "./db/seed/"],
    )
    assert applied == ["db/schema.sql"]
    assert skipped == dict.fromkeys(
        ["db/legacy/old.sql", "db/seed/data.sql", "scratch.sql", "tests/fixtures/broken.sql"],
        "excluded by catalog.exclude",
    )


def test_catalog_order_puts_matches_first_in_list_order(tmp_path: Path) -> None:
    applied, _ = _plan(
        tmp_path,
        [
            "a_queries.sql",
            "schema/tables.sql",
            "schema/indexes.sql",
            "types.sql",
            "z/V2__b.sql",
            "z/V10__c.sql",
        ],
        order=["types.sql", "schema/tables.sql", "schema", "*.sql"],
    )
    assert applied == [
        "types.sql",
        "schema/tables.sql",
        "schema/indexes.sql",
        "a_queries.sql",  # "*.sql" matches every file name: the rest, in the default order
        "z/V2__b.sql",
        "z/V10__c.sql",
    ]


def test_catalog_order_unmatched_files_follow_in_default_order(tmp_path: Path) -> None:
    applied, _ = _plan(
        tmp_path, ["m/10_b.sql", "m/9_a.sql", "seed.sql", "types/enums.sql"], order=["types/**"]
    )
    assert applied == ["types/enums.sql", "m/9_a.sql", "m/10_b.sql", "seed.sql"]


def test_a_rollback_named_in_catalog_order_is_applied(tmp_path: Path) -> None:
    applied, skipped = _plan(
        tmp_path,
        ["db/drop_shipping_tables.sql", "db/drop_old.sql", "db/1.down.sql", "db/2.down.sql"],
        order=["db/drop_shipping_tables.sql", "1.down.sql", "db/*.down.sql", "db"],
    )
    # only a path names a file: a bare name or a glob orders, it does not bring a rollback in
    assert applied == ["db/drop_shipping_tables.sql"]
    assert sorted(skipped) == ["db/1.down.sql", "db/2.down.sql", "db/drop_old.sql"]


def test_exclude_wins_over_order(tmp_path: Path) -> None:
    applied, skipped = _plan(tmp_path, ["a.sql", "b.sql"], order=["b.sql"], exclude=["b.sql"])
    assert applied == ["a.sql"]
    assert skipped == {"b.sql": "excluded by catalog.exclude"}


def test_absolute_patterns(tmp_path: Path) -> None:
    applied, _ = _plan(tmp_path, ["a.sql", "b.sql"], exclude=[str(tmp_path / "a.sql")])
    assert applied == ["b.sql"]


def test_patterns_from_every_root_and_outside_them(tmp_path: Path) -> None:
    # settings in the repository root, the editor opened on a subfolder, a catalog.paths file
    # beside the repository
    repo, outside = tmp_path / "repo", tmp_path / "shared"
    paths = _tree(tmp_path, ["repo/svc/db/legacy.sql", "repo/svc/db/new.sql", "shared/x.sql"])
    plans = plan_files(
        paths,
        roots=[repo, repo / "svc"],
        exclude=["svc/db/legacy.sql", "../shared/*.sql"],
        order=["db/new.sql"],
    )
    assert [(p.path.relative_to(tmp_path).as_posix(), p.applied) for p in plans] == [
        ("repo/svc/db/new.sql", True),
        ("repo/svc/db/legacy.sql", False),
        ("shared/x.sql", False),
    ]
    assert outside.is_dir()


def test_bad_catalog_settings_warn_and_keep_the_defaults() -> None:
    config, errors = merge(
        Config(),
        {"catalog": {"exclude": 5, "order": ["a.sql", ""]}},
        where="sql-lsp.toml: ",
    )
    assert config.catalog == CatalogSettings()
    assert errors == [
        "sql-lsp.toml: catalog.exclude: expected a list of strings, got 5; using the default",
        "sql-lsp.toml: catalog.order: empty glob pattern in ['a.sql', '']; using the default",
    ]
    config, errors = merge(Config(), {"catalog.exclude": "db/down", "catalogOrder": 1})
    assert config.catalog.exclude == ("db/down",)
    assert errors == ["catalogOrder: unknown setting; ignored"]


# -- what is applied -----------------------------------------------------------------------------

USERS = "CREATE TABLE users (id bigint PRIMARY KEY);\n"
DBMATE = """\
-- migrate:up
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- migrate:down
DROP INDEX orders_user_id_idx;
DROP TABLE orders;

-- migrate:up
CREATE TABLE notes (id bigint);
"""
GOOSE = """\
-- +goose Up
-- +goose StatementBegin
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
-- +goose StatementEnd
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- +goose Down
DROP TABLE orders;
"""


def test_down_sections() -> None:
    start = DBMATE.index("-- migrate:down")
    end = DBMATE.index("-- migrate:up", start)
    assert down_sections(DBMATE) == [(start, end)]
    assert down_sections(GOOSE) == [(GOOSE.index("-- +goose Down"), len(GOOSE))]
    assert down_sections("-- +GOOSE down\nx;") == []  # the marker itself is spelt +goose
    sql_migrate = "-- +migrate Up\nCREATE TABLE t (id int);\n-- +migrate Down\nDROP TABLE t;\n"
    assert down_sections(sql_migrate) == [(sql_migrate.index("-- +migrate Down"), len(sql_migrate))]
    assert down_sections("SELECT '-- migrate:down';\n") == []  # not at the start of a line
    assert down_sections(USERS) == []


@pytest.mark.parametrize("text", [DBMATE, GOOSE], ids=["dbmate", "goose"])
def test_down_sections_are_checked_but_not_applied(text: str) -> None:
    docs = [Document("file:///p/0001_users.sql", USERS), Document("file:///p/0002_o.sql", text)]
    catalog = build_catalog(catalog_order(docs))
    orders = catalog.tables.get(("public", "orders"))
    assert orders is not None
    assert [i.name for i in orders.indexes] == ["orders_pkey", "orders_user_id_idx"]
    assert (("public", "notes") in catalog.tables) == (text is DBMATE)


def test_catalog_order_of_documents_leaves_rollbacks_out() -> None:
    docs = [
        Document("untitled:Untitled-1", "SELECT 1;"),
        Document("file:///p/migrations/10_b.down.sql", ""),
        Document("file:///p/migrations/10_b.up.sql", ""),
        Document("file:///p/migrations/9_a.up.sql", ""),
    ]
    settings = CatalogSettings(exclude=("migrations/9_*",))
    assert [d.uri for d in catalog_order(docs)] == [
        "file:///p/migrations/9_a.up.sql",
        "file:///p/migrations/10_b.up.sql",
        "untitled:Untitled-1",
    ]
    assert [d.uri for d in catalog_order(docs, settings, [Path("/p")])] == [
        "file:///p/migrations/10_b.up.sql",
        "untitled:Untitled-1",
    ]


def test_project_rebuilds_the_catalog_when_the_catalog_settings_change() -> None:
    project = Project()
    project.set_file("file:///p/schema.sql", USERS)
    project.set_roots([Path("/p")])
    assert ("public", "users") in project.catalog.tables
    project.set_config(Config(catalog=CatalogSettings(exclude=("schema.sql",))))
    assert ("public", "users") not in project.catalog.tables
    project.set_config(Config())
    assert ("public", "users") in project.catalog.tables


# -- files that are not read ---------------------------------------------------------------------


def test_fifo_is_not_scanned_nor_opened(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(USERS, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.sql")
    assert list(sql_files(tmp_path)) == [tmp_path / "schema.sql"]
    raised: list[BaseException] = []

    def read() -> None:
        try:
            read_sql(tmp_path / "pipe.sql")
        except BaseException as e:
            raised.append(e)

    # opening the FIFO would block forever: read in a daemon thread, give up after a while
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "read_sql opened the FIFO and waits for a writer"
    assert [(type(e), str(e)) for e in raised] == [(SkippedFile, "not a regular file")]


def test_large_file_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "dump.sql"
    with open(big, "wb") as f:
        f.truncate(20_000_001)  # sparse: costs no disk
    with pytest.raises(SkippedFile, match=r"^larger than 20 MB$"):
        read_sql(big)
    assert read_sql(tmp_path / "dump.sql", max_bytes=30_000_000) == "\0" * 20_000_001


def _check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SQL_LSP_"))}
    return subprocess.run(
        [sys.executable, "-m", "sql_lsp", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,  # a FIFO that is opened blocks: fail instead of hanging
        env=environ,
    )


def test_cli_skips_fifos_and_large_files(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    (tmp_path / "q.sql").write_text("SELECT * FROM users;\n" + USERS, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.sql")
    with open(tmp_path / "dump.sql", "wb") as f:
        f.truncate(20_000_001)
    star = "q.sql:1:8: warning select-star * selects every column of users; list the columns "
    star += "the query needs\n"

    proc = _check(".", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, star)
    assert proc.stderr == "sql-lsp: note: dump.sql: larger than 20 MB; skipped\n"

    proc = _check("pipe.sql", "q.sql", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, star)
    assert proc.stderr == (
        "sql-lsp: note: pipe.sql: not a regular file; skipped (use - to read standard input)\n"
        "sql-lsp: note: dump.sql: larger than 20 MB; skipped\n"
    )

    (tmp_path / "dump.sql").unlink()
    proc = _check("pipe.sql", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr == (
        "sql-lsp: note: pipe.sql: not a regular file; skipped (use - to read standard input)\n"
    )


FK = (
    "warning missing-fk-index foreign key orders (user_id) -> users has no index on orders "
    "(user_id): deleting or updating a users row scans orders, and joins on it cannot use an index"
)
SCHEMA = """\
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
"""
INDEX = "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);\n"


def test_cli_rollback_file_does_not_hide_findings(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    _tree(
        tmp_path,
        {
            # golang-migrate: 10 runs after 9 and drops the index 9 created
            "migrations/9_create.up.sql": SCHEMA + INDEX,
            "migrations/9_create.down.sql": "DROP TABLE orders;\nDROP TABLE users;\n",
            "migrations/10_drop_index.up.sql": "DROP INDEX orders_user_id_idx;\n",
            "migrations/10_drop_index.down.sql": INDEX,
            # MusicBrainz-style: DropTables.sql sorts after CreateTables.sql
            "admin/CreateTables.sql": SCHEMA.replace("users", "accounts").replace(
                "orders", "invoices"
            ),
            "admin/DropTables.sql": "DROP TABLE invoices;\nDROP TABLE accounts;\n",
        },
    )
    proc = _check(".", "--format", "text", cwd=tmp_path)
    assert proc.stderr == ""
    fk2 = FK.replace("users", "accounts").replace("orders", "invoices")
    assert proc.stdout.splitlines() == [
        f"admin/CreateTables.sql:2:62: {fk2}",
        f"migrations/9_create.up.sql:2:60: {FK}",
    ]
    assert proc.returncode == 1


def test_cli_rollback_file_does_not_invent_findings(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    _tree(
        tmp_path,
        {
            "001_create.up.sql": SCHEMA + INDEX,
            "001_create.down.sql": "DROP INDEX orders_user_id_idx;\nSELECT * FROM orders;\n",
            "002_more_down.sql": "DROP INDEX orders_user_id_idx;\n",  # sorts after the up file
            "20240101_dbmate.sql": "-- migrate:up\nSELECT 1;\n-- migrate:down\n"
            "DROP INDEX orders_user_id_idx;\n",
        },
    )
    proc = _check(".", cwd=tmp_path)
    assert proc.stderr == ""
    # the rollback file is checked (its SELECT *), but its DROP INDEX is not applied
    assert proc.stdout == (
        "001_create.down.sql:2:8: warning select-star * selects every column of orders; list "
        "the columns the query needs\n"
    )
    assert proc.returncode == 1


def test_cli_catalog_settings(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text(
        '[catalog]\nexclude = ["tuning"]\norder = ["z_schema.sql"]\n', encoding="utf-8"
    )
    _tree(
        tmp_path,
        {
            "a_index.sql": INDEX,
            # sorts before z_schema.sql: drops nothing, unless catalog.order puts the schema first
            "z_schema.sql": SCHEMA,
            "tuning/remove_index.sql": "DROP INDEX orders_user_id_idx;\n",
        },
    )
    proc = _check(".", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    (tmp_path / "sql-lsp.toml").write_text('[catalog]\norder = ["z_schema.sql"]\n')
    proc = _check(".", cwd=tmp_path)
    assert proc.stdout == f"z_schema.sql:2:60: {FK}\n"
    (tmp_path / "sql-lsp.toml").write_text("[catalog]\norder = 3\n")
    proc = _check(".", cwd=tmp_path)  # a bad value: one warning, the default, and the check goes on
    assert proc.returncode == 0
    assert proc.stderr == (
        "sql-lsp: warning: sql-lsp.toml: catalog.order: expected a list of strings, got 3; "
        "using the default\n"
    )


def test_uri_paths_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a b%.sql"
    path.write_text(USERS, encoding="utf-8")
    doc = Document(uri_of(path), USERS)
    assert catalog_order([doc], CatalogSettings(exclude=("a b%.sql",)), [tmp_path]) == []


def test_editing_a_section_marker_changes_the_catalog() -> None:
    uri = "file:///p/0002_o.sql"
    project = Project()
    project.set_file("file:///p/0001_users.sql", SCHEMA + INDEX)
    filler = "SELECT '" + "x" * 600 + "';\n"
    text = "-- migrate:up\n" + filler + "DROP INDEX orders_user_id_idx;\n"
    assert project.open_document(uri, text, 1) is True
    assert [i.name for i in project.catalog.tables[("public", "orders")].indexes] == ["orders_pkey"]
    where = text.index("DROP")
    assert project.edit_document(uri, [(where, where, "-- migrate:down\n")], 2) is True
    assert [i.name for i in project.catalog.tables[("public", "orders")].indexes] == [
        "orders_pkey",
        "orders_user_id_idx",
    ]
    # typing elsewhere, away from the markers, leaves the catalog alone
    middle = text.index("x" * 300) + 300
    assert project.edit_document(uri, [(middle, middle + 1, "y")], 3) is False
    # and the marker line edited back to an up marker applies the DROP again
    at = project.open[uri].text.index("down")
    assert project.edit_document(uri, [(at, at + 4, "up")], 4) is True
    assert [i.name for i in project.catalog.tables[("public", "orders")].indexes] == ["orders_pkey"]


NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
UP, DOWN = "ALTER TABLE users RENAME TO accounts;\n", "ALTER TABLE accounts RENAME TO users;\n"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["001_users.sql", "009_catalogue.sql", "009_shipments.sql"], ["010_rename_x.sql"]),
        (["1_a.sql", "2_b.sql", "10_c.sql"], ["11_rename_x.sql"]),  # 10 is the newest, not 2
        (["0001-init.sql"], ["0002-rename_x.sql"]),
        (["V1__init.sql", "V2__orders.sql", "R__views.sql"], ["V3__rename_x.sql"]),
        (["V1.9__a.sql", "V1.10__b.sql"], ["V1.11__rename_x.sql"]),
        (["V1_1__a.sql"], ["V1_2__rename_x.sql"]),
        # golang-migrate: an up and a down file
        (
            ["000001_init.up.sql", "000001_init.down.sql"],
            ["000002_rename_x.up.sql", "000002_rename_x.down.sql"],
        ),
        # timestamps: now, in the same format
        (["20240102030405_init.sql"], ["20260304050607_rename_x.sql"]),
        (["202401020304_init.sql"], ["202603040506_rename_x.sql"]),
        (["20240102_init.sql"], ["20260304_rename_x.sql"]),
        # a timestamp from the future (a clock behind): one more than it
        (["20990102030405_init.sql"], ["20990102030406_rename_x.sql"]),
        # rollback files are not the newest migration
        (["001_a.sql", "002_a_down.sql", "U3__x.sql"], ["002_rename_x.sql"]),
    ],
)
def test_a_new_migration_follows_the_folder_convention(
    names: list[str], expected: list[str]
) -> None:
    files = new_migration(names, "", "Rename X", UP, DOWN, NOW)
    assert files is not None
    assert [name for name, _ in files] == expected
    assert files[0][1] == UP
    if len(files) == 2:
        assert files[1][1] == DOWN


@pytest.mark.parametrize(
    ("newest", "up", "down"),
    [
        (
            "-- migrate:up\nCREATE TABLE t ();\n-- migrate:down\n",
            "-- migrate:up",
            "-- migrate:down",
        ),
        ("-- +goose Up\nCREATE TABLE t ();\n", "-- +goose Up", "-- +goose Down"),
        ("-- +migrate Up\nCREATE TABLE t ();\n", "-- +migrate Up", "-- +migrate Down"),
    ],
)
def test_a_new_migration_has_the_sections_of_the_newest(newest: str, up: str, down: str) -> None:
    assert new_migration(["20240102030405_init.sql"], newest, "rename x", UP, DOWN, NOW) == [
        ("20260304050607_rename_x.sql", f"{up}\n{UP}\n{down}\n{DOWN}")
    ]


def test_no_new_migration_without_a_convention() -> None:
    assert new_migration(["schema.sql", "views.sql"], "", "x", UP, DOWN, NOW) is None
    assert new_migration([], "", "x", UP, DOWN, NOW) is None
    assert not is_migration_name("schema.sql")
    assert not is_migration_name("001_notes.txt")
    assert is_migration_name("V2__x.sql") and is_migration_name("003_orders.up.sql")
