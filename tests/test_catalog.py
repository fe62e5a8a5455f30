"""The catalog built from workspace DDL: tables, columns, keys, indexes, changes and origins."""

from __future__ import annotations

from helpers import catalog_of, lint_text

from sql_lsp.catalog.model import Catalog, Index, IndexKey, Origin, Table
from sql_lsp.document import Document

DOC = "file:///project/0.sql"


def _table(catalog: Catalog, name: str, schema: str = "public") -> Table:
    table = catalog.tables.get((schema, name))
    assert table is not None, sorted(catalog.tables)
    return table


def _columns(table: Table) -> list[tuple[str, str | None, bool]]:
    return [(c.name, c.type, c.not_null) for c in table.columns.values()]


def _index(table: Table, name: str) -> Index:
    index = table.index_named(name)
    assert index is not None, [i.name for i in table.indexes]
    return index


def _keys(index: Index) -> list[tuple[str, str | None, bool]]:
    return [(k.expr, k.column, k.desc) for k in index.keys]


def _fks(table: Table) -> list[tuple]:
    return [
        (f.name, f.columns, f.ref_schema, f.ref_table, f.ref_columns) for f in table.foreign_keys
    ]


def _text_at(text: str, ordinal: int, origin: Origin) -> str:
    """The text an origin points at: `ordinal` counts the catalog statements of `text`."""
    doc = Document(DOC, text)
    stmt = doc.catalog_statements[ordinal]
    assert stmt.catalog_ordinal == origin.stmt
    return stmt.text[origin.start : origin.end]


# -- tables and columns -------------------------------------------------------------------------


def test_columns_types_and_not_null() -> None:
    c = catalog_of(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name varchar(40),"
        " score numeric(10, 2) NULL, n serial, w int GENERATED ALWAYS AS IDENTITY,"
        " created_at timestamptz NOT NULL DEFAULT now());"
    )
    users = _table(c, "users")
    assert _columns(users) == [
        ("id", "bigint", True),  # PRIMARY KEY implies NOT NULL
        ("email", "text", True),
        ("name", "varchar(40)", False),
        ("score", "decimal(10, 2)", False),
        ("n", "int", True),  # serial is integer with a sequence default, as in pg_attribute
        ("w", "int", True),
        ("created_at", "timestamptz", True),
    ]
    assert users.columns["created_at"].default == "now()"  # as written
    assert users.kind == "table"


def test_primary_key_and_unique_inline() -> None:
    users = _table(
        catalog_of("CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE);"), "users"
    )
    pk, uq = users.indexes
    assert (pk.name, _keys(pk), pk.unique, pk.primary, pk.constraint) == (
        "users_pkey",
        [("id", "id", False)],
        True,
        True,
        "primary key",
    )
    assert (uq.name, _keys(uq), uq.unique, uq.primary, uq.constraint) == (
        "users_email_key",
        [("email", "email", False)],
        True,
        False,
        "unique",
    )


def test_primary_key_and_unique_table_level() -> None:
    c = catalog_of(
        "CREATE TABLE m (team_id int, user_id int, role text,"
        " CONSTRAINT m_pk PRIMARY KEY (team_id, user_id), UNIQUE (user_id, role),"
        " CONSTRAINT m_role_key UNIQUE (role));"
    )
    m = _table(c, "m")
    assert [(i.name, i.columns, i.primary, i.constraint) for i in m.indexes] == [
        ("m_pk", ("team_id", "user_id"), True, "primary key"),
        ("m_user_id_role_key", ("user_id", "role"), False, "unique"),
        ("m_role_key", ("role",), False, "unique"),
    ]
    assert _columns(m)[:2] == [("team_id", "int", True), ("user_id", "int", True)]


def test_create_table_if_not_exists_keeps_the_first() -> None:
    c = catalog_of("CREATE TABLE a (id int);\nCREATE TABLE IF NOT EXISTS a (other int);")
    assert list(_table(c, "a").columns) == ["id"]


def test_views_and_create_table_as() -> None:
    c = catalog_of(
        "CREATE TABLE users (id int PRIMARY KEY, email text, name text);\n"
        "CREATE VIEW v AS SELECT id, email AS mail FROM users;\n"
        "CREATE TABLE copy AS SELECT * FROM users;"
    )
    assert (_table(c, "v").kind, list(_table(c, "v").columns)) == ("view", ["id", "mail"])
    assert list(_table(c, "copy").columns) == ["id", "email", "name"]


# -- foreign keys -------------------------------------------------------------------------------


def test_foreign_keys_inline_and_table_level() -> None:
    text = (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE teams (id int PRIMARY KEY);\n"
        "CREATE TABLE orders (\n"
        "    id bigint PRIMARY KEY,\n"
        "    user_id bigint REFERENCES users,\n"
        "    team_id int,\n"
        "    CONSTRAINT orders_team_fk FOREIGN KEY (team_id) REFERENCES teams (id)\n"
        ");"
    )
    orders = _table(catalog_of(text), "orders")
    assert _fks(orders) == [
        ("orders_user_id_fkey", ("user_id",), "public", "users", ("id",)),  # the referenced PK
        ("orders_team_fk", ("team_id",), "public", "teams", ("id",)),
    ]
    inline, table_level = orders.foreign_keys
    assert _text_at(text, 2, inline.origin) == "REFERENCES users"
    assert _text_at(text, 2, table_level.origin) == "FOREIGN KEY (team_id) REFERENCES teams (id)"


def test_foreign_key_to_a_table_declared_later() -> None:
    c = catalog_of(
        "CREATE TABLE a (b_id int REFERENCES b (id));\nCREATE TABLE b (id int PRIMARY KEY);"
    )
    assert _fks(_table(c, "a")) == [("a_b_id_fkey", ("b_id",), "public", "b", ("id",))]


def test_alter_table_add_several_constraints() -> None:
    text = (
        "CREATE TABLE users (id int PRIMARY KEY);\n"
        "CREATE TABLE teams (id int PRIMARY KEY);\n"
        "CREATE TABLE m (id int, user_id int, team_id int);\n"
        "ALTER TABLE m\n"
        "    ADD CONSTRAINT m_user_fk FOREIGN KEY (user_id) REFERENCES users (id),\n"
        "    ADD CONSTRAINT m_team_fk FOREIGN KEY (team_id) REFERENCES teams (id),\n"
        "    ADD CONSTRAINT m_pk PRIMARY KEY (id);"
    )
    m = _table(catalog_of(text), "m")
    assert _fks(m) == [
        ("m_user_fk", ("user_id",), "public", "users", ("id",)),
        ("m_team_fk", ("team_id",), "public", "teams", ("id",)),
    ]
    assert [(i.name, i.columns, i.primary) for i in m.indexes] == [("m_pk", ("id",), True)]
    assert [f.origin.stmt for f in m.foreign_keys] == [3, 3]
    assert [_text_at(text, 3, f.origin) for f in m.foreign_keys] == [
        "FOREIGN KEY (user_id) REFERENCES users (id)",
        "FOREIGN KEY (team_id) REFERENCES teams (id)",
    ]


def test_alter_table_drop_constraint_and_column() -> None:
    c = catalog_of(
        "CREATE TABLE u (id int PRIMARY KEY);\n"
        "CREATE TABLE t (id int, a int, b int REFERENCES u, CONSTRAINT t_a_key UNIQUE (a));\n"
        "ALTER TABLE t DROP CONSTRAINT t_a_key;\n"
        "ALTER TABLE t DROP COLUMN b, ADD COLUMN note text NOT NULL;"
    )
    t = _table(c, "t")
    assert t.indexes == [] and t.foreign_keys == []
    assert _columns(t) == [("id", "int", False), ("a", "int", False), ("note", "text", True)]


def test_alter_column() -> None:
    c = catalog_of(
        "CREATE TABLE b (x text, y int, z int NOT NULL);\n"
        "ALTER TABLE ONLY b ALTER COLUMN y SET NOT NULL, ALTER COLUMN z DROP NOT NULL,"
        " ALTER COLUMN x TYPE varchar(10);"
    )
    assert _columns(_table(c, "b")) == [
        ("x", "varchar(10)", False),
        ("y", "int", True),
        ("z", "int", False),
    ]


# -- indexes ------------------------------------------------------------------------------------


def test_index_forms() -> None:
    text = (
        "CREATE TABLE o (id int, user_id int, status text, created_at timestamp, tags text[]);\n"
        "CREATE INDEX o_composite ON o (user_id, status, created_at);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS o_order ON o USING btree"
        " (user_id ASC, created_at DESC) INCLUDE (id, status) WHERE status <> 'done';\n"
        "CREATE INDEX ON o (lower(status));\n"
        "CREATE INDEX o_tags ON o USING gin (tags);\n"
        "CREATE INDEX o_trgm ON o USING gist (status gist_trgm_ops);\n"
        "CREATE INDEX o_day ON o ((created_at::date));"
    )
    o = _table(catalog_of(text), "o")
    assert [i.name for i in o.indexes] == [
        "o_composite",
        "o_order",
        "o_lower_idx",  # PostgreSQL's name for an unnamed expression index
        "o_tags",
        "o_trgm",
        "o_day",
    ]
    composite = _index(o, "o_composite")
    assert composite.columns == ("user_id", "status", "created_at")
    assert (composite.unique, composite.method, composite.predicate) == (False, "btree", None)

    order = _index(o, "o_order")
    assert _keys(order) == [("user_id", "user_id", False), ("created_at", "created_at", True)]
    assert (order.unique, order.primary, order.constraint) == (True, False, None)
    assert order.include == ("id", "status")
    assert order.predicate == "status <> 'done'" and order.partial

    lower = _index(o, "o_lower_idx")
    assert lower.columns == (None,)
    assert (
        lower.keys[0].expr
        == _index(
            _table(
                catalog_of("CREATE TABLE o (status text); CREATE INDEX i ON o (LOWER(status));"),
                "o",
            ),
            "i",
        )
        .keys[0]
        .expr
    )  # expressions are normalised

    assert (_index(o, "o_tags").method, _index(o, "o_tags").columns) == ("gin", ("tags",))
    trgm = _index(o, "o_trgm")
    assert (trgm.method, trgm.keys) == (
        "gist",
        (IndexKey(expr="status", column="status", opclass="gist_trgm_ops"),),
    )
    day = _index(o, "o_day")
    assert day.columns == (None,)
    assert (
        day.keys[0].expr
        == _index(
            _table(
                catalog_of(
                    "CREATE TABLE o (created_at timestamp); CREATE INDEX i ON o (date(created_at));"
                ),
                "o",
            ),
            "i",
        )
        .keys[0]
        .expr
    )  # date(x) is x::date
    assert _text_at(text, 3, lower.origin) == "CREATE INDEX ON o (lower(status))"


def test_index_in_a_later_file_counts() -> None:
    c = catalog_of("CREATE TABLE t (a int);", "SELECT 1;\nCREATE INDEX t_a ON t (a);")
    index = _index(_table(c, "t"), "t_a")
    assert index.origin == Origin("file:///project/1.sql", 0, 0, len("CREATE INDEX t_a ON t (a)"))


def test_drop_table_and_index() -> None:
    c = catalog_of(
        "CREATE TABLE keep (id int PRIMARY KEY);\n"
        "CREATE TABLE tmp (id int PRIMARY KEY, keep_id int REFERENCES keep);\n"
        "CREATE INDEX keep_x ON keep (id);\n"
        "CREATE TABLE other (tmp_id int REFERENCES tmp (id));\n"
        "DROP TABLE keep;\n"  # fails in PostgreSQL: tmp depends on it
        "DROP TABLE tmp CASCADE;\n"
        "DROP INDEX public.keep_x;\n"
        "DROP INDEX IF EXISTS never_was;\n"
        "DROP TABLE IF EXISTS never_was;"
    )
    assert sorted(c.tables) == [("public", "keep"), ("public", "other")]
    assert [i.name for i in _table(c, "keep").indexes] == ["keep_pkey"]
    assert _table(c, "other").foreign_keys == []  # DROP TABLE removes the keys that point at it


def test_renames() -> None:
    c = catalog_of(
        "CREATE TABLE users (id int PRIMARY KEY);\n"
        "CREATE TABLE accounts (id int PRIMARY KEY, owner_id int REFERENCES users);\n"
        "CREATE INDEX acc_owner ON accounts (owner_id);\n"
        "ALTER TABLE accounts RENAME TO members;\n"
        "ALTER TABLE members RENAME COLUMN owner_id TO user_id;\n"
        "ALTER INDEX acc_owner RENAME TO members_user_id_idx;\n"
        "ALTER TABLE users RENAME COLUMN id TO user_pk;"
    )
    assert ("public", "accounts") not in c.tables
    members = _table(c, "members")
    assert list(members.columns) == ["id", "user_id"]
    assert [(i.name, i.table, i.columns) for i in members.indexes] == [
        ("accounts_pkey", "members", ("id",)),
        ("members_user_id_idx", "members", ("user_id",)),
    ]
    assert _fks(members) == [
        ("accounts_owner_id_fkey", ("user_id",), "public", "users", ("user_pk",))
    ]


# -- names: schemas, search_path, quoting -------------------------------------------------------


def test_search_path_schemas_and_folding() -> None:
    c = catalog_of(
        "CREATE SCHEMA app;\n"
        "SET search_path TO app, public;\n"
        'CREATE TABLE "Users" (Id int PRIMARY KEY, "Email" text UNIQUE);\n'
        'CREATE TABLE Accounts (ID int PRIMARY KEY, Owner_Id int REFERENCES "Users");\n'
        "CREATE TABLE public.logs (id int);\n"
        'CREATE INDEX "Acc_Owner" ON APP.ACCOUNTS (OWNER_ID);\n'
        "SET search_path = public;\n"
        "CREATE TABLE t2 (x int);",
    )
    assert sorted(c.tables) == [
        ("app", "Users"),
        ("app", "accounts"),
        ("public", "logs"),
        ("public", "t2"),
    ]
    assert "app" in c.schemas
    users = _table(c, "Users", "app")
    assert list(users.columns) == ["id", "Email"]
    assert [i.name for i in users.indexes] == ["Users_pkey", "Users_Email_key"]
    accounts = _table(c, "accounts", "app")
    assert _fks(accounts) == [("accounts_owner_id_fkey", ("owner_id",), "app", "Users", ("id",))]
    assert [(i.name, i.columns) for i in accounts.indexes][1] == ("Acc_Owner", ("owner_id",))
    assert c.table("users") is None and c.table("Users", search_path=("app",)) is users
    assert c.table("accounts", search_path=("public", "app")) is accounts


def test_each_file_starts_with_the_default_search_path() -> None:
    c = catalog_of("SET search_path TO app;\nCREATE TABLE a (id int);", "CREATE TABLE b (id int);")
    assert sorted(c.tables) == [("app", "a"), ("public", "b")]


def test_set_config_search_path() -> None:
    c = catalog_of(
        "SELECT pg_catalog.set_config('search_path', 'sales', false);\nCREATE TABLE a (id int);"
    )
    assert sorted(c.tables) == [("sales", "a")]


# -- origins ------------------------------------------------------------------------------------


def test_origins_point_at_the_declaration() -> None:
    text = (
        "SELECT 1;\n"
        "CREATE TABLE users (\n"
        "    id int PRIMARY KEY,\n"
        "    email text UNIQUE\n"
        ");\n"
        "CREATE INDEX users_lower_email ON users (lower(email));"
    )
    users = _table(catalog_of(text), "users")
    assert users.origin is not None and users.origin.doc == DOC
    assert users.origin.stmt == 0  # the SELECT is not a catalog statement
    assert _text_at(text, 0, users.origin) == "users"
    assert _text_at(text, 0, users.columns["email"].origin) == "email"
    pk, uq, expr = users.indexes
    assert _text_at(text, 0, pk.origin) == "id"
    assert _text_at(text, 0, uq.origin) == "email"
    assert (
        _text_at(text, 1, expr.origin) == "CREATE INDEX users_lower_email ON users (lower(email))"
    )
    assert [type(o).__name__ for o in (catalog_of(text).declared_by(DOC, 1))] == ["Index"]


def test_ddl_it_does_not_understand_is_harmless() -> None:
    c = catalog_of(
        "CREATE TABLE t (id int);\n"
        "ALTER TABLE t OWNER TO app;\n"
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
        "CREATE TABLE broken (;\n"
        "ALTER TABLE nowhere ADD COLUMN x int;\n"
        "DROP TABLE nowhere;\n"
        "CREATE INDEX i ON nowhere (x);"
    )
    assert sorted(c.tables) == [("public", "t")]
    assert list(_table(c, "t").columns) == ["id"]


def test_expression_index_on_date_function_matches_the_cast() -> None:
    """`date(x)` and `x::date` are the same expression to PostgreSQL (and to the rules)."""
    schema = (
        "CREATE TABLE o (id int PRIMARY KEY, created_at timestamp NOT NULL);\n"
        "CREATE INDEX o_created_at ON o (created_at);\n"
        "CREATE INDEX o_day ON o (date(created_at));"
    )
    query = "SELECT id FROM o WHERE created_at::date = '2024-05-01';"
    assert lint_text(query, schema=schema) == []
    without = schema.replace("CREATE INDEX o_day ON o (date(created_at));", "")
    assert [f.rule for f in lint_text(query, schema=without)] == ["function-on-indexed-column"]


def test_columns_as_they_stand_at_each_statement() -> None:
    from sql_lsp.config import Config
    from sql_lsp.project import Project
    from sql_lsp.rules import RULES_BY_ID
    from sql_lsp.rules.base import RuleContext

    project = Project()
    first, second, report = "file:///m/001.sql", "file:///m/002.sql", "file:///m/report.sql"
    project.set_file(
        first,
        "CREATE TABLE t (a int, b int);\nSELECT * FROM t;\nALTER TABLE t ADD c int;\nSELECT * FROM t;",
    )
    project.set_file(second, "ALTER TABLE t RENAME b TO bb;\nSELECT * FROM t;")
    project.set_file(report, "SELECT * FROM t;")
    catalog = project.catalog
    t = catalog.tables[("public", "t")]
    seen = []
    for uri in (first, second, report):
        doc = project.document(uri)
        for s in doc.statements:
            ctx = RuleContext(doc, s, catalog, Config(), RULES_BY_ID["select-star"])
            seen.append((uri.rsplit("/", 1)[1], s.text.split()[0], ctx.columns_at(t)))
    assert seen == [
        ("001.sql", "CREATE", None),  # not declared yet
        ("001.sql", "SELECT", ("a", "b")),
        ("001.sql", "ALTER", ("a", "b")),
        ("001.sql", "SELECT", ("a", "b", "c")),
        ("002.sql", "ALTER", ("a", "b", "c")),
        ("002.sql", "SELECT", ("a", "bb", "c")),
        ("report.sql", "SELECT", ("a", "bb", "c")),  # a file of queries sees the final schema
    ]


def test_two_documents_creating_one_table_are_two_versions_not_one_sequence() -> None:
    """Two schema versions side by side each create `t` (PostgreSQL would run only one). The
    first definition stays, as PostgreSQL would keep it; which one holds for a query is unknown,
    so neither version's indexes are redundant to the other's and, when the column lists differ,
    the columns are unknown. An index a third file adds is still judged against both."""
    from sql_lsp.lint import Linter
    from sql_lsp.project import build_catalog

    v1 = Document(
        "file:///p/v1.sql", "CREATE TABLE t (a int PRIMARY KEY, b int);\nCREATE INDEX ON t (b);\n"
    )
    v2 = Document(
        "file:///p/v2.sql",
        "CREATE TABLE t (a int PRIMARY KEY, b int, c int);\nCREATE INDEX ON t (b);\n"
        "INSERT INTO t VALUES (1, 2, 3);\nSELECT c FROM t WHERE a = 1;\n",
    )
    more = Document("file:///p/v3.sql", "CREATE INDEX t_b2 ON t (b);\n")
    catalog = build_catalog([v1, v2, more])
    table = catalog.table("t", None, ("public",))
    assert table is not None and list(table.columns) == ["a", "b"]  # the first one, as in PG
    assert table.redefined_in == {"file:///p/v2.sql"}
    assert table.columns_known is False
    assert [i.name for i in table.indexes] == ["t_pkey", "t_b_idx", "t_b_idx1", "t_b2"]
    linter = Linter()
    assert linter.lint(v1, catalog) == []
    assert linter.lint(v2, catalog) == []
    found = {f.rule: f.message for f in linter.lint(more, catalog)}
    assert sorted(found) == ["non-concurrent-index", "redundant-index"]
    assert found["redundant-index"] == (
        "index t_b2 on t (b) is redundant: it is identical to t_b_idx (b)"
    )
    same = Document("file:///p/v2.sql", "CREATE TABLE t (a int PRIMARY KEY, b int);\n")
    catalog = build_catalog([v1, same])
    assert catalog.table("t", None, ("public",)).columns_known is True  # the same columns
    # IF NOT EXISTS: the later file expects the table, a no-op as in PostgreSQL, so a column
    # it names that the table lacks is an error again
    later = Document(
        "file:///p/v2.sql",
        "CREATE TABLE IF NOT EXISTS t (a int PRIMARY KEY, c int);\nSELECT c FROM t;\n",
    )
    catalog = build_catalog([v1, later])
    table = catalog.table("t", None, ("public",))
    assert table.redefined_in == set() and table.columns_known is True
    assert [f.rule for f in linter.lint(later, catalog)] == ["unknown-column"]
