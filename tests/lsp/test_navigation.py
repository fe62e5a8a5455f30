"""Hover (rule docs, catalog objects), go to definition across files, document symbols."""

from __future__ import annotations

import pytest
from lsp_helpers import (
    PROFILES,
    SCHEMA,
    encoding,
    hover,
    open_doc,
    pos,
    range_of,
    rng,
    span,
    start,
    uri,
)
from lsprotocol import types as T
from pytest_lsp import LanguageClient

QUERY = (
    "-- sql-lsp: ignore select-star\n"
    "SELECT o.status, u.email FROM orders o JOIN users u ON u.id = o.user_id;\n"
    "REINDEX INDEX users_lower_username_idx;\n"
    "SELECT * FROM users WHERE username = 'a';\n"
)

USERS = """**table** `public.users` — declared in `schema.sql:1`

| column | type | |
|---|---|---|
| `id` | `bigint` | PK default `nextval('users_id_seq'::regclass)` |
| `email` | `text` | NOT NULL |
| `username` | `text` | NOT NULL |
| `created_at` | `timestamptz` | NOT NULL default `now()` |

**Indexes**

- `users_pkey (PRIMARY KEY) (id)` — schema.sql:2
- `users_email_key (UNIQUE) (email)` — schema.sql:3
- `users_lower_username_idx (LOWER(username))` — schema.sql:7

**Referenced by**

- `public.orders (user_id)`
"""
ORDERS = """**table** `public.orders` — declared in `schema.sql:8`

| column | type | |
|---|---|---|
| `id` | `bigint` | PK default `nextval('orders_id_seq'::regclass)` |
| `user_id` | `bigint` | NOT NULL |
| `status` | `text` | NOT NULL |

**Indexes**

- `orders_pkey (PRIMARY KEY) (id)` — schema.sql:9

**Foreign keys**

- `(user_id)` → `public.users (id)`
"""
EMAIL = """**column** `public.users.email` `text`
NOT NULL, declared in `schema.sql:3`

**Indexed by**

- `users_email_key (UNIQUE) (email)` (leading)
"""
USER_ID = """**column** `public.orders.user_id` `bigint`
NOT NULL, declared in `schema.sql:10`

_not indexed_

References `public.users (id)`
"""
INDEX = """**index** `users_lower_username_idx (LOWER(username))`

on `public.users`

declared in `schema.sql:7`
"""


async def check_hover(client, u, text, needle, markdown, enc, nth=0, inside=1):
    s, e = span(text, needle, nth)
    h = await hover(client, u, pos(text, s + inside, enc))
    assert h is not None, needle
    assert h.contents == T.MarkupContent(kind=T.MarkupKind.Markdown, value=markdown)
    assert h.range == rng(text, s, e, enc)


@pytest.mark.parametrize("caps", PROFILES)
async def test_hover(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    p = await open_doc(client, q, QUERY)
    enc = encoding(client)
    # the directive silences select-star on the statement below it... only the last one remains
    assert [(d.code, d.range.start.line) for d in p.diagnostics] == [("select-star", 3)]

    # a rule id in an ignore comment: the rule's documentation
    s, e = span(QUERY, "select-star")
    h = await hover(client, u, pos(QUERY, s + 3, enc))
    assert h is not None
    assert isinstance(h.contents, T.MarkupContent)
    assert h.contents.kind == T.MarkupKind.Markdown
    assert h.contents.value.startswith(
        "# select-star\n\n`SELECT *` whose columns reach the client, a view or CREATE TABLE AS.\n"
    )
    assert "**What it does**" in h.contents.value
    assert "**Fix safety**" in h.contents.value
    assert h.range == rng(QUERY, s, e, enc)

    # catalog objects declared in schema.sql (on disk, never opened)
    await check_hover(client, u, QUERY, "orders", ORDERS, enc)
    await check_hover(client, u, QUERY, "users", USERS, enc)  # FROM ... JOIN users u
    await check_hover(client, u, QUERY, "users", USERS, enc, nth=2, inside=0)  # word start
    await check_hover(client, u, QUERY, "users", USERS, enc, nth=2, inside=5)  # word end
    await check_hover(client, u, QUERY, "email", EMAIL, enc)
    await check_hover(client, u, QUERY, "user_id", USER_ID, enc)
    await check_hover(client, u, QUERY, "users_lower_username_idx", INDEX, enc)

    # keywords, literals, the alias column of an unknown name: nothing
    assert await hover(client, u, pos(QUERY, QUERY.index("JOIN") + 1, enc)) is None
    assert await hover(client, u, pos(QUERY, QUERY.index("'a'") + 1, enc)) is None
    # a position past the end of the document is no crash
    assert await hover(client, u, T.Position(line=40, character=3)) is None


@pytest.mark.parametrize("caps", PROFILES)
async def test_definition_in_another_file(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    q = project / "q.sql"
    u = uri(q)
    await open_doc(client, q, QUERY)
    enc = encoding(client)
    schema = uri(project / "schema.sql")

    async def definition(needle, nth=0):
        s, _ = span(QUERY, needle, nth)
        return await client.text_document_definition_async(
            T.DefinitionParams(
                text_document=T.TextDocumentIdentifier(uri=u), position=pos(QUERY, s + 1, enc)
            )
        )

    def at(needle, nth=0):
        return [T.Location(uri=schema, range=range_of(SCHEMA, needle, enc, nth))]

    assert await definition("orders") == at("orders")
    assert await definition("users", 0) == at("users")
    assert await definition("email") == at("email")
    assert await definition("user_id") == at("user_id")
    assert await definition("users_lower_username_idx") == at(
        "CREATE INDEX users_lower_username_idx ON users (lower(username))"
    )
    assert await definition("JOIN") is None


@pytest.mark.parametrize("caps", PROFILES)
async def test_document_symbols(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    s = project / "schema.sql"
    await open_doc(client, s, SCHEMA)
    enc = encoding(client)
    result = await client.text_document_document_symbol_async(
        T.DocumentSymbolParams(text_document=T.TextDocumentIdentifier(uri=uri(s)))
    )
    assert result is not None
    got = [(x.name, x.kind, x.range) for x in result]  # type: ignore[union-attr]
    # each range is the whole statement, its semicolon included
    first_end = SCHEMA.index(");") + 2
    index_start = SCHEMA.index("CREATE INDEX")
    orders_start = SCHEMA.index("CREATE TABLE orders")
    assert got == [
        ("CREATE TABLE users", T.SymbolKind.Struct, rng(SCHEMA, 0, first_end, enc)),
        (
            "CREATE INDEX users_lower_username_idx ON users",
            T.SymbolKind.Key,
            rng(SCHEMA, index_start, SCHEMA.index(";", index_start) + 1, enc),
        ),
        (
            "CREATE TABLE orders",
            T.SymbolKind.Struct,
            rng(SCHEMA, orders_start, SCHEMA.index(";", orders_start) + 1, enc),
        ),
    ]
    for x in result:
        assert isinstance(x, T.DocumentSymbol)
        # the selection range is inside the range (the first line of the statement)
        assert x.selection_range.start == x.range.start
        assert x.selection_range.end.line == x.range.start.line
