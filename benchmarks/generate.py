"""Generate a realistic SQL script of N statements: a schema (tables, foreign keys, indexes)
followed by the queries and writes of an application, with a few percent of statements that
sql-lsp flags. Deterministic for a given N and seed.

    python benchmarks/generate.py 10000 > big.sql
"""

from __future__ import annotations

import random
import sys

ENTITIES = [
    "users",
    "accounts",
    "orders",
    "order_items",
    "products",
    "invoices",
    "payments",
    "shipments",
    "reviews",
    "coupons",
    "carts",
    "events",
    "sessions",
    "teams",
    "projects",
]


def _schema(rng: random.Random, n_tables: int) -> list[str]:
    out = []
    for i in range(n_tables):
        name = f"{ENTITIES[i % len(ENTITIES)]}_{i}"
        cols = [
            "id bigserial PRIMARY KEY",
            "created_at timestamptz NOT NULL DEFAULT now()",
            "updated_at timestamptz",
            "status text NOT NULL DEFAULT 'new'",
            "email text",
            "amount numeric(12, 2) NOT NULL DEFAULT 0",
            "payload jsonb NOT NULL DEFAULT '{}'::jsonb",
        ]
        if i > 0:
            parent = f"{ENTITIES[(i - 1) % len(ENTITIES)]}_{i - 1}"
            cols.append(f"parent_id bigint NOT NULL REFERENCES {parent} (id) ON DELETE CASCADE")
        out.append(f"CREATE TABLE {name} (\n    " + ",\n    ".join(cols) + "\n);")
        if i > 0:
            out.append(f"CREATE INDEX {name}_parent_id_idx ON {name} (parent_id);")
        out.append(f"CREATE INDEX {name}_created_at_idx ON {name} (created_at);")
        out.append(f"CREATE UNIQUE INDEX {name}_email_key ON {name} (lower(email));")
    return out


def _query(rng: random.Random, n_tables: int, k: int) -> str:
    i = rng.randrange(1, n_tables)
    t = f"{ENTITIES[i % len(ENTITIES)]}_{i}"
    p = f"{ENTITIES[(i - 1) % len(ENTITIES)]}_{i - 1}"
    kind = k % 20
    if kind == 0:  # flagged: SELECT *
        return f"SELECT * FROM {t} WHERE id = ${1 + k % 3};"
    if kind == 1:  # flagged: a function on an indexed column
        return f"SELECT id, status FROM {t} WHERE created_at::date = '2024-0{1 + k % 9}-1{k % 10}';"
    if kind in (2, 3, 4):
        return (
            f"SELECT c.id, c.status, p.email, sum(c.amount) AS total\n"
            f"FROM {t} c\nJOIN {p} p ON p.id = c.parent_id\n"
            f"WHERE c.created_at >= now() - interval '{k % 30 + 1} days' AND c.status IN ('new', 'paid')\n"
            f"GROUP BY c.id, c.status, p.email\nORDER BY total DESC\nLIMIT {10 + k % 90};"
        )
    if kind in (5, 6):
        return (
            f"WITH recent AS (\n  SELECT id, parent_id, amount FROM {t} WHERE created_at > $1\n)\n"
            f"SELECT r.parent_id, count(*) AS n, avg(r.amount) AS mean\nFROM recent r\n"
            f"GROUP BY r.parent_id\nHAVING count(*) > {k % 7 + 1};"
        )
    if kind in (7, 8, 9):
        return (
            f"INSERT INTO {t} (parent_id, status, email, amount)\n"
            f"VALUES ({k}, 'new', 'user{k}@example.com', {k % 1000}.{k % 100:02d})\n"
            f"ON CONFLICT DO NOTHING\nRETURNING id;"
        )
    if kind in (10, 11):
        return (
            f"UPDATE {t} SET status = 'paid', updated_at = now() WHERE id = {k} AND status = 'new';"
        )
    if kind == 12:
        return f"DELETE FROM {t} WHERE created_at < now() - interval '1 year' AND status = 'cancelled';"
    if kind in (13, 14):
        return (
            f"SELECT id, email FROM {t}\nWHERE lower(email) = lower(%(email)s)\n"
            f"  AND status <> 'deleted'\nORDER BY created_at DESC\nLIMIT 1;"
        )
    if kind == 15:
        return (
            f"SELECT p.id, (SELECT count(*) FROM {t} c WHERE c.parent_id = p.id) AS children\n"
            f"FROM {p} p WHERE p.status = :status ORDER BY p.id LIMIT 50;"
        )
    if kind == 16:
        return (
            f"SELECT id, payload ->> 'kind' AS kind, amount * 1.2 AS gross FROM {t}\n"
            f"WHERE payload @> '{{\"vip\": true}}' AND amount BETWEEN 10 AND 500;"
        )
    if kind == 17:
        return f"SELECT count(*) FROM {t} WHERE status = 'new' AND parent_id = {k};"
    if kind == 18:
        return (
            f"SELECT date_trunc('day', created_at) AS day, count(*) FROM {t}\n"
            f"WHERE created_at >= '2024-01-01' GROUP BY 1 ORDER BY 1;"
        )
    return f"SELECT id, status, amount FROM {t} WHERE parent_id = ANY($1) ORDER BY id;"


def statements(n: int, seed: int = 42) -> list[str]:
    """The N statements, each ending with its semicolon."""
    rng = random.Random(seed)
    n_tables = max(2, min(200, n // 50))
    out = _schema(rng, n_tables)
    k = 0
    while len(out) < n:
        out.append(_query(rng, n_tables, k))
        k += 1
    return out[:n]


def generate(n: int, seed: int = 42) -> str:
    """The script: the statements one after the other, separated by a line break."""
    return "\n".join(statements(n, seed)) + "\n"


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    sys.stdout.write(generate(count))
