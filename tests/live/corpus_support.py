"""Load a public schema into the suite's PostgreSQL and read back what PostgreSQL built.

`psql -f` runs each file as PostgreSQL's own client would (no ON_ERROR_STOP: a statement the
server rejects is reported and the rest goes on). The statements PostgreSQL 15 rejected are
returned by line, so that a comparison can leave exactly those out of the offline catalog.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from sql_lsp.catalog.expressions import type_name
from sql_lsp.catalog.model import Catalog
from sql_lsp.document import Document
from sql_lsp.project import build_catalog, uri_of

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
_ERROR = re.compile(r"^psql:(?P<file>.+?):(?P<line>\d+): ERROR:\s*(?P<message>.*)$", re.M)


def psql_binary() -> str:
    for candidate in ("/usr/lib/postgresql/15/bin/psql", shutil.which("psql") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("psql not found: install postgresql-client (scripts/ensure-postgres)")


@dataclass
class Loaded:
    errors: dict[Path, list[tuple[int, str]]]  # file -> (line, message) PostgreSQL rejected


def load(url: str, files: list[Path]) -> Loaded:
    errors: dict[Path, list[tuple[int, str]]] = {}
    for f in files:
        proc = subprocess.run(
            [psql_binary(), "-X", "-q", "-d", url, "-f", str(f)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=f.parent,
        )
        for m in _ERROR.finditer(proc.stderr):
            errors.setdefault(f, []).append((int(m.group("line")), m.group("message")))
    return Loaded(errors)


def without_lines(text: str, lines: set[int]) -> str:
    """`text` with the statements that end on `lines` blanked (same length, line breaks kept)."""
    from sql_lsp.statements import split

    chars = list(text)
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)

    def line_of(offset: int) -> int:
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    for span in split(text):
        if span.kind != "sql":
            continue
        end = span.semicolon if span.semicolon >= 0 else span.end
        first, last = line_of(span.start), line_of(end)
        if any(first <= n <= last for n in lines):
            for i in range(span.start, max(end + 1, span.end)):
                if chars[i] not in "\r\n":
                    chars[i] = " "
    return "".join(chars)


def offline_catalog(files: list[Path], loaded: Loaded) -> Catalog:
    docs = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        rejected = {line for line, _ in loaded.errors.get(f, [])}
        if rejected:
            text = without_lines(text, rejected)
        docs.append(Document(uri_of(f), text))
    return build_catalog(docs)


_RELATIONS = """
SELECT n.nspname, c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""
_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname, a.attnum
"""
_INDEXES = """
SELECT n.nspname, t.relname, i.relname, x.indisunique, x.indisprimary, x.indpred IS NOT NULL,
       ARRAY(SELECT coalesce(a.attname, '') FROM unnest(x.indkey[0:x.indnkeyatts - 1])
             WITH ORDINALITY k(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
             ORDER BY k.ord)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
"""
_FOREIGN_KEYS = """
SELECT n.nspname, t.relname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
       rn.nspname, r.relname,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE c.contype = 'f'
"""


@dataclass
class Shape:
    """What a catalog holds, in a form both sources give."""

    tables: set[tuple[str, str]]
    columns: dict[tuple[str, str], list[tuple[str, str | None]]]
    indexes: set[tuple]
    foreign_keys: set[tuple]


_KINDS = {"r": "table", "p": "partitioned table", "f": "foreign table", "v": "view"}
_KINDS["m"] = "materialized view"


def pg_shape(url: str) -> Shape:
    with psycopg.connect(url) as conn:
        tables = {(s, n) for s, n, _ in conn.execute(_RELATIONS)}
        views = {(s, n) for s, n, k in conn.execute(_RELATIONS) if k in ("v", "m")}
        columns: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
        for s, t, name, typ, _ in conn.execute(_COLUMNS):
            columns.setdefault((s, t), []).append(
                (name, None if (s, t) in views else type_name(typ))
            )
        indexes = {
            (s, t, i, tuple(c or None for c in cols), bool(u), bool(p), bool(part))
            for s, t, i, u, p, part, cols in conn.execute(_INDEXES)
        }
        fks = {
            (s, t, tuple(cols), rs, rt, tuple(rcols))
            for s, t, cols, rs, rt, rcols in conn.execute(_FOREIGN_KEYS)
        }
    return Shape(tables, columns, indexes, fks)


def catalog_shape(catalog: Catalog) -> Shape:
    tables = set(catalog.tables)
    columns = {}
    for key, t in catalog.tables.items():
        view = t.kind in ("view", "materialized view")
        if t.columns_known:
            columns[key] = [(c.name, None if view else c.type) for c in t.columns.values()]
    indexes = {
        (i.schema, i.table, i.name, i.columns, i.unique, i.primary, i.predicate is not None)
        for i in catalog.indexes()
    }
    fks = {
        (f.schema, f.table, f.columns, f.ref_schema, f.ref_table, f.ref_columns)
        for f in catalog.foreign_keys()
    }
    return Shape(tables, columns, indexes, fks)


def recreate(admin_url: str, dbname: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return make_conninfo(admin_url, dbname=dbname)


_INDEX_FACTS = """
SELECT n.nspname, t.relname, i.relname, am.amname, x.indisunique, x.indisvalid,
       pg_get_expr(x.indpred, x.indrelid, true),
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) || '/' || x.indclass[k - 1]
                    || '/' || x.indcollation[k - 1] || '/' || x.indoption[k - 1]
             FROM generate_series(1, x.indnkeyatts) k),
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
             FROM generate_series(x.indnkeyatts + 1, x.indnatts) k),
       EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid
               AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x')),
       i.oid
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
"""


def pg_redundant_indexes(url: str) -> set[tuple[str, str, str]]:
    """(schema, table, index) of every index another index of its table already provides:
    same method and predicate and the same keys (then the other is a constraint, unique when
    this one is not, or older), or - for plain B-trees - keys that are a leading prefix of the
    other's; a unique index is only made redundant by a unique one; INCLUDE columns must be
    covered."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(_INDEX_FACTS).fetchall()
    by_table: dict[tuple[str, str], list[tuple]] = {}
    for row in rows:
        by_table.setdefault((row[0], row[1]), []).append(row)
    out = set()
    for (schema, table), indexes in by_table.items():
        for a in indexes:
            _, _, name, am, unique, _, pred, keys, include, constraint, oid = a
            if constraint:
                continue
            for b in indexes:
                if b is a or not b[5]:
                    continue
                b_am, b_unique, b_pred, b_keys, b_include, b_constraint, b_oid = (
                    b[3],
                    b[4],
                    b[6],
                    b[7],
                    b[8],
                    b[9],
                    b[10],
                )
                if unique and not b_unique:
                    continue
                have = {k.split("/")[0] for k in b_keys} | set(b_include)
                if not set(include) <= have:
                    continue
                if am == b_am and pred == b_pred and keys == b_keys:
                    if b_constraint or (b_unique and not unique) or b_oid < oid:
                        out.add((schema, table, name))
                        break
                    continue
                if (
                    not unique
                    and pred is None
                    and b_pred is None
                    and am == b_am == "btree"
                    and len(keys) < len(b_keys)
                    and b_keys[: len(keys)] == keys
                ):
                    out.add((schema, table, name))
                    break
    return out


_UNINDEXED_FKS = """
SELECT n.nspname, t.relname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.contype = 'f' AND c.conparentid = 0
  AND NOT EXISTS (
    SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
    WHERE x.indrelid = c.conrelid AND x.indpred IS NULL AND x.indisvalid
      AND (am.amname = 'btree' OR (am.amname = 'hash' AND cardinality(c.conkey) = 1))
      AND x.indnkeyatts >= cardinality(c.conkey)
      AND (SELECT array_agg(k ORDER BY k) FROM unnest((x.indkey::int2[])[0:cardinality(c.conkey) - 1]) k)
          = (SELECT array_agg(k ORDER BY k) FROM unnest(c.conkey) k))
"""


def pg_unindexed_foreign_keys(url: str) -> set[tuple[str, str, tuple[str, ...]]]:
    """(schema, table, columns) of every foreign key whose columns lead no usable index."""
    with psycopg.connect(url) as conn:
        return {(s, t, tuple(cols)) for s, t, cols in conn.execute(_UNINDEXED_FKS)}
