"""
**What it does**

Flags a btree index (the default method) with a plain-column key of type `jsonb`, `json`,
`tsvector`, `xml`, an array, or `bytea` (the column's type at the end of the history). Unique
indexes (they enforce something GIN cannot), keys with an explicit operator class, expression
keys (`(payload->>'id')`) and `bytea` columns whose name says they hold a short digest or key
(`sha256`, `hash`, `checksum`, `fingerprint`, `token`, `key`, `id`…) are not flagged. `text`
columns are not flagged: most hold short values, and the rule cannot know which do not. The
finding sits on the index where it is declared.

**Why is this bad?**

A btree compares whole values: it serves only `=` and ordering on the entire document, array or
blob, not the containment (`@>`, `?`, `&&`) and full-text (`@@`) searches such columns are
queried with. Large values also make the index as big as the table, and a value over about
2,700 bytes makes the `INSERT` fail ("index row size exceeds btree maximum").

**Example**

```sql
CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE INDEX events_payload_idx ON events (payload);
```

**Use instead**

```sql
CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE INDEX events_payload_idx ON events USING gin (payload jsonb_path_ops);
```

Or a btree on the expression queries compare (`((payload->>'customer_id'))`), or a `hash`
index for equality on large values.

**Needs**

The workspace schema.
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.catalog.model import Index, qualified_name, quote_ident
from sql_lsp.rules.base import Finding, Rule, RuleContext, changes_schema

_WIDE = frozenset({"jsonb", "json", "tsvector", "xml", "bytea"})
_DIGEST_WORDS = frozenset(
    {
        "hash",
        "digest",
        "checksum",
        "fingerprint",
        "md5",
        "sha1",
        "sha256",
        "sha512",
        "key",
        "id",
        "uuid",
        "token",
        "salt",
        "nonce",
        "iv",
        "sig",
        "signature",
        "mac",
    }
)


def wide_type(type_: str | None) -> str | None:
    """The kind of wide type `type_` is (an array, jsonb…), or None."""
    if type_ is None:
        return None
    t = type_.strip().lower()
    if t.endswith("]"):
        return "an array"
    return t if t in _WIDE else None


def _digest_name(name: str) -> bool:
    return any(w in _DIGEST_WORDS or w.startswith("sha") for w in name.lower().split("_"))


_ADVICE = {
    "jsonb": "a GIN index (jsonb_path_ops) or a btree on the expression queries compare",
    "json": "jsonb with a GIN index, or a btree on the expression queries compare",
    "tsvector": "a GIN index",
    "an array": "a GIN index",
    "xml": "a btree on the expression queries compare (an xpath() value)",
    "bytea": "a hash index, or a btree on a digest of it",
}


def check(ctx: RuleContext) -> Iterator[Finding]:
    for obj in ctx.declared():
        if not isinstance(obj, Index) or obj.origin is None:
            continue
        if obj.method != "btree" or obj.unique or obj.primary or obj.constraint:
            continue
        table = ctx.catalog.tables.get((obj.schema, obj.table))
        if table is None:
            continue
        for key in obj.keys:
            if key.column is None or key.opclass is not None:
                continue
            column = table.columns.get(key.column)
            kind = wide_type(column.type) if column is not None else None
            if column is None or kind is None:
                continue
            if kind == "bytea" and _digest_name(column.name):
                continue
            name = qualified_name(obj.schema, obj.table, ctx.search_path)
            shown = kind if kind == "an array" else f"a {kind}"
            yield ctx.finding(
                ctx.statement.start + obj.origin.start,
                ctx.statement.start + obj.origin.end,
                f"btree index {quote_ident(obj.name)} on {name} ({quote_ident(column.name)}) "
                f"keys on {shown}: a btree serves only whole-value comparisons and fails on "
                f"values over ~2.7 kB; use {_ADVICE[kind]}",
            )
            break


RULE = Rule(
    id="wide-column-index",
    summary="A btree index on a jsonb, array, tsvector, xml or bytea column",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=changes_schema,
)
