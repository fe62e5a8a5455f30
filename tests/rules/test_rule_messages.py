"""Exact messages, ranges and fixes of the anti-pattern rules (the fixtures check the lines)."""

from __future__ import annotations

from sql_lsp.config import Config, merge
from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

SCHEMA = """\
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, deleted_at timestamptz);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, note text);
"""


def found(
    rule: str, text: str, schema: str = SCHEMA, config: Config | None = None
) -> list[tuple[str, str, str | None]]:
    """(flagged text, message, fix safety) of `rule`'s findings on `text`."""
    doc = Document("file:///project/q.sql", text)
    docs = [Document("file:///project/schema.sql", schema), doc] if schema else [doc]
    findings = [f for f in Linter(config).lint(doc, build_catalog(docs)) if f.rule == rule]
    return [(text[f.start : f.end], f.message, f.fix_safety) for f in findings]


def fixed(rule: str, text: str, schema: str = SCHEMA, unsafe: bool = False) -> str:
    doc = Document("file:///project/q.sql", text)
    docs = [Document("file:///project/schema.sql", schema), doc] if schema else [doc]
    findings = [f for f in Linter().lint(doc, build_catalog(docs)) if f.rule == rule]
    fixes = [(f.rule, f.fix) for f in findings if f.fix and (f.fix.safe or unsafe)]
    return apply_edits(text, fixes)[0]


def test_null_comparison() -> None:
    text = "SELECT id FROM users WHERE deleted_at = NULL OR NULL <> email"
    assert found("null-comparison", text) == [
        (
            "deleted_at = NULL",
            "`deleted_at = NULL` is never true (a comparison with NULL yields NULL); "
            "use `deleted_at IS NULL`",
            "unsafe",
        ),
        (
            "NULL <> email",
            "`NULL <> email` is never true (a comparison with NULL yields NULL); "
            "use `email IS NOT NULL`",
            "unsafe",
        ),
    ]
    assert fixed("null-comparison", text) == text
    assert (
        fixed("null-comparison", text, unsafe=True)
        == "SELECT id FROM users WHERE deleted_at IS NULL OR email IS NOT NULL"
    )
    assert fixed("null-comparison", "SELECT 1 FROM orders WHERE id % 2 != NULL", unsafe=True) == (
        "SELECT 1 FROM orders WHERE (id % 2) IS NOT NULL"
    )
    assert found("null-comparison", "UPDATE users SET deleted_at = NULL WHERE id = 1") == []


def test_update_without_where() -> None:
    text = "WITH x AS (UPDATE ONLY public.users u SET email = '' RETURNING id) SELECT 1"
    assert found("update-without-where", text) == [
        (
            "UPDATE ONLY public.users u",
            "UPDATE of public.users has no WHERE clause: it rewrites every row of the table",
            None,
        )
    ]
    temp = "CREATE TEMP TABLE t (a int);\nUPDATE t SET a = 1;\nUPDATE users SET email = ''"
    assert [m for _, m, _ in found("update-without-where", temp)] == [
        "UPDATE of users has no WHERE clause: it rewrites every row of the table"
    ]


def test_delete_without_where() -> None:
    assert found("delete-without-where", "DELETE\n  FROM orders AS o") == [
        (
            "DELETE\n  FROM orders AS o",
            "DELETE FROM orders has no WHERE clause: it deletes every row of the table "
            "(use TRUNCATE if that is the intent)",
            None,
        )
    ]
    assert found("delete-without-where", "TRUNCATE orders") == []


def test_findings_that_depend_on_the_file_are_not_shared_between_files() -> None:
    """The same statement text in two files: only the file that created the temporary table
    is silent (the linter's cache must not carry one file's answer to the other)."""
    linter = Linter()
    a = Document("file:///project/a.sql", "CREATE TEMP TABLE t (x int);\nDELETE FROM t;")
    b = Document("file:///project/b.sql", "CREATE TABLE t (x int);\nDELETE FROM t;")
    catalog = build_catalog([a, b])
    for doc, expected in ((a, []), (b, ["delete-without-where"]), (a, [])):
        assert [f.rule for f in linter.lint(doc, catalog) if f.rule.endswith("-where")] == expected


def test_not_in_subquery() -> None:
    anti_join = (
        "NOT IN (SELECT …) cannot be planned as an anti-join (the subquery is hashed in "
        "memory, or rescanned for every row); use NOT EXISTS"
    )
    null_trap = (
        "NOT IN (SELECT …) is never true once the subquery returns a NULL, and cannot be "
        "planned as an anti-join; use NOT EXISTS"
    )
    text = "SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM orders) AND true"
    assert found("not-in-subquery", text) == [
        ("id NOT IN (SELECT user_id FROM orders)", anti_join, "safe")
    ]
    assert fixed("not-in-subquery", text) == (
        "SELECT id FROM users WHERE NOT EXISTS "
        "(SELECT 1 FROM orders WHERE orders.user_id = users.id) AND true"
    )
    # orders.note may be NULL: the rewrite changes the result when it is
    text = "SELECT u.id FROM users u WHERE u.email NOT IN (SELECT o.note FROM orders o)"
    assert found("not-in-subquery", text) == [
        ("u.email NOT IN (SELECT o.note FROM orders o)", null_trap, "unsafe")
    ]
    assert fixed("not-in-subquery", text) == text
    # `users.id` inside the subquery would name the subquery's `orders users`: no rewrite
    text = "SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM orders users)"
    assert found("not-in-subquery", text) == [(text[27:], anti_join, None)]


def test_order_by_random() -> None:
    text = "SELECT id FROM users u JOIN public.orders o ON o.user_id = u.id ORDER BY random ( )"
    assert found("order-by-random", text) == [
        (
            "random ( )",
            "ORDER BY random ( ) sorts every row the query reads from users, public.orders, "
            "whatever the LIMIT, and no index can help; sample with TABLESAMPLE or look up "
            "random keys",
            None,
        )
    ]


def test_large_offset_and_its_threshold() -> None:
    text = "SELECT id FROM users ORDER BY id LIMIT 10 OFFSET 1500"
    message = (
        "OFFSET 1500 produces and discards 1,500 rows before the first one returned, and each "
        "later page costs more; paginate with a keyset condition "
        "(WHERE key > last key seen ORDER BY key LIMIT n)"
    )
    assert found("large-offset", text) == [("OFFSET 1500", message, None)]
    config, errors = merge(Config(), {"rules": {"large-offset": {"threshold": 2000}}})
    assert errors == []
    assert found("large-offset", text, config=config) == []
    lower = "SELECT id FROM users ORDER BY id LIMIT 10 OFFSET 200"
    config, _ = merge(Config(), {"rules": {"large-offset": {"threshold": 200}}})
    assert [t for t, _, _ in found("large-offset", lower, config=config)] == ["OFFSET 200"]


def test_limit_without_order_by() -> None:
    text = "SELECT id FROM (SELECT id FROM orders ORDER BY id LIMIT 5) o\nFETCH NEXT 2 ROWS ONLY"
    assert found("limit-without-order-by", text) == [
        (
            "FETCH NEXT 2",
            "FETCH NEXT 2 without ORDER BY returns whichever rows the plan produces first: "
            "which ones can change from run to run; add an ORDER BY on a unique key",
            None,
        )
    ]
    assert found("limit-without-order-by", "SELECT email FROM users WHERE id = 3 LIMIT 1") == []


def test_count_for_existence() -> None:
    text = "SELECT id FROM users u WHERE 1 > (SELECT count(*) FROM orders WHERE user_id = u.id)"
    assert found("count-for-existence", text) == [
        (
            "1 > (SELECT count(*) FROM orders WHERE user_id = u.id)",
            "`1 > count(*)` counts every matching row only to test whether there is one; "
            "use NOT EXISTS (…), which stops at the first",
            "safe",
        )
    ]
    assert fixed("count-for-existence", text) == (
        "SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders WHERE user_id = u.id)"
    )
    text = "SELECT coalesce((SELECT count(*) FROM orders) = 0, false) AS empty"
    assert fixed("count-for-existence", text) == (
        "SELECT coalesce((NOT EXISTS (SELECT 1 FROM orders)), false) AS empty"
    )


def test_insert_without_columns() -> None:
    text = "INSERT INTO orders SELECT 1, 2, NULL UNION ALL SELECT 3, 4, 'x'"
    message = (
        "INSERT INTO orders without a column list depends on the order of its columns: a column "
        "added, dropped or reordered makes it fail or fill the wrong columns; list them"
    )
    assert found("insert-without-columns", text) == [("INSERT INTO orders", message, "safe")]
    assert fixed("insert-without-columns", text) == text.replace(
        "orders", "orders (id, user_id, note)"
    )
    # the schema file declares orders; a later migration adds a column: the fix lists it
    migration = (
        "ALTER TABLE orders ADD COLUMN paid boolean;\nINSERT INTO orders VALUES (1, 2, '', true)"
    )
    assert fixed("insert-without-columns", migration) == migration.replace(
        "orders VALUES", "orders (id, user_id, note, paid) VALUES"
    )
    assert found("insert-without-columns", "INSERT INTO orders VALUES (1, 2)") == [
        ("INSERT INTO orders", message, None)
    ]


def test_implicit_cross_join() -> None:
    text = "SELECT 1 FROM users AS u, (SELECT id FROM orders) o, orders WHERE orders.id = o.id"
    assert found("implicit-cross-join", text) == [
        (
            "(SELECT id FROM orders) o",
            "subquery o is listed in FROM with no condition relating it to users AS u: a cross "
            "join of every row with every row; add the join condition (or write CROSS JOIN)",
            None,
        ),
        (
            "orders",
            "orders is listed in FROM with no condition relating it to users AS u: a cross "
            "join of every row with every row; add the join condition (or write CROSS JOIN)",
            None,
        ),
    ]


def test_plaintext_password_never_prints_the_password() -> None:
    text = "-- ünïcode before\nALTER ROLE \"Ops\" LOGIN PASSWORD 'hunter2'"
    assert found("plaintext-password", text, schema="") == [
        (
            "'hunter2'",
            "the password of role Ops is written in clear text: it stays in this file, its "
            "history and the server's logs; set a SCRAM-SHA-256 hash (psql's \\password "
            "computes one)",
            None,
        )
    ]


def test_grant_all_and_grant_to_public() -> None:
    text = "GRANT ALL PRIVILEGES ON TABLE s.orders TO app, PUBLIC"
    assert found("grant-all", text, schema="") == [
        (
            "ALL PRIVILEGES",
            "GRANT ALL PRIVILEGES grants every privilege on table s.orders, including ones the "
            "grantee does not need; grant only the privileges it uses",
            None,
        )
    ]
    assert found("grant-to-public", text, schema="") == [
        (
            "PUBLIC",
            "granting to PUBLIC gives the privilege to every role of the server, present and "
            "future; grant it to a role that only the intended users are members of",
            None,
        )
    ]
    assert found("grant-to-public", "REVOKE ALL ON orders FROM PUBLIC", schema="") == []


def test_security_definer_search_path() -> None:
    text = "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql SECURITY  DEFINER AS 'SELECT 1'"
    assert found("security-definer-search-path", text, schema="") == [
        (
            "SECURITY  DEFINER",
            "SECURITY DEFINER function s.f has no SET search_path: it runs with its owner's "
            "privileges but finds tables, functions and operators through the caller's "
            "search_path; add SET search_path = <its schemas>, pg_temp",
            None,
        )
    ]


def test_migration_rules_judge_the_table_by_the_file() -> None:
    index = "CREATE INDEX orders_note_idx ON orders (note)"
    assert found("non-concurrent-index", index) == [
        (
            "CREATE INDEX",
            "CREATE INDEX on existing table orders blocks its writes for the whole build; use "
            "CREATE INDEX CONCURRENTLY (outside a transaction block)",
            "unsafe",
        )
    ]
    assert fixed("non-concurrent-index", index, unsafe=True) == index.replace(
        "INDEX", "INDEX CONCURRENTLY"
    )
    key = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)"
    assert found("foreign-key-not-valid", key) == [
        (
            "FOREIGN KEY",
            "adding this foreign key to existing table orders checks all its rows while "
            "blocking writes to orders and users; add it NOT VALID, then VALIDATE CONSTRAINT "
            "in a separate statement",
            None,
        )
    ]
    # the same statements right after the table's creation in the same file: nothing to block
    create = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, note text);\n"
    assert found("non-concurrent-index", create + index, schema="") == []
    assert found("foreign-key-not-valid", create + key, schema="") == []


def test_inline_index_definition() -> None:
    text = "CREATE TABLE t (\n  a int,\n  b text,\n  UNIQUE KEY t_b (b DESC),\n  KEY (a)\n);\n"
    rules = {f.rule for f in Linter().lint(Document("file:///t.sql", text))}
    assert rules == {"syntax-error", "inline-index-definition"}
    assert found("inline-index-definition", text, schema="") == [
        (
            "UNIQUE KEY t_b (b DESC)",
            "MySQL index definition `UNIQUE KEY t_b (b DESC)` (and 1 more) inside CREATE "
            "TABLE: PostgreSQL rejects it; create the index with CREATE INDEX after the table",
            "safe",
        )
    ]
    assert fixed("inline-index-definition", text, schema="") == (
        "CREATE TABLE t (\n  a int,\n  b text\n);\n"
        "CREATE UNIQUE INDEX t_b ON t (b DESC);\nCREATE INDEX t_a_idx ON t (a);\n"
    )
    # other MySQL syntax left: the statement would still not be PostgreSQL, so no fix
    mysql = "CREATE TABLE m (id int AUTO_INCREMENT, KEY m_id (id)) ENGINE=InnoDB"
    assert [s for _, _, s in found("inline-index-definition", mysql, schema="")] == [None]


def test_mysql_multi_table_update_and_delete_are_restricted_by_their_join() -> None:
    mysql = Config(dialect="mysql")
    joined = "UPDATE a JOIN b ON a.id = b.a_id SET a.x = 1"
    assert found("update-without-where", joined, schema="", config=mysql) == []
    deleted = "DELETE a FROM a JOIN b ON a.id = b.a_id"
    assert found("delete-without-where", deleted, schema="", config=mysql) == []
    assert [t for t, _, _ in found("delete-without-where", "DELETE FROM a", "", mysql)] == [
        "DELETE FROM a"
    ]


def test_outer_join_nullified() -> None:
    text = (
        "SELECT u.id FROM users u LEFT JOIN orders o ON o.user_id = u.id "
        "WHERE u.id > 1 AND (o.note = 'x')"
    )
    assert found("outer-join-nullified", text) == [
        (
            "o.note = 'x'",
            "`o.note = 'x'` is never true on the rows the outer join adds for `o` (their "
            "columns are NULL), so the join is an inner join; move the condition into the "
            "join's ON clause, or write INNER JOIN",
            None,
        )
    ]
    anti = "SELECT u.id FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE o.id IS NULL"
    assert found("outer-join-nullified", anti) == []
    full = "SELECT u.id FROM users u FULL JOIN orders o ON o.user_id = u.id WHERE u.email = 'x'"
    assert found("outer-join-nullified", full) == [
        (
            "u.email = 'x'",
            "`u.email = 'x'` is never true on the rows the outer join adds for `u` (their "
            "columns are NULL), so WHERE removes them again; move the condition into the "
            "join's ON clause",
            None,
        )
    ]


def test_correlated_subquery() -> None:
    text = "SELECT u.id, (SELECT count(*) FROM orders o WHERE o.user_id = u.id) AS n FROM users u"
    assert found("correlated-subquery", text) == [
        (
            "(SELECT count(*) FROM orders o WHERE o.user_id = u.id)",
            "This subquery runs once per row of the outer query (it refers to `u`); join the "
            "table, or use a LATERAL subquery, instead",
            None,
        )
    ]
    assert found("correlated-subquery", "SELECT u.id, (SELECT 1) FROM users u") == []


def test_leading_wildcard_like() -> None:
    text = "SELECT id FROM users WHERE email ILIKE '%@example.com' AND id > 1"
    assert found("leading-wildcard-like", text) == [
        (
            "email ILIKE '%@example.com'",
            "A pattern that starts with `%` cannot use a B-tree index: `ILIKE` reads every row "
            "of `users`; a trigram index (`USING gin (email gin_trgm_ops)`) serves it",
            None,
        )
    ]
    trigram = SCHEMA + "CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);\n"
    assert found("leading-wildcard-like", text, trigram) == []
    assert found("leading-wildcard-like", text, schema="") == []


def test_index_column_order_names_the_index() -> None:
    schema = SCHEMA + "CREATE INDEX orders_user_note_idx ON orders (user_id, note);\n"
    text = "SELECT id FROM orders o WHERE o.note = 'open'"
    assert found("index-column-order", text, schema) == [
        (
            "o.note",
            "`note` is only the second key of index `orders_user_note_idx` (user_id, note) and "
            "no index of `orders` starts with it, so this condition cannot use an index; index "
            "`note` on its own, or put it first",
            None,
        )
    ]
    both = "SELECT id FROM orders WHERE note = 'open' AND user_id = 3"
    assert found("index-column-order", both, schema) == []
    assert found("index-column-order", text) == []
