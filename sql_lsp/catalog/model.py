"""The schema model shared by every catalog source (workspace DDL, live PostgreSQL) and the rules.

Names are stored folded the way PostgreSQL folds them: unquoted identifiers in lower case, quoted
ones as written. A table is keyed by `(schema, name)`. PRIMARY KEY and UNIQUE constraints are
represented by the unique index that backs them (as PostgreSQL does), so rules look at one list.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlglot import exp

T = TypeVar("T")

DEFAULT_SEARCH_PATH: tuple[str, ...] = ("public",)

# PostgreSQL's reserved key words (those that cannot be a column name without quotes).
_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ]
)


_BARE = re.compile(r"[a-z_][a-z0-9_$]*")


def quote_ident(name: str) -> str:
    """`name` as PostgreSQL needs it written: bare when it folds to itself, else double-quoted."""
    if _BARE.fullmatch(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified_name(schema: str, name: str, search_path: Iterable[str] = DEFAULT_SEARCH_PATH) -> str:
    """`schema.name`, or just `name` when the schema is the first on the search path."""
    path = tuple(search_path)
    if path and schema == path[0]:
        return quote_ident(name)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def fold(identifier: exp.Expression | str | None) -> str:
    """PostgreSQL identifier folding: unquoted -> lower case, quoted -> as written."""
    if identifier is None:
        return ""
    if isinstance(identifier, str):
        return identifier.lower()
    if isinstance(identifier, exp.Identifier):
        return identifier.this if identifier.quoted else identifier.this.lower()
    if isinstance(identifier, exp.Var | exp.Literal):
        return str(identifier.this).lower()
    return identifier.name.lower()


def normalize_expression(node: exp.Expression) -> str:
    """A canonical text for an index key or filter expression, so equal expressions compare equal.

    Table qualifiers are dropped (`lower(u.email)` == `lower(email)`), identifiers folded,
    `date(x)` is PostgreSQL's cast `x::date`, redundant parentheses are dropped.
    """
    node = node.copy()
    while isinstance(node, exp.Paren):
        node = node.this
    for col in list(node.find_all(exp.Column)):
        col.set("table", None)
        col.set("db", None)
        col.set("catalog", None)
    for date in list(node.find_all(exp.Date)):
        if date.this is not None and not date.expressions and not date.args.get("zone"):
            cast = exp.Cast(this=date.this, to=exp.DataType.build("date"))
            if date is node:  # replace() cannot swap the root: take the new node instead
                node = cast
            else:
                date.replace(cast)
    for paren in list(node.find_all(exp.Paren)):
        if isinstance(paren.this, exp.Column | exp.Literal | exp.Func | exp.Paren):
            paren.replace(paren.this)
    try:
        return node.sql(dialect="postgres", normalize=True, comments=False)
    except Exception:  # generation of an odd tree: fall back to something stable
        return repr(node)


@dataclass(frozen=True)
class Origin:
    """Where an object was declared: document, ordinal of the declaring statement among that
    document's catalog-changing statements, and a span relative to that statement's start."""

    doc: str
    stmt: int
    start: int
    end: int


@dataclass
class Column:
    name: str
    type: str | None = None
    not_null: bool = False
    default: str | None = None
    origin: Origin | None = None


@dataclass(frozen=True)
class IndexKey:
    expr: str  # the column name, or the normalized expression
    column: str | None = None  # set when the key is a plain column
    desc: bool = False
    opclass: str | None = None
    collation: str | None = None

    @property
    def text(self) -> str:
        base = quote_ident(self.column) if self.column is not None else self.expr
        if self.column is None and not base.endswith(")"):
            base = f"({base})"
        return base + (" DESC" if self.desc else "")


@dataclass
class Index:
    name: str
    schema: str
    table: str
    keys: tuple[IndexKey, ...]
    unique: bool = False
    primary: bool = False
    constraint: str | None = None  # "primary key" / "unique" when it backs a constraint
    method: str = "btree"
    predicate: str | None = None  # normalized WHERE of a partial index
    include: tuple[str, ...] = ()
    valid: bool = True
    origin: Origin | None = None
    source: str = "ddl"  # "ddl" or "database"
    scans: int | None = None  # pg_stat_user_indexes.idx_scan, when known
    size_bytes: int | None = None
    seq: int = 0  # declaration order within the catalog

    @property
    def columns(self) -> tuple[str | None, ...]:
        return tuple(k.column for k in self.keys)

    @property
    def partial(self) -> bool:
        return self.predicate is not None

    def describe(self) -> str:
        """`users_email_idx (email)`, with UNIQUE / method / predicate when they matter."""
        parts = [quote_ident(self.name)]
        if self.constraint:
            parts.append(f"({self.constraint.upper()})")
        if self.method != "btree":
            parts.append(f"USING {self.method}")
        parts.append("(" + ", ".join(k.text for k in self.keys) + ")")
        if self.predicate:
            parts.append(f"WHERE {self.predicate}")
        return " ".join(parts)

    def fingerprint(self) -> tuple:
        return (
            self.name,
            self.keys,
            self.unique,
            self.primary,
            self.constraint,
            self.method,
            self.predicate,
            self.include,
            self.valid,
            self.source,
            self.seq,
        )


@dataclass
class ForeignKey:
    name: str | None
    schema: str
    table: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    origin: Origin | None = None
    source: str = "ddl"

    def fingerprint(self) -> tuple:
        return (self.name, self.columns, self.ref_schema, self.ref_table, self.ref_columns)


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    kind: str = "table"  # table, view, materialized view, foreign table, partitioned table
    origin: Origin | None = None
    source: str = "ddl"
    est_rows: int | None = None  # pg_class.reltuples, when known
    seq_scans: int | None = None  # pg_stat_user_tables, when known
    idx_scans: int | None = None
    columns_known: bool = True  # False for views whose output could not be derived
    parents: list[tuple[str, str]] = field(default_factory=list)  # INHERITS / PARTITION OF
    children: list[tuple[str, str]] = field(default_factory=list)
    partition: bool = False  # a partition of its (only) parent
    like_sources: list[tuple[str, str]] = field(default_factory=list, repr=False)
    # the other documents that create this table again (see PgDdl._created_again)
    redefined_in: set[str] = field(default_factory=set, repr=False)
    _fingerprint: int | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    def index_named(self, name: str) -> Index | None:
        return next((i for i in self.indexes if i.name == name), None)

    def same_index(self, index: Index) -> Index | None:
        """This table's version of `index` (from another catalog): the one with its name, else
        one with its definition (keys, predicate, uniqueness, method)."""
        return self.index_named(index.name) or next(
            (
                i
                for i in self.indexes
                if i.keys == index.keys
                and i.predicate == index.predicate
                and i.unique == index.unique
                and i.method == index.method
            ),
            None,
        )

    def fingerprint(self) -> int:
        """Content hash (not positions): equal tables give equal fingerprints across rebuilds."""
        if self._fingerprint is None:
            self._fingerprint = hash(
                (
                    self.schema,
                    self.name,
                    self.kind,
                    self.columns_known,
                    tuple((c.name, c.type, c.not_null) for c in self.columns.values()),
                    tuple(i.fingerprint() for i in self.indexes),
                    tuple(f.fingerprint() for f in self.foreign_keys),
                    self.est_rows,
                    tuple(sorted(self.redefined_in)),
                )
            )
        return self._fingerprint

    def touch(self) -> None:
        self._fingerprint = None


class Catalog:
    """Tables (with their columns, indexes and foreign keys) plus where each was declared."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], Table] = {}
        self.schemas: set[str] = {"public"}
        self.types: dict[tuple[str, str], Origin | None] = {}  # enums and other types, by name
        self.generation = 0
        self._seq = 0
        self._declared: dict[tuple[str, int], list] | None = None
        self._declared_at = -1
        self._derived: tuple[tuple, dict[str, Any]] | None = None
        # history: the column names of each table after each catalog statement that changed
        # it, as (document rank, statement ordinal, names); () once it is gone
        self.history: dict[tuple[str, str], list[tuple[int, int, tuple[str, ...]]]] = {}
        self.doc_rank: dict[str, int] = {}
        # the type each `ALTER COLUMN … TYPE` found, by (document, catalog ordinal):
        # (schema, table, column, type before the statement, type it sets)
        self.type_changes: dict[
            tuple[str, int], list[tuple[str, str, str, str | None, str | None]]
        ] = {}

    # -- lookup -------------------------------------------------------------------------------
    def table(
        self, name: str, schema: str | None = None, search_path: Iterable[str] = DEFAULT_SEARCH_PATH
    ) -> Table | None:
        if schema:
            return self.tables.get((schema, name))
        for s in search_path:
            t = self.tables.get((s, name))
            if t is not None:
                return t
        return None

    def index(
        self, name: str, schema: str | None = None, search_path: Iterable[str] = DEFAULT_SEARCH_PATH
    ) -> Index | None:
        schemas = (schema,) if schema else tuple(search_path)
        for s in schemas:
            for t in self.tables.values():
                if t.schema == s:
                    i = t.index_named(name)
                    if i is not None:
                        return i
        return None

    def indexes(self) -> Iterator[Index]:
        for t in self.tables.values():
            yield from t.indexes

    def foreign_keys(self) -> Iterator[ForeignKey]:
        for t in self.tables.values():
            yield from t.foreign_keys

    def referencing(self, table: Table) -> list[ForeignKey]:
        return [
            fk
            for fk in self.foreign_keys()
            if (fk.ref_schema, fk.ref_table) == (table.schema, table.name)
        ]

    def derived(self, key: str, compute: Callable[[Catalog], T]) -> T:
        """`compute(self)`, computed once per state of the catalog under `key`: what rules
        derive from the whole catalog and ask for every statement."""
        state = (self.generation, len(self.tables), len(self.history), len(self.schemas))
        if self._derived is None or self._derived[0] != state:
            self._derived = (state, {})
        memo = self._derived[1]
        if key not in memo:
            memo[key] = compute(self)
        return memo[key]

    def names(self) -> tuple[frozenset[str], frozenset[str]]:
        """(every schema, every table name that exists or existed)."""
        return self.derived("names", _names)

    def declared_by(self, doc: str, stmt: int) -> list[Table | Index | ForeignKey]:
        """Tables, indexes and foreign keys (still present) declared by one statement."""
        if self._declared is None or self._declared_at != self.generation:
            by: dict[tuple[str, int], list] = {}
            for t in self.tables.values():
                for obj in (t, *t.indexes, *t.foreign_keys):
                    if obj.origin is not None:
                        by.setdefault((obj.origin.doc, obj.origin.stmt), []).append(obj)
            self._declared = by
            self._declared_at = self.generation
        return self._declared.get((doc, stmt), [])

    def declared_in(self, doc: str) -> Iterator[Table | Index | ForeignKey | Column]:
        """Every object (still present) whose declaration is in document `doc`."""
        for t in self.tables.values():
            if t.origin and t.origin.doc == doc:
                yield t
            for c in t.columns.values():
                if c.origin and c.origin.doc == doc:
                    yield c
            for i in t.indexes:
                if i.origin and i.origin.doc == doc:
                    yield i
            for f in t.foreign_keys:
                if f.origin and f.origin.doc == doc:
                    yield f

    def record(self, key: tuple[str, str], doc: str, ordinal: int) -> None:
        """Remember table `key` as it stands after statement `ordinal` of `doc`."""
        rank = self.doc_rank.setdefault(doc, len(self.doc_rank))
        table = self.tables.get(key)
        names = tuple(table.columns) if table is not None and table.columns_known else ()
        if table is not None and not table.columns_known:
            names = ("*",)  # unknown
        entries = self.history.setdefault(key, [])
        entry = (rank, ordinal, names)
        if not entries or entries[-1][:2] <= entry[:2]:
            entries.append(entry)
        else:
            insort(entries, entry)

    def columns_at(self, table: Table, doc: str, ordinal: int) -> tuple[str, ...] | None:
        """The column names of `table` as they stood before catalog statement `ordinal` of
        `doc` (the number of catalog statements before a statement that is not one), or None
        when that cannot be told for sure.

        A document that changes no table (queries, reports) sees the final schema; in a
        migration, a statement sees the tables as the statements before it left them."""
        rank = self.doc_rank.get(doc)
        if rank is None or table.source != "ddl":
            return tuple(table.columns) if table.columns_known else None
        entries = self.history.get(table.key)
        if not entries:
            return tuple(table.columns) if table.columns_known else None
        i = bisect_left(entries, (rank, ordinal))
        if i == 0:
            return None  # not declared yet at that point
        names = entries[i - 1][2]
        return names if names and names != ("*",) else None

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- merging ------------------------------------------------------------------------------
    def merge(self, other: Catalog) -> Catalog:
        """A new catalog: this one (workspace DDL) completed by `other` (the live database).

        Tables only in `other` are added; for tables in both, indexes and foreign keys that exist
        only in `other` are added, and estimated rows / statistics are taken from `other`.
        """
        out = Catalog()
        out.schemas = self.schemas | other.schemas
        out.types = {**other.types, **self.types}
        out._seq = max(self._seq, other._seq)
        out.history = self.history
        out.doc_rank = self.doc_rank
        out.type_changes = self.type_changes
        for key, t in self.tables.items():
            out.tables[key] = _copy_table(t)
        for key, live in other.tables.items():
            mine = out.tables.get(key)
            if mine is None:
                out.tables[key] = _copy_table(live)
                continue
            mine.est_rows = live.est_rows
            mine.seq_scans = live.seq_scans
            mine.idx_scans = live.idx_scans
            for col in live.columns.values():
                mine.columns.setdefault(col.name, col)
            for index in live.indexes:
                same = mine.same_index(index)
                if same is None:
                    mine.indexes.append(index)
                else:
                    mine.indexes[mine.indexes.index(same)] = replace(
                        same, scans=index.scans, size_bytes=index.size_bytes, valid=index.valid
                    )
            known = {(f.columns, f.ref_schema, f.ref_table) for f in mine.foreign_keys}
            for fk in live.foreign_keys:
                if (fk.columns, fk.ref_schema, fk.ref_table) not in known:
                    mine.foreign_keys.append(fk)
            mine.touch()
        out.generation = self.generation + other.generation + 1
        return out


def _copy_table(t: Table) -> Table:
    return Table(
        schema=t.schema,
        name=t.name,
        columns=dict(t.columns),
        indexes=list(t.indexes),
        foreign_keys=list(t.foreign_keys),
        kind=t.kind,
        origin=t.origin,
        source=t.source,
        est_rows=t.est_rows,
        seq_scans=t.seq_scans,
        idx_scans=t.idx_scans,
        columns_known=t.columns_known,
        redefined_in=set(t.redefined_in),
        parents=list(t.parents),
        children=list(t.children),
        partition=t.partition,
    )


def default_index_name(table: str, columns: Iterable[str], suffix: str = "idx") -> str:
    """PostgreSQL's choice of name for an unnamed index: `<table>_<col>_<col>_<suffix>`,
    truncated to 63 bytes the way PostgreSQL does (the column part is shortened first)."""
    cols = "_".join(columns) or "expr"
    name = f"{table}_{cols}_{suffix}"
    if len(name.encode()) <= 63:
        return name
    room = 63 - len(suffix) - 2
    t_part, c_part = table, cols
    while len((t_part + c_part).encode()) > room:
        if len(c_part) >= len(t_part):
            c_part = c_part[:-1]
        else:
            t_part = t_part[:-1]
    return f"{t_part}_{c_part}_{suffix}"


def _names(catalog: Catalog) -> tuple[frozenset[str], frozenset[str]]:
    schemas = frozenset(catalog.schemas) | {s for s, _ in catalog.tables}
    names = frozenset(n for _, n in catalog.tables) | {n for _, n in catalog.history}
    return schemas, names
