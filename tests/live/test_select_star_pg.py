"""select-star's fix, proven on the suite's PostgreSQL: for every shape below, the original query
and the query after the rule's safe fixes return the same column names, in the same order, with
the same types and the same rows. Shapes marked NOFIX get a finding but no safe fix; shapes marked
NONE get no finding. Every shape is first run as written, so each is SQL PostgreSQL accepts.

One database, one connection, for the whole module.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from live_support import LiveServer, url_with

from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

SCHEMA = """\
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total numeric(12, 2), note text);
CREATE TABLE items (order_id bigint, id int, sku text, qty int);
CREATE TABLE tags (id bigint, tag text);
CREATE TABLE a_one (id int, k int, v text);
CREATE TABLE b_one (id int, k int, w text);
CREATE SCHEMA archive;
CREATE TABLE archive.users (id bigint, email text, closed_at date);
CREATE SCHEMA "Sales";
CREATE TABLE "Sales"."Order Lines" (
    "Line ID" int, "select" int, "User" text, "left" int, "int" int, id bigint
);
CREATE TABLE kw ("from" int, "order" int, "group" text, "Mixed" int, "values" int);
CREATE VIEW active_users AS SELECT id, email FROM users WHERE name IS NOT NULL;
CREATE VIEW user_totals AS SELECT u.id, u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id;
CREATE VIEW short_names (uid) AS SELECT id, email FROM users;
CREATE TABLE parent (id int, p text);
CREATE TABLE child (c int) INHERITS (parent);
"""

DATA = """\
INSERT INTO users VALUES (1, 'a@x', 'Ann'), (2, 'b@x', NULL), (3, 'c@x', 'Cy'), (4, 'd@x', 'Di');
INSERT INTO orders VALUES (10, 1, 5.00, 'n1'), (11, 1, 7.50, NULL), (12, 3, 1.25, 'n3'),
    (13, NULL, 2.00, 'orphan'), (1, 99, 3.00, 'ghost'), (2, 2, 4.00, 'two');
INSERT INTO items VALUES (10, 1, 'A', 2), (10, 2, 'B', 1), (12, 10, 'C', 5), (NULL, 3, 'D', 1);
INSERT INTO tags VALUES (1, 't1'), (1, 't2'), (3, 't3'), (7, 't7');
INSERT INTO a_one VALUES (1, 1, 'a'), (2, 2, 'b'), (3, NULL, 'c'), (5, 5, 'e');
INSERT INTO b_one VALUES (1, 1, 'x'), (2, 3, 'y'), (4, 4, 'z'), (5, 5, 'f');
INSERT INTO archive.users VALUES (1, 'old-a@x', '2020-01-01'), (5, 'e@x', '2021-06-01');
INSERT INTO "Sales"."Order Lines" VALUES (1, 2, 'Ann', 3, 4, 1), (2, 3, 'Bo', 5, 6, 3);
INSERT INTO kw VALUES (1, 2, 'g', 3, 4);
INSERT INTO parent VALUES (1, 'p1');
INSERT INTO child VALUES (2, 'p2', 20);
"""

FIX, NOFIX, NONE = "fix", "no safe fix", "no finding"
SHAPES = [
    # one table
    ("SELECT * FROM users", FIX),
    ("SELECT * FROM users u WHERE u.id > 1", FIX),
    ("SELECT u.* FROM users u", FIX),
    ("SELECT users.* FROM users", FIX),
    ("SELECT public.users.* FROM public.users", FIX),
    ("select * from public.users where id = 1", FIX),
    ("SELECT *, 1 AS one FROM users", FIX),
    ("SELECT 1 AS one, * FROM users", FIX),
    ("SELECT DISTINCT * FROM orders", FIX),
    ("SELECT * FROM users ORDER BY 2 DESC", FIX),
    ("SELECT * FROM ONLY users", FIX),
    ("SELECT * FROM users GROUP BY id", FIX),
    ("SELECT * FROM users UNION ALL SELECT * FROM users", FIX),
    ("SELECT * FROM users EXCEPT SELECT * FROM users WHERE id = 1", FIX),
    ("SELECT * FROM users u WHERE NOT EXISTS (SELECT * FROM orders o WHERE o.user_id = u.id)", FIX),
    # joins
    ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id", FIX),
    ("SELECT * FROM users u LEFT JOIN orders o ON o.user_id = u.id", FIX),
    ("SELECT * FROM users u, orders o WHERE o.user_id = u.id", FIX),
    ("SELECT u.*, o.id FROM users u JOIN orders o ON o.user_id = u.id", FIX),
    ("SELECT o.*, u.email FROM users u JOIN orders o ON o.user_id = u.id", FIX),
    ("SELECT * FROM orders o JOIN items i ON i.order_id = o.id", FIX),
    (
        "SELECT * FROM users u JOIN orders o ON o.user_id = u.id JOIN items i ON i.order_id = o.id",
        FIX,
    ),
    ("SELECT * FROM users, tags WHERE tags.id = users.id", FIX),
    # USING
    ("SELECT * FROM orders o JOIN items i USING (id)", FIX),
    ("SELECT * FROM orders o LEFT JOIN items i USING (id)", FIX),
    ("SELECT * FROM orders o RIGHT JOIN items i USING (id)", FIX),
    ("SELECT * FROM orders o FULL JOIN items i USING (id)", FIX),
    ("SELECT * FROM orders JOIN items USING (id)", FIX),
    ("SELECT * FROM a_one JOIN b_one USING (id, k)", FIX),
    ("SELECT * FROM a_one FULL JOIN b_one USING (k, id)", FIX),
    ("SELECT a_one.* FROM a_one JOIN b_one USING (id)", FIX),
    ("SELECT b_one.*, a_one.v FROM a_one JOIN b_one USING (id)", FIX),
    ("SELECT * FROM a_one JOIN b_one USING (id) JOIN tags USING (id)", FIX),
    ("SELECT * FROM a_one LEFT JOIN b_one USING (id) FULL JOIN tags USING (id)", FIX),
    ("SELECT * FROM users JOIN archive.users USING (id)", FIX),
    ("SELECT * FROM users AS x(user_id) JOIN orders USING (user_id)", FIX),
    ("SELECT * FROM tags, a_one JOIN b_one USING (id) WHERE tags.id = a_one.id", NOFIX),
    ("SELECT * FROM a_one JOIN b_one USING (id), tags", NOFIX),
    (
        "SELECT * FROM users u JOIN orders o USING (id) JOIN archive.users a ON a.id = u.id",
        NOFIX,
    ),
    # NATURAL
    ("SELECT * FROM a_one NATURAL JOIN b_one", FIX),
    ("SELECT * FROM a_one NATURAL LEFT JOIN b_one", FIX),
    ("SELECT * FROM a_one NATURAL FULL JOIN b_one", FIX),
    ("SELECT * FROM users NATURAL JOIN kw", FIX),
    ("SELECT * FROM orders NATURAL JOIN items", FIX),
    ("SELECT * FROM tags NATURAL JOIN a_one NATURAL JOIN b_one", FIX),
    # column-alias lists
    ("SELECT * FROM users AS x(a)", FIX),
    ("SELECT * FROM users AS x(a, b, c)", FIX),
    ("SELECT * FROM users x(uid), orders o WHERE o.user_id = x.uid", FIX),
    ('SELECT x.* FROM users AS x("User Id")', FIX),
    ('SELECT x.*, o.* FROM users AS x("ID", "e mail") JOIN orders o ON o.user_id = x."ID"', FIX),
    # CTEs
    ("WITH c AS (SELECT * FROM users) SELECT * FROM c", FIX),
    (
        "WITH c(k, e) AS (SELECT id, email FROM users) SELECT * FROM c JOIN orders o ON o.user_id = c.k",
        FIX,
    ),
    ("WITH c(k) AS (SELECT id, email FROM users) SELECT * FROM c, archive.users au", FIX),
    (
        "WITH c AS (SELECT id, email FROM users) SELECT * FROM c c1 JOIN c c2 USING (id) JOIN tags USING (id)",
        FIX,
    ),
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
        "SELECT * FROM r, users",
        FIX,
    ),
    (
        "WITH c AS (SELECT u.*, o.total FROM users u JOIN orders o ON o.user_id = u.id) "
        "SELECT * FROM c",
        FIX,
    ),
    ("WITH c AS (SELECT count(*), max(total) FROM orders) SELECT * FROM c, users", FIX),
    ("WITH w AS MATERIALIZED (SELECT id FROM users) SELECT * FROM w JOIN users USING (id)", FIX),
    (
        "WITH users AS (SELECT id FROM tags) SELECT * FROM users, orders WHERE orders.id = users.id",
        FIX,
    ),
    ("WITH c AS (SELECT 1, 'x') SELECT * FROM c, users", NOFIX),
    ("WITH c AS (SELECT id FROM users) SELECT * FROM c", NONE),
    # subqueries in FROM
    ("SELECT * FROM (SELECT id, email FROM users) s JOIN orders o ON o.user_id = s.id", FIX),
    ("SELECT * FROM (SELECT * FROM users) s", FIX),
    (
        "SELECT * FROM (SELECT id AS uid, email FROM users) AS s(k) JOIN orders ON orders.user_id = s.k",
        FIX,
    ),
    (
        "SELECT * FROM users u JOIN (SELECT user_id, sum(total) FROM orders GROUP BY user_id) t "
        "ON t.user_id = u.id",
        FIX,
    ),
    ("SELECT * FROM users, (VALUES (1, 'one'), (2, 'two')) AS v(n)", FIX),
    ("SELECT * FROM (users u JOIN orders o ON o.user_id = u.id)", FIX),
    ("SELECT * FROM (users JOIN orders USING (id)) j", FIX),
    (
        "SELECT * FROM ((users u JOIN orders o ON o.user_id = u.id) JOIN tags ON tags.id = u.id)",
        FIX,
    ),
    ("SELECT * FROM ((SELECT 1 AS k) s JOIN tags ON tags.id = s.k)", FIX),
    ("SELECT * FROM (users JOIN orders USING (id)) AS j(a, b)", FIX),
    ("SELECT * FROM (orders JOIN items USING (id)) AS j, users WHERE users.id = j.user_id", FIX),
    ("SELECT * FROM users u JOIN (SELECT 1 AS a, 2 AS a) s ON true", NOFIX),
    ("SELECT j.* FROM (a_one JOIN b_one USING (id)) AS j", NOFIX),
    ("SELECT * FROM (SELECT id, email FROM users) s", NONE),
    ("SELECT * FROM (WITH c AS (SELECT id FROM users) SELECT * FROM c) s, tags", FIX),
    ("SELECT * FROM (WITH tags AS (SELECT id FROM users) SELECT * FROM tags) s, tags", FIX),
    ("SELECT * FROM users u, LATERAL (SELECT * FROM tags WHERE tags.id = u.id) s", FIX),
    ("SELECT s.*, u.name AS x FROM users u JOIN (SELECT * FROM tags) s ON s.id = u.id", FIX),
    # LATERAL
    ("SELECT * FROM users u, LATERAL (SELECT o.total FROM orders o WHERE o.user_id = u.id) s", FIX),
    (
        "SELECT * FROM users u LEFT JOIN LATERAL (SELECT o.id AS oid FROM orders o "
        "WHERE o.user_id = u.id ORDER BY o.id LIMIT 1) s ON true",
        FIX,
    ),
    (
        "SELECT * FROM users u CROSS JOIN LATERAL (SELECT * FROM orders o WHERE o.user_id = u.id) s",
        FIX,
    ),
    # functions in FROM
    ("SELECT * FROM users u CROSS JOIN LATERAL generate_series(1, 2) g", FIX),
    ("SELECT * FROM users, generate_series(1, 2)", FIX),
    ("SELECT * FROM users, generate_series(1, 3) WITH ORDINALITY AS g(n, o)", FIX),
    ("SELECT * FROM users, generate_series(1, 3) WITH ORDINALITY AS g(n)", FIX),
    ("SELECT * FROM users, unnest(ARRAY['a', 'b']) AS x", FIX),
    ("SELECT * FROM users, unnest(ARRAY[1, 2]) WITH ORDINALITY", FIX),
    ('SELECT * FROM users u, json_to_record(\'{"a": 1, "b": "x"}\') AS r(a int, b text)', FIX),
    ("SELECT * FROM users u, json_array_elements('[1, 2]') j", NOFIX),
    ("SELECT * FROM users u, unnest(ARRAY[u.id, 2]) x", NOFIX),  # element type not known here
    ("SELECT * FROM users, generate_subscripts(ARRAY['a', 'b'], 1) AS i", FIX),
    ("SELECT * FROM users u, ROWS FROM (generate_series(1, 2), generate_series(1, 3)) AS r", NOFIX),
    ("SELECT * FROM generate_series(1, 3)", NONE),
    # views
    ("SELECT * FROM active_users", FIX),
    ("SELECT * FROM user_totals t JOIN users u ON u.id = t.id", FIX),
    ("SELECT * FROM active_users JOIN users USING (id)", FIX),
    ("SELECT * FROM short_names", FIX),
    ("SELECT * FROM short_names s JOIN users u ON u.id = s.uid", FIX),
    # quoted and schema-qualified names
    ('SELECT * FROM "Sales"."Order Lines"', FIX),
    ('SELECT * FROM "Sales"."Order Lines" ol JOIN users u ON u.id = ol.id', FIX),
    ('SELECT "Order Lines".* FROM "Sales"."Order Lines"', FIX),
    ('SELECT * FROM "Sales"."Order Lines" JOIN users USING (id)', FIX),
    ("SELECT * FROM kw", FIX),
    ("SELECT * FROM kw, users", FIX),
    # tables of the same name in two schemas
    ("SELECT * FROM users, archive.users", FIX),
    ("SELECT * FROM public.users JOIN archive.users ON archive.users.id = public.users.id", FIX),
    ("SELECT * FROM users u JOIN archive.users au ON au.id = u.id", FIX),
    ("SELECT archive.users.* FROM users, archive.users", FIX),
    ("SELECT * FROM archive.users", FIX),
    ("TABLE users", NONE),  # no `*` to replace
    # stars that are fine
    ("SELECT id FROM users u WHERE EXISTS (SELECT * FROM orders o WHERE o.user_id = u.id)", NONE),
    ("SELECT count(*) FROM users", NONE),
    ("SELECT id FROM users WHERE id IN (SELECT user_id FROM orders)", NONE),
    # inheritance
    ("SELECT * FROM parent", FIX),
    ("SELECT * FROM child", FIX),
    ("SELECT * FROM child JOIN parent USING (id)", FIX),
]


@pytest.fixture(scope="module")
def star_db(live_pg: LiveServer) -> Iterator[psycopg.Connection]:
    name = f"select_star_{secrets.token_hex(4)}"
    with psycopg.connect(live_pg.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(url_with(live_pg.admin_url, dbname=name), autocommit=True) as conn:
            conn.execute(SCHEMA)
            conn.execute(DATA)
            yield conn
    finally:
        with psycopg.connect(live_pg.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


LINTER = Linter()


def _lint(query: str) -> tuple[str, list]:
    text = SCHEMA + query + ";\n"
    doc = Document("file:///star.sql", text)
    findings = [
        f
        for f in LINTER.lint(doc, build_catalog([doc]))
        if f.rule == "select-star" and f.start >= len(SCHEMA)
    ]
    return text, findings


def _run(conn: psycopg.Connection, query: str) -> tuple[list, list, list]:
    cur = conn.execute(query)
    assert cur.description is not None
    names = [d.name for d in cur.description]
    types = [d.type_code for d in cur.description]
    return names, types, sorted(cur.fetchall(), key=repr)


@pytest.mark.parametrize(("query", "expect"), SHAPES)
def test_select_star_fix_on_postgres(star_db: psycopg.Connection, query: str, expect: str) -> None:
    before = _run(star_db, query)
    text, findings = _lint(query)
    safe = [(f.rule, f.fix) for f in findings if f.fix is not None and f.fix.safe]
    if expect == NONE:
        assert findings == []
        return
    assert findings
    if expect == NOFIX:
        assert safe == []
        return
    assert len(safe) == len(findings)
    fixed_text, applied = apply_edits(text, safe)
    assert len(applied) == len(safe)
    fixed = fixed_text[len(SCHEMA) :].removesuffix(";\n")
    assert fixed != query
    after = _run(star_db, fixed)
    assert after[0] == before[0], fixed  # the same column names, in the same order
    assert after[1] == before[1], fixed  # of the same types
    assert after[2] == before[2], fixed  # and the same rows
    assert before[2], "a shape whose result is empty proves little"
    # a fixed query has nothing left to fix
    assert [f for f in _lint(fixed)[1] if f.fix is not None] == []


def test_enough_shapes() -> None:
    assert len(SHAPES) >= 60


SCRIPTS = [
    pytest.param(
        "CREATE TABLE h (a int, b text);\n"
        "INSERT INTO h VALUES (1, 'one'), (2, NULL);\n"
        "ALTER TABLE h ADD COLUMN c date;\n"
        "CREATE VIEW hv AS SELECT * FROM h;\n"
        "SELECT * FROM hv;\n"
        "SELECT * FROM h JOIN hv USING (a);\n",
        id="stable",
    ),
    pytest.param(
        "CREATE TABLE h (a int, b text);\n"
        "INSERT INTO h VALUES (1, 'one'), (2, NULL);\n"
        "CREATE VIEW hv AS SELECT * FROM h;\n"
        "ALTER TABLE h ADD COLUMN c date;\n"
        "SELECT * FROM hv;\n"
        "SELECT * FROM h;\n",
        id="column-added-later",
    ),
]


def _replay(conn: psycopg.Connection, text: str) -> list[tuple[list, list, list]]:
    """Run a script statement by statement in a transaction that is rolled back; the results
    of the statements that return rows."""
    out = []
    with conn.transaction(force_rollback=True):
        for stmt in Document("file:///replay.sql", text).sql_statements:
            cur = conn.execute(stmt.text)
            if cur.description is not None:
                names = [d.name for d in cur.description]
                types = [d.type_code for d in cur.description]
                out.append((names, types, sorted(cur.fetchall(), key=repr)))
    return out


@pytest.mark.parametrize("script", SCRIPTS)
def test_fixed_script_replays(star_db: psycopg.Connection, script: str) -> None:
    """A migration-like script after `--fix` still runs, and its queries return the same."""
    before = _replay(star_db, script)
    doc = Document("file:///replay.sql", script)
    findings = [f for f in LINTER.lint(doc, build_catalog([doc])) if f.rule == "select-star"]
    safe = [(f.rule, f.fix) for f in findings if f.fix is not None and f.fix.safe]
    assert len(safe) == len(findings) == 3
    fixed, _ = apply_edits(script, safe)
    assert "*" not in fixed
    assert _replay(star_db, fixed) == before
