"""What sql-lsp shows on the fixture project (tests/editors/fixtures/project), in every editor.

Lines and columns are 0-based. Diagnostics are [line, start column, rule id], in document order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Expectations:
    rules: tuple[str, ...]
    # queries.sql: SELECT * FROM users WHERE lower(email) = 'x';
    queries: list[list[int | str]]
    # schema.sql: orders.user_id REFERENCES users (id) with no index on it
    schema: list[list[int | str]]
    hover_position: dict[str, int]
    hover_float: list[str]
    hover_word: dict[str, int]
    hover_rendered: dict[str, list[Any]]
    fix_position: dict[str, int]
    fix_title: str
    fix_offered: list[str]
    fix_menu: list[str]
    fixed_text: str
    queries_after_fix: list[list[int | str]]
    # report.sql: SELECT * FROM orders;  (fix-all replaces the * with the columns)
    report: list[list[int | str]]
    report_fixed: str
    refresh_result: str
    # completion: a line typed into a new file of the project, the cursor at `col`; the first
    # items offered, and the line once the first one is accepted
    completion: list[dict[str, Any]]
    lone_text: str
    # references and rename: lines typed into a new file of the project; the cursor on `email`
    # of `u.email`; (file, line, column) of every reference, sorted; the CTE renamed
    references_lines: list[str]
    references_cursor: dict[str, int]
    references: list[list[int | str]]
    rename_cursor: dict[str, int]
    rename_new_name: str
    renamed: list[str]
    lone: list[list[int | str]] = field(default_factory=list)


EXPECT = Expectations(
    rules=("select-star", "function-on-indexed-column", "missing-fk-index"),
    queries=[[0, 7, "select-star"], [0, 26, "function-on-indexed-column"]],
    schema=[[7, 28, "missing-fk-index"]],
    hover_position={"line": 0, "col": 15},
    hover_float=[
        "**table** `public.users` — declared in `schema.sql:1`",
        "",
        "| column | type | |",
        "|---|---|---|",
        "| `id` | `bigint` | PK |",
        "| `email` | `text` | NOT NULL |",
        "",
        "**Indexes**",
        "",
        "- `users_pkey (PRIMARY KEY) (id)` — schema.sql:2",
        "- `users_email_key (UNIQUE) (email)` — schema.sql:3",
        "",
        "**Referenced by**",
        "",
        "- `public.orders (user_id)`",
    ],
    hover_word={"line": 0, "col": 14, "length": 5},
    # VS Code's rendering of the same hover (innerText of the markdown, <strong>, <code>, tables)
    hover_rendered={
        "text": [
            "table public.users — declared in schema.sql:1\n\n"
            "column\ttype\t\nid\tbigint\tPK\nemail\ttext\tNOT NULL\n\n"
            "Indexes\n\n"
            "users_pkey (PRIMARY KEY) (id) — schema.sql:2\n"
            "users_email_key (UNIQUE) (email) — schema.sql:3\n\n"
            "Referenced by\n\n"
            "public.orders (user_id)"
        ],
        "strong": ["table", "Indexes", "Referenced by"],
        "code": [
            "public.users",
            "schema.sql:1",
            "id",
            "bigint",
            "email",
            "text",
            "users_pkey (PRIMARY KEY) (id)",
            "users_email_key (UNIQUE) (email)",
            "public.orders (user_id)",
        ],
        "tables": [[["column", "type", ""], ["id", "bigint", "PK"], ["email", "text", "NOT NULL"]]],
    },
    fix_position={"line": 0, "col": 7},
    fix_title="Replace * with 2 columns",
    fix_offered=[
        "Replace * with 2 columns",
        "Compare email directly with 'x' (unsafe: assumes stored values are already lower-case)",
        "Ignore select-star for this statement",
        "Ignore select-star in this file",
        "Ignore function-on-indexed-column for this statement",
        "Ignore function-on-indexed-column in this file",
        "Fix all safe sql-lsp findings (1)",
    ],
    # VS Code's Ctrl+. menu lists the quick fixes only (fix-all is a source action)
    fix_menu=[
        "Replace * with 2 columns",
        "Compare email directly with 'x' (unsafe: assumes stored values are already lower-case)",
        "Ignore select-star for this statement",
        "Ignore select-star in this file",
        "Ignore function-on-indexed-column for this statement",
        "Ignore function-on-indexed-column in this file",
    ],
    fixed_text="SELECT id, email FROM users WHERE lower(email) = 'x';\n",
    queries_after_fix=[[0, 34, "function-on-indexed-column"]],
    report=[[0, 7, "select-star"]],
    report_fixed="SELECT id, user_id, total FROM orders;\n",
    refresh_result="catalog refreshed: 2 tables, 3 indexes from 3 files",
    completion=[
        {
            "text": "SELECT u. FROM users u;",
            "col": 9,
            "top": ["id", "email"],
            "applied": "SELECT u.id FROM users u;",
        },
        {
            "text": "SELECT * FROM us",
            "col": 16,
            "top": ["users"],
            "applied": "SELECT * FROM users",
        },
        {
            "text": "SELECT * FROM users u JOIN orders o ON ",
            "col": 39,
            "top": ["o.user_id = u.id", "u.id", "u.email"],
            "applied": "SELECT * FROM users u JOIN orders o ON o.user_id = u.id",
        },
    ],
    references_lines=[
        "CREATE INDEX users_email_lower_idx ON users (lower(email));",
        "SELECT u.email FROM users u WHERE u.email = 'x';",
        "WITH recent AS (SELECT id, user_id FROM orders) SELECT recent.id FROM recent;",
    ],
    references_cursor={"line": 1, "col": 10},
    # queries.sql once its quick fix is applied: SELECT id, email FROM users WHERE lower(email) = 'x';
    references=[
        ["queries.sql", 0, 11],
        ["queries.sql", 0, 40],
        ["references.sql", 0, 51],
        ["references.sql", 1, 9],
        ["references.sql", 1, 36],
        ["schema.sql", 2, 4],
    ],
    rename_cursor={"line": 2, "col": 57},
    rename_new_name="latest",
    renamed=[
        "CREATE INDEX users_email_lower_idx ON users (lower(email));",
        "SELECT u.email FROM users u WHERE u.email = 'x';",
        "WITH latest AS (SELECT id, user_id FROM orders) SELECT latest.id FROM latest;",
    ],
    lone_text="SELECT * FROM t;\n",
    lone=[[0, 7, "select-star"]],
)
