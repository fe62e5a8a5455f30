"""PostgreSQL DDL applied to the catalog from PostgreSQL's own parse tree.

PostgreSQL statements are read from libpg_query's tree (PostgreSQL 18's grammar, through pglast)
rather than sqlglot's: it is the grammar PostgreSQL itself runs, so every DDL form the server
accepts arrives here already resolved into its parts (`ALTER TABLE t RENAME a TO b` is a column
rename, `ON ONLY`, `WITHOUT OVERLAPS`, multi-object `DROP`, `CONSTRAINT c NOT NULL col`…), and
nothing is guessed from the spelling. Effects follow what PostgreSQL does when it runs the
statement: generated names (`ChooseRelationName`), inherited and partition columns, indexes
cloned to partitions, foreign keys cloned to partitions, a failing statement (a `DROP` that other
objects depend on, a missing object without `IF EXISTS`) changes nothing. Expressions (index keys
and predicates) are taken from the statement text and normalised like the live catalog's.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sql_lsp import pg
from sql_lsp.catalog.expressions import pg_expression, rename_in_expression, type_name
from sql_lsp.catalog.model import (
    Column,
    ForeignKey,
    Index,
    IndexKey,
    Origin,
    Table,
    default_index_name,
    quote_ident,
)
from sql_lsp.pg import node, strings

if TYPE_CHECKING:
    from sql_lsp.catalog.ddl import DdlBuilder, Place

_RELATION_KINDS = {
    "OBJECT_TABLE",
    "OBJECT_VIEW",
    "OBJECT_MATVIEW",
    "OBJECT_FOREIGN_TABLE",
}
# format_type's names for the internal type names the grammar produces
_BUILTIN = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
    "timetz": "time with time zone",
    "varbit": "bit varying",
    "numeric": "numeric",
    "interval": "interval",
    "bit": "bit",
}
_SERIAL = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint"}
_SERIAL.update({"smallserial": "smallint", "serial2": "smallint"})
_LIKE_INDEXES = 1 << 6


class PgDdl:
    """Applies one PostgreSQL statement tree to a builder's catalog."""

    def __init__(self, builder: DdlBuilder, place: Place) -> None:
        self.b = builder
        self.catalog = builder.catalog
        self.place = place
        self._source: str | None = None
        self._tokens: list[Any] | None = None
        # a statement that only adds names (CREATE TABLE, CREATE INDEX): the tables it may
        # add names to, read afresh by `taken`; None: the statement may drop or rename
        self._adding: list[Table] | None = None

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The statement text the tree's locations refer to."""
        if self._source is None:
            from sql_lsp.statements import blank_meta_lines

            self._source = pg.neutralize(blank_meta_lines(self.place.parsed.text))
        return self._source

    @property
    def tokens(self) -> list[Any]:
        """PostgreSQL's tokens of `source`. An editor's catalog keeps them with the parse:
        each rebuild (every edit of a CREATE TABLE) reads the same statements again."""
        if self._tokens is None:
            memo = self.place.parsed.memo
            tokens = memo.get("pg_tokens")
            if tokens is None:
                tokens = pg.scan(self.source)
                if self.b.keep:
                    memo["pg_tokens"] = tokens
            self._tokens = tokens  # type: ignore[assignment]
        return self._tokens  # type: ignore[return-value]

    def origin(self, start: int | None, length: int = 0) -> Origin:
        p = self.place
        if start is None or start < 0:
            return p.whole()
        return Origin(p.doc, p.ordinal, start, start + max(length, 0))

    def name_origin(self, rangevar: dict) -> Origin:
        """The span of a relation name (the last part of a possibly qualified name)."""
        loc = rangevar.get("location", -1)
        name = rangevar.get("relname", "")
        tok = self._token_at(loc)
        if tok is None:
            return self.origin(loc, len(name))
        i = self.tokens.index(tok)
        # schema . name: the name is two tokens further
        while i + 2 < len(self.tokens) and self.tokens[i + 1].name == "ASCII_46":
            i += 2
        t = self.tokens[i]
        return self.origin(t.start, t.end + 1 - t.start)

    def _token_at(self, loc: int) -> Any:
        if loc is None or loc < 0:
            return None
        for t in self.tokens:
            if t.start == loc:
                return t
            if t.start > loc:
                break
        return None

    def run(self, tree: dict) -> bool:
        kind, fields = node(tree)
        handler = getattr(self, "_" + kind, None)
        if handler is None:
            return False
        b = self.b
        if kind not in _ADDS_NAMES:
            b.relation_names = None  # what it drops or renames: read afresh, then again
            handler(fields)
            b.relation_names = None
            return True
        self._adding = []
        try:
            handler(fields)
        except BaseException:
            b.relation_names = None
            raise
        else:
            if b.relation_names is not None:
                created = [t for t in self._adding if self.catalog.tables.get(t.key) is t]
                _add_names(b.relation_names, created)
        finally:
            self._adding = None
        return True

    # -- names --------------------------------------------------------------------------------
    def create_schema(self, rangevar: dict) -> str:
        if rangevar.get("relpersistence") == "t":
            return "pg_temp"
        return rangevar.get("schemaname") or self.b.create_schema

    def find(self, rangevar: dict) -> Table | None:
        schema = rangevar.get("schemaname")
        name = rangevar.get("relname", "")
        if schema:
            return self.catalog.tables.get((schema, name))
        return self.catalog.table(name, None, ("pg_temp", *self.b.search_path))

    def find_names(self, names: list[str]) -> Table | None:
        if len(names) >= 2:
            return self.catalog.tables.get((names[-2], names[-1]))
        if names:
            return self.catalog.table(names[-1], None, ("pg_temp", *self.b.search_path))
        return None

    def find_index(self, names: list[str]) -> Index | None:
        if not names:
            return None
        if len(names) >= 2:
            return self.catalog.index(names[-1], names[-2])
        return self.catalog.index(names[-1], None, ("pg_temp", *self.b.search_path))

    def taken(self, schema: str) -> Container[str]:
        """Relation names in `schema` (tables, views and indexes share one namespace).

        Read from the whole catalog once, then kept between statements that only add names:
        a schema of thousands of tables and indexes is read once, not once per statement."""
        if self._adding is None:
            return _add_names({}, self.catalog.tables.values()).get(schema, set())
        b = self.b
        if b.relation_names is None:
            b.relation_names = _add_names({}, self.catalog.tables.values())
        return _Taken(b.relation_names.get(schema, set()), schema, self._adding)

    def adds_to(self, table: Table) -> None:
        """`table` may get new relation names in this statement (see `taken`)."""
        if self._adding is not None and table not in self._adding:
            self._adding.append(table)

    def choose_name(self, schema: str, table: str, columns: Iterable[str], label: str) -> str:
        """PostgreSQL's ChooseRelationName: `<table>_<cols>_<label>`, then label1, label2…"""
        taken = self.taken(schema)
        cols = list(columns)
        n = 0
        while True:
            suffix = label + (str(n) if n else "")
            name = default_index_name(table, cols, suffix) if cols else _object_name(table, suffix)
            if name not in taken:
                return name
            n += 1

    def changed(self, table: Table) -> None:
        table.touch()
        self.b.touched.add(table.key)

    # -- CREATE TABLE -------------------------------------------------------------------------
    def _CreateForeignTableStmt(self, f: dict) -> None:
        self._CreateStmt(f.get("base") or {}, kind="foreign table")

    def _created_again(self, table: Table, f: dict) -> None:
        """Another document creates `table` too, without IF NOT EXISTS (two versions of a
        schema side by side, a dump beside the script it came from: PostgreSQL would refuse
        to run one after the other): which definition holds is unknown, so the table is
        marked as defined in both, and its columns as unknown when the two lists differ.
        With IF NOT EXISTS the later file expects the table: a no-op, as in PostgreSQL."""
        doc = self.place.doc
        if f.get("if_not_exists") or table.origin is None or table.origin.doc == doc:
            return
        if table.source != "ddl":
            return
        names = []
        for elt in f.get("tableElts") or []:
            ekind, ef = node(elt)
            if ekind == "ColumnDef":
                names.append(ef.get("colname", ""))
            elif ekind == "TableLikeClause":
                names.append("*")
        table.redefined_in.add(doc)
        if names != list(table.columns) or f.get("inhRelations") or f.get("partbound"):
            table.columns_known = False
        self.changed(table)

    def _CreateStmt(self, f: dict, kind: str = "table") -> None:
        rel = f.get("relation") or {}
        schema = self.create_schema(rel)
        name = rel.get("relname", "")
        if not name:
            return
        if (schema, name) in self.catalog.tables or name in self.taken(schema):
            # already exists: an error, or a no-op with IF NOT EXISTS
            existing = self.catalog.tables.get((schema, name))
            if existing is not None:
                self._created_again(existing, f)
            return
        if f.get("partspec"):
            kind = "partitioned table"
        table = Table(schema=schema, name=name, kind=kind, origin=self.name_origin(rel))
        self.adds_to(table)
        parents: list[Table] = []
        for inh in f.get("inhRelations") or []:
            _, rv = node(inh)
            parent = self.find(rv)
            if parent is None:
                table.columns_known = False
                continue
            parents.append(parent)
            if not parent.columns_known:
                table.columns_known = False
            for c in parent.columns.values():
                if c.name not in table.columns:
                    table.columns[c.name] = replace(c)
                elif c.not_null:
                    table.columns[c.name].not_null = True
        if f.get("ofTypename"):
            table.columns_known = False
        later: list[dict] = []
        for elt in f.get("tableElts") or []:
            ekind, ef = node(elt)
            if ekind == "ColumnDef":
                self.column_def(table, ef)
            elif ekind == "TableLikeClause":
                self.like(table, ef)
            elif ekind == "Constraint":
                later.append(ef)
        partition_of = bool(f.get("partbound")) and parents
        table.parents = [p.key for p in parents]
        table.partition = bool(partition_of)
        self.catalog.tables[(schema, name)] = table
        for key in table.like_sources:
            src = self.catalog.tables.get(key)
            for index in src.indexes if src is not None else ():
                self.clone_index(table, index)
        table.like_sources = []
        for c in later:
            self.constraint(table, c)
        for p in parents:
            p.children.append(table.key)
        if partition_of:
            self.inherit_from_parent(table, parents[0])
        self.changed(table)

    def column_def(self, table: Table, f: dict, alter: bool = False) -> Column | None:
        name = f.get("colname", "")
        if not name:
            return None
        tname = f.get("typeName")
        col = table.columns.get(name)
        if col is None:
            col = Column(name, origin=self.origin(f.get("location"), len(name)))
            table.columns[name] = col
        elif alter:
            return None  # ADD COLUMN of an existing column: an error (or IF NOT EXISTS)
        if tname:
            ctype, serial = self.type_of(tname)
            col.type = ctype
            if serial:
                col.not_null = True
                col.default = f"nextval('{table.name}_{name}_seq'::regclass)"
        for c in f.get("constraints") or []:
            _, cf = node(c)
            contype = cf.get("contype")
            if contype in ("CONSTR_NOTNULL", "CONSTR_IDENTITY"):
                col.not_null = True
            elif contype == "CONSTR_DEFAULT":
                col.default = self._default_text(f, cf) or col.default
            elif contype == "CONSTR_PRIMARY":
                col.not_null = True
                self.unique(table, [name], cf, primary=True, anchor=f)
            elif contype == "CONSTR_UNIQUE":
                self.unique(table, [name], cf, primary=False, anchor=f)
            elif contype == "CONSTR_FOREIGN":
                self.foreign_key(table, [name], cf, column_level=True)
        return col

    def _default_text(self, column: dict, default: dict) -> str | None:
        """The text of a DEFAULT expression: up to the next constraint of the column, or the
        end of the column definition."""
        start_tok = self._token_at(default.get("location", -1))
        if start_tok is None:
            return None
        toks = self.tokens
        i = toks.index(start_tok) + 1
        if i >= len(toks):
            return None
        stops = sorted(
            loc
            for c in column.get("constraints") or []
            if (loc := node(c)[1].get("location", -1)) > start_tok.start
        )
        limit = stops[0] if stops else None
        depth = 0
        end = toks[i].start
        for t in toks[i:]:
            if limit is not None and t.start >= limit:
                break
            if t.name == "ASCII_40":
                depth += 1
            elif t.name == "ASCII_41":
                if depth == 0:
                    break
                depth -= 1
            elif t.name == "ASCII_44" and depth == 0:
                break
            end = t.end + 1
        text = self.source[toks[i].start : end].strip()
        return " ".join(text.split()) or None

    def type_of(self, tname: dict) -> tuple[str | None, bool]:
        names = strings(tname.get("names"))
        if not names:
            return None, False
        base = names[-1]
        schema = names[-2] if len(names) > 1 else None
        serial = False
        if schema is None and base in _SERIAL and not tname.get("arrayBounds"):
            return type_name(_SERIAL[base]), True
        mods = []
        for m in tname.get("typmods") or []:
            mk, mf = node(m)
            if mk == "A_Const":
                if "ival" in mf:
                    mods.append(str(mf["ival"].get("ival", 0)))
                elif "sval" in mf:
                    mods.append(str(mf["sval"].get("sval", "")))
            elif mk == "ColumnRef":
                mods.extend(strings(mf.get("fields")))
        if schema == "pg_catalog" and base in _BUILTIN:
            text = _BUILTIN[base]
            if base == "bpchar" and not mods:
                mods = ["1"]
            if base in ("timestamp", "timestamptz", "time", "timetz") and mods:
                word, _, zone = text.partition(" ")
                text = f"{word}({','.join(mods)}) {zone}"
                mods = []
        elif schema in (None, "public", "pg_catalog"):
            text = base if base == base.lower() else f'"{base}"'
        else:
            text = f"{schema}.{base}"
        if mods and base != "interval":
            text += "(" + ",".join(mods) + ")"
        if tname.get("arrayBounds"):
            text += "[]"
        return type_name(text), serial

    def like(self, table: Table, f: dict) -> None:
        src = self.find(f.get("relation") or {})
        if src is None:
            table.columns_known = False
            return
        for c in src.columns.values():
            if c.name not in table.columns:
                table.columns[c.name] = Column(c.name, c.type, c.not_null, None, c.origin)
        if int(f.get("options") or 0) & _LIKE_INDEXES:
            table.like_sources.append(src.key)

    # -- constraints --------------------------------------------------------------------------
    def constraint(self, table: Table, f: dict) -> None:
        contype = f.get("contype")
        keys = strings(f.get("keys"))
        if contype == "CONSTR_NOTNULL":
            for k in keys:
                if k in table.columns:
                    table.columns[k].not_null = True
        elif contype == "CONSTR_PRIMARY":
            if f.get("indexname"):
                self.using_index(table, f, primary=True)
                return
            for k in keys:
                if k in table.columns:
                    table.columns[k].not_null = True
            self.unique(table, keys, f, primary=True)
        elif contype == "CONSTR_UNIQUE":
            if f.get("indexname"):
                self.using_index(table, f, primary=False)
                return
            self.unique(table, keys, f, primary=False)
        elif contype == "CONSTR_EXCLUSION":
            self.exclusion(table, f)
        elif contype == "CONSTR_FOREIGN":
            self.foreign_key(table, strings(f.get("fk_attrs")), f, column_level=False)
        self.changed(table)

    def _constraint_origin(self, f: dict, anchor: dict | None = None) -> Origin:
        if anchor is not None:
            name = anchor.get("colname", "")
            return self.origin(anchor.get("location"), len(name))
        loc = f.get("location", -1)
        tok = self._token_at(loc)
        if tok is None:
            return self.origin(loc, 1)
        # from the constraint's first token to the end of its column list
        i = self.tokens.index(tok)
        end = self._group_end(i)
        return self.origin(tok.start, end - tok.start)

    def _group_end(self, i: int) -> int:
        """The end offset of the first parenthesised group at or after token `i`."""
        toks = self.tokens
        depth = 0
        for j in range(i, len(toks)):
            if toks[j].name == "ASCII_40":
                depth += 1
            elif toks[j].name == "ASCII_41":
                depth -= 1
                if depth == 0:
                    return toks[j].end + 1
            elif toks[j].name == "ASCII_44" and depth == 0 and j > i:
                return toks[j - 1].end + 1
        return toks[-1].end + 1 if toks else 0

    def unique(
        self,
        table: Table,
        keys: list[str],
        f: dict,
        primary: bool,
        anchor: dict | None = None,
        origin: Origin | None = None,
    ) -> Index | None:
        if not keys:
            return None
        if primary and any(i.primary for i in table.indexes):
            return None  # a second primary key: an error
        name = f.get("conname")
        if not name:
            if primary:
                name = self.choose_name(table.schema, table.name, [], "pkey")
            else:
                name = self.choose_name(table.schema, table.name, keys, "key")
        elif name in self.taken(table.schema):
            return None
        index = Index(
            name=name,
            schema=table.schema,
            table=table.name,
            keys=tuple(IndexKey(expr=c, column=c) for c in keys),
            unique=True,
            primary=primary,
            constraint="primary key" if primary else "unique",
            method="gist" if f.get("without_overlaps") else "btree",
            include=tuple(strings(f.get("including"))),
            origin=origin or self._constraint_origin(f, anchor),
            seq=self.catalog.next_seq(),
        )
        table.indexes.append(index)
        self.changed(table)
        if table.kind == "partitioned table":
            for child in self.children(table):
                self.clone_index(child, index)
        return index

    def exclusion(self, table: Table, f: dict) -> None:
        keys = []
        cols = []
        for item in f.get("exclusions") or []:
            _, lf = node(item)
            parts = lf.get("items") or []
            if not parts:
                continue
            ek, ef = node(parts[0])
            if ek == "IndexElem" and ef.get("name"):
                keys.append(IndexKey(expr=ef["name"], column=ef["name"]))
                cols.append(ef["name"])
            else:
                keys.append(IndexKey(expr="?"))
                cols.append("expr")
        name = f.get("conname") or self.choose_name(table.schema, table.name, cols, "excl")
        table.indexes.append(
            Index(
                name=name,
                schema=table.schema,
                table=table.name,
                keys=tuple(keys),
                constraint="exclusion",
                method=f.get("access_method") or "gist",
                origin=self._constraint_origin(f),
                seq=self.catalog.next_seq(),
            )
        )

    def using_index(self, table: Table, f: dict, primary: bool) -> None:
        index = table.index_named(f.get("indexname", ""))
        if index is None:
            return
        name = f.get("conname") or index.name
        table.indexes[table.indexes.index(index)] = replace(
            index,
            name=name,
            unique=True,
            primary=primary,
            constraint="primary key" if primary else "unique",
        )
        if primary:
            for k in index.columns:
                if k in table.columns:
                    table.columns[k].not_null = True
        self.changed(table)

    def foreign_key(self, table: Table, cols: list[str], f: dict, column_level: bool) -> None:
        pkrel = f.get("pktable") or {}
        if not cols:
            return
        # a column-level self-reference runs before the table is registered
        self_reference = pkrel.get("relname") == table.name and not pkrel.get("schemaname")
        ref = self.find(pkrel) or (table if self_reference else None)
        ref_cols = tuple(strings(f.get("pk_attrs")))
        if ref is not None:
            ref_schema, ref_name = ref.schema, ref.name
            if not ref_cols:
                pk = next((i for i in ref.indexes if i.primary), None)
                ref_cols = tuple(c for c in pk.columns if c) if pk else ()
        else:
            ref_schema = pkrel.get("schemaname") or self.b.create_schema
            ref_name = pkrel.get("relname", "")
        name = f.get("conname") or default_index_name(table.name, cols, "fkey")
        fk = ForeignKey(
            name=name,
            schema=table.schema,
            table=table.name,
            columns=tuple(cols),
            ref_schema=ref_schema,
            ref_table=ref_name,
            ref_columns=ref_cols,
            origin=self._fk_origin(f, pkrel, column_level),
        )
        table.foreign_keys.append(fk)
        self.changed(table)
        for child in self.children(table):
            self.clone_fk(child, fk)

    def _fk_origin(self, f: dict, pkrel: dict, column_level: bool) -> Origin:
        """From REFERENCES (or FOREIGN) to the end of the referenced column list."""
        toks = self.tokens
        loc = f.get("location", -1)
        start_tok = self._token_at(loc)
        ref_tok = self._token_at(pkrel.get("location", -1))
        if start_tok is None or ref_tok is None:
            return self.origin(loc, 1)
        i = toks.index(start_tok)
        k = toks.index(ref_tok)
        if not column_level:  # CONSTRAINT name FOREIGN KEY …: start at FOREIGN
            for j in range(i, k):
                if toks[j].name == "FOREIGN":
                    i = j
                    break
        else:
            for j in range(i, k):
                if toks[j].name == "REFERENCES":
                    i = j
                    break
        # the referenced name (maybe qualified), then its column list
        while k + 2 < len(toks) and toks[k + 1].name == "ASCII_46":
            k += 2
        end = toks[k].end + 1
        if k + 1 < len(toks) and toks[k + 1].name == "ASCII_40":
            end = self._group_end(k + 1)
        return self.origin(toks[i].start, end - toks[i].start)

    # -- partitions and inheritance -----------------------------------------------------------
    def children(self, table: Table) -> list[Table]:
        out = []
        for key in table.children:
            child = self.catalog.tables.get(key)
            if child is not None and table.key in child.parents:
                out.append(child)
        return out

    def inherit_from_parent(self, child: Table, parent: Table) -> None:
        """A new or attached partition gets the parent's indexes and foreign keys."""
        for index in parent.indexes:
            self.clone_index(child, index)
        for fk in parent.foreign_keys:
            self.clone_fk(child, fk)

    def clone_index(self, child: Table, index: Index) -> None:
        self.adds_to(child)
        if any(
            i.keys == index.keys and i.predicate == index.predicate and i.unique == index.unique
            for i in child.indexes
        ):
            return  # an equivalent index is attached instead
        cols = [k.column or "expr" for k in index.keys]
        if index.primary:
            name = self.choose_name(child.schema, child.name, [], "pkey")
        elif index.constraint == "unique":
            name = self.choose_name(child.schema, child.name, cols, "key")
        else:
            name = self.choose_name(
                child.schema, child.name, [_label(k) for k in index.keys], "idx"
            )
        # a clone is PostgreSQL's doing, not a declaration: findings stay on the original
        clone = replace(
            index,
            name=name,
            schema=child.schema,
            table=child.name,
            seq=self.catalog.next_seq(),
            origin=None,
        )
        child.indexes.append(clone)
        if index.primary:
            for k in index.columns:
                if k in child.columns:
                    child.columns[k].not_null = True
        self.changed(child)
        if child.kind == "partitioned table":
            for grandchild in self.children(child):
                self.clone_index(grandchild, clone)

    def clone_fk(self, child: Table, fk: ForeignKey) -> None:
        if not child.partition:
            return  # inheritance children do not inherit foreign keys
        if any(f.columns == fk.columns and f.ref_table == fk.ref_table for f in child.foreign_keys):
            return
        child.foreign_keys.append(replace(fk, schema=child.schema, table=child.name, origin=None))
        self.changed(child)
        for grandchild in self.children(child):
            self.clone_fk(grandchild, fk)

    # -- CREATE INDEX -------------------------------------------------------------------------
    def _IndexStmt(self, f: dict) -> None:
        rel = f.get("relation") or {}
        table = self.find(rel)
        if table is None:
            self.b.defer(self.place)
            return
        self.adds_to(table)
        types = {c.name: c.type or "" for c in table.columns.values()}
        elements = self._index_elements(rel)
        keys: list[IndexKey] = []
        labels: list[str] = []
        for n, p in enumerate(f.get("indexParams") or []):
            _, ef = node(p)
            desc = ef.get("ordering") == "SORTBY_DESC"
            opclass = (strings(ef.get("opclass")) or [None])[-1]
            collation = (strings(ef.get("collation")) or [None])[-1]
            collation = quote_ident(collation) if collation else None
            if ef.get("name"):
                keys.append(IndexKey(ef["name"], ef["name"], desc, opclass, collation))
                labels.append(ef["name"])
                continue
            text = self._element_expression(elements[n]) if n < len(elements) else None
            if text is None:
                return  # an index we cannot read: better none than a wrong one
            keys.append(IndexKey(pg_expression(text, types), None, desc, opclass, collation))
            labels.append(ef.get("indexcolname") or _figure_name(ef.get("expr")))
        if not keys:
            return
        predicate = None
        if f.get("whereClause") is not None:
            text = self._predicate_text()
            if text is None:
                return
            predicate = pg_expression(text, types)
        name = f.get("idxname")
        if name:
            if name in self.taken(table.schema):
                return  # exists: an error, or a no-op with IF NOT EXISTS
        else:
            name = self.choose_name(table.schema, table.name, labels, "idx")
        index = Index(
            name=name,
            schema=table.schema,
            table=table.name,
            keys=tuple(keys),
            unique=bool(f.get("unique")),
            method=f.get("accessMethod") or "btree",
            predicate=predicate,
            include=tuple(node(p)[1].get("name", "") for p in f.get("indexIncludingParams") or []),
            origin=self.place.whole(),
            seq=self.catalog.next_seq(),
        )
        table.indexes.append(index)
        self.changed(table)
        if rel.get("inh") and table.kind == "partitioned table":  # not ON ONLY: every partition
            for child in self.children(table):
                self.clone_index(child, index)

    def _index_elements(self, rel: dict) -> list[tuple[int, int]]:
        """Token index ranges of the elements of the key list `( … )` after the table name."""
        toks = self.tokens
        tok = self._token_at(rel.get("location", -1))
        if tok is None:
            return []
        i = toks.index(tok)
        while i < len(toks) and toks[i].name != "ASCII_40":
            i += 1
        out = []
        depth = 0
        start = i + 1
        for j in range(i, len(toks)):
            name = toks[j].name
            if name == "ASCII_40":
                depth += 1
            elif name == "ASCII_41":
                depth -= 1
                if depth == 0:
                    out.append((start, j))
                    break
            elif name == "ASCII_44" and depth == 1:
                out.append((start, j))
                start = j + 1
        return [(a, b) for a, b in out]

    def _element_expression(self, span: tuple[int, int]) -> str | None:
        """The expression of one key element: a parenthesised expression or a function call
        (what follows it is collation, operator class and ordering)."""
        toks = self.tokens
        i, j = span
        if i >= j:
            return None
        k = i
        while k < j and toks[k].name != "ASCII_40":
            k += 1
        if k >= j:
            return None
        depth = 0
        for m in range(k, j):
            if toks[m].name == "ASCII_40":
                depth += 1
            elif toks[m].name == "ASCII_41":
                depth -= 1
                if depth == 0:
                    return self.source[toks[i].start : toks[m].end + 1]
        return None

    def _predicate_text(self) -> str | None:
        toks = self.tokens
        depth = 0
        for t in toks:
            if t.name == "ASCII_40":
                depth += 1
            elif t.name == "ASCII_41":
                depth -= 1
            elif t.name == "WHERE" and depth == 0:
                return self.source[t.end + 1 :].strip().rstrip(";")
        return None

    # -- ALTER TABLE --------------------------------------------------------------------------
    def _AlterTableStmt(self, f: dict) -> None:
        objtype = f.get("objtype")
        rel = f.get("relation") or {}
        if objtype == "OBJECT_INDEX":
            return  # ATTACH PARTITION, SET TABLESPACE…: the index sets do not change
        if objtype not in _RELATION_KINDS:
            return
        table = self.find(rel)
        if table is None:
            if not f.get("missing_ok"):
                self.b.defer(self.place)
            return
        for cmd in f.get("cmds") or []:
            _, cf = node(cmd)
            table = self.alter_cmd(table, cf, recurse=bool(rel.get("inh"))) or table
        self.changed(table)

    def alter_cmd(self, table: Table, c: dict, recurse: bool) -> Table | None:
        sub = c.get("subtype")
        d = c.get("def")
        dk, df = node(d) if d is not None else ("", {})
        name = c.get("name")
        targets = [table, *(self.descendants(table) if recurse else [])]
        if sub == "AT_AddColumn" and dk == "ColumnDef":
            if df.get("colname") in table.columns:
                return None
            for t in targets:
                constraints = df.get("constraints") if t is table else None
                self.column_def(t, {**df, "constraints": constraints} if t is not table else df)
                self.changed(t)
        elif sub == "AT_DropColumn" and name:
            if name not in table.columns:
                return None
            for t in targets:
                self.drop_column(t, name)
        elif sub == "AT_AlterColumnType" and dk == "ColumnDef" and name:
            before = table.columns.get(name)
            after = self.type_of(df["typeName"])[0] if df.get("typeName") else None
            place = self.place
            self.catalog.type_changes.setdefault((place.doc, place.ordinal), []).append(
                (table.schema, table.name, name, before.type if before else None, after)
            )
            for t in targets:
                col = t.columns.get(name)
                if col is not None and df.get("typeName"):
                    col.type = self.type_of(df["typeName"])[0]
                    self.changed(t)
        elif sub in ("AT_SetNotNull", "AT_AddIdentity") and name:
            for t in targets:
                if name in t.columns:
                    t.columns[name].not_null = True
        elif sub == "AT_DropNotNull" and name:
            for t in targets:
                if name in t.columns:
                    t.columns[name].not_null = False
        elif sub == "AT_AddConstraint" and dk == "Constraint":
            self.constraint(table, df)
        elif sub == "AT_DropConstraint" and name:
            for t in targets:
                self.drop_constraint(t, name)
        elif sub == "AT_AttachPartition" and dk == "PartitionCmd":
            child = self.find(df.get("name") or {})
            if child is not None:
                child.parents = [table.key]
                child.partition = True
                table.children = [*table.children, child.key]
                self.inherit_from_parent(child, table)
        elif sub == "AT_DetachPartition" and dk == "PartitionCmd":
            child = self.find(df.get("name") or {})
            if child is not None:
                child.parents = []
                child.partition = False
                self.changed(child)
        elif sub == "AT_AddInherit" and d is not None:
            parent = self.find(df)
            if parent is not None:
                table.parents.append(parent.key)
                parent.children.append(table.key)
        return None

    def descendants(self, table: Table) -> Iterator[Table]:
        for child in self.children(table):
            yield child
            yield from self.descendants(child)

    def drop_column(self, table: Table, name: str) -> None:
        if table.columns.pop(name, None) is None:
            return
        table.indexes = [
            i
            for i in table.indexes
            if name not in i.columns
            and name not in i.include
            and not any(_mentions(k.expr, name) for k in i.keys if k.column is None)
            and not (i.predicate and _mentions(i.predicate, name))
        ]
        table.foreign_keys = [fk for fk in table.foreign_keys if name not in fk.columns]
        for other in self.catalog.tables.values():
            before = len(other.foreign_keys)
            other.foreign_keys = [
                fk
                for fk in other.foreign_keys
                if not ((fk.ref_schema, fk.ref_table) == table.key and name in fk.ref_columns)
            ]
            if len(other.foreign_keys) != before:
                self.changed(other)
        self.changed(table)

    def drop_constraint(self, table: Table, name: str) -> None:
        fks = [fk for fk in table.foreign_keys if fk.name != name]
        if len(fks) != len(table.foreign_keys):
            table.foreign_keys = fks
            self.changed(table)
            return
        index = table.index_named(name)
        if index is not None and index.constraint:
            table.indexes.remove(index)
            self.changed(table)

    # -- RENAME, SET SCHEMA -------------------------------------------------------------------
    def _RenameStmt(self, f: dict) -> None:
        kind = f.get("renameType")
        rel = f.get("relation") or {}
        new = f.get("newname", "")
        if kind in _RELATION_KINDS:
            table = self.find(rel)
            if table is None or not new or new in self.taken(table.schema):
                return
            self.move_table(table, table.schema, new)
        elif kind == "OBJECT_COLUMN":
            table = self.find(rel)
            old = f.get("subname", "")
            if table is None or old not in table.columns or new in table.columns:
                return
            for t in [table, *self.descendants(table)]:
                self.rename_column(t, old, new)
        elif kind == "OBJECT_INDEX":
            names = [n for n in (rel.get("schemaname"), rel.get("relname")) if n]
            index = self.find_index(names)
            if index is None or new in self.taken(index.schema):
                return
            self.rename_index(index, new)
        elif kind == "OBJECT_TABCONSTRAINT":
            table = self.find(rel)
            if table is None:
                return
            old = f.get("subname", "")
            for i, fk in enumerate(table.foreign_keys):
                if fk.name == old:
                    table.foreign_keys[i] = replace(fk, name=new)
                    self.changed(table)
                    return
            index = table.index_named(old)
            if index is not None and index.constraint:
                self.rename_index(index, new)
        elif kind == "OBJECT_SCHEMA":
            old = f.get("subname", "")
            if old not in self.catalog.schemas or new in self.catalog.schemas:
                return
            self.catalog.schemas.discard(old)
            self.catalog.schemas.add(new)
            for t in [t for t in self.catalog.tables.values() if t.schema == old]:
                self.move_table(t, new, t.name)

    def rename_index(self, index: Index, new: str) -> None:
        table = self.catalog.tables.get((index.schema, index.table))
        if table is None:
            return
        table.indexes = [replace(i, name=new) if i is index else i for i in table.indexes]
        self.changed(table)

    def rename_column(self, table: Table, old: str, new: str) -> None:
        cols = {}
        for k, c in table.columns.items():
            if k == old:
                c = replace(c, name=new)
                k = new
            cols[k] = c
        table.columns = cols

        def key(k: IndexKey) -> IndexKey:
            if k.column == old:
                return replace(k, expr=new, column=new)
            if k.column is None:
                return replace(k, expr=rename_in_expression(k.expr, old, new))
            return k

        table.indexes = [
            replace(
                i,
                keys=tuple(key(k) for k in i.keys),
                include=tuple(new if c == old else c for c in i.include),
                predicate=rename_in_expression(i.predicate, old, new) if i.predicate else None,
            )
            for i in table.indexes
        ]
        table.foreign_keys = [
            replace(fk, columns=tuple(new if c == old else c for c in fk.columns))
            for fk in table.foreign_keys
        ]
        for other in self.catalog.tables.values():
            if any((fk.ref_schema, fk.ref_table) == table.key for fk in other.foreign_keys):
                other.foreign_keys = [
                    replace(fk, ref_columns=tuple(new if c == old else c for c in fk.ref_columns))
                    if (fk.ref_schema, fk.ref_table) == table.key
                    else fk
                    for fk in other.foreign_keys
                ]
                self.changed(other)
        self.changed(table)

    def move_table(self, table: Table, schema: str, name: str) -> None:
        """Rename a table or move it to another schema (its indexes go with it)."""
        old_key = table.key
        if (schema, name) in self.catalog.tables:
            return
        del self.catalog.tables[old_key]
        table.schema, table.name = schema, name
        table.indexes = [replace(i, schema=schema, table=name) for i in table.indexes]
        table.foreign_keys = [replace(fk, schema=schema, table=name) for fk in table.foreign_keys]
        self.catalog.tables[(schema, name)] = table
        self.b.touched.add(old_key)
        for other in self.catalog.tables.values():
            if any((fk.ref_schema, fk.ref_table) == old_key for fk in other.foreign_keys):
                other.foreign_keys = [
                    replace(fk, ref_schema=schema, ref_table=name)
                    if (fk.ref_schema, fk.ref_table) == old_key
                    else fk
                    for fk in other.foreign_keys
                ]
                self.changed(other)
            other.parents = [(schema, name) if k == old_key else k for k in other.parents]
            other.children = [(schema, name) if k == old_key else k for k in other.children]
        self.changed(table)

    def _AlterObjectSchemaStmt(self, f: dict) -> None:
        if f.get("objectType") not in _RELATION_KINDS:
            return
        table = self.find(f.get("relation") or {})
        new = f.get("newschema", "")
        if table is None or not new:
            return
        self.move_table(table, new, table.name)

    # -- DROP ---------------------------------------------------------------------------------
    def _DropStmt(self, f: dict) -> None:
        kind = f.get("removeType")
        cascade = f.get("behavior") == "DROP_CASCADE"
        missing_ok = bool(f.get("missing_ok"))
        objects = [strings(node(o)[1].get("items")) for o in f.get("objects") or []]
        if kind in _RELATION_KINDS:
            tables = []
            for names in objects:
                t = self.find_names(names)
                if t is None:
                    if not missing_ok:
                        return  # the whole statement fails
                    continue
                tables.append(t)
            self.drop_tables(tables, cascade)
        elif kind == "OBJECT_INDEX":
            indexes = []
            for names in objects:
                i = self.find_index(names)
                if i is None:
                    if not missing_ok:
                        return
                    continue
                if i.constraint:
                    return  # an index that backs a constraint cannot be dropped
                indexes.append(i)
            for i in indexes:
                table = self.catalog.tables.get((i.schema, i.table))
                if table is not None:
                    table.indexes = [x for x in table.indexes if x is not i]
                    self.changed(table)
                    for child in self.descendants(table):
                        child.indexes = [
                            x
                            for x in child.indexes
                            if not (
                                x.keys == i.keys and x.predicate == i.predicate and not x.constraint
                            )
                        ]
                        self.changed(child)
        elif kind == "OBJECT_SCHEMA":
            names = [node(o)[1].get("sval", "") for o in f.get("objects") or []]
            for s in names:
                inside = [t for t in self.catalog.tables.values() if t.schema == s]
                if inside and not cascade:
                    return
                if s not in self.catalog.schemas and not inside and not missing_ok:
                    return
            for s in names:
                self.drop_tables(
                    [t for t in self.catalog.tables.values() if t.schema == s], cascade=True
                )
                self.catalog.schemas.discard(s)
                self.catalog.types = {k: v for k, v in self.catalog.types.items() if k[0] != s}
        elif kind in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
            for names in [
                strings(o.get("TypeName", {}).get("names")) for o in f.get("objects") or []
            ]:
                if names:
                    key = (names[-2] if len(names) > 1 else self.b.create_schema, names[-1])
                    self.catalog.types.pop(key, None)

    def drop_tables(self, tables: list[Table], cascade: bool) -> None:
        doomed = {t.key for t in tables}
        # partitions go with their table; inheritance children need CASCADE
        for t in list(tables):
            for d in self.descendants(t):
                if d.key in doomed:
                    continue
                if d.partition or cascade:
                    doomed.add(d.key)
                else:
                    return
        for key, other in self.catalog.tables.items():
            if key in doomed:
                continue
            refs = [fk for fk in other.foreign_keys if (fk.ref_schema, fk.ref_table) in doomed]
            if refs and not cascade:
                return  # other objects depend on it: the statement fails
        for key in doomed:
            self.catalog.tables.pop(key, None)
            self.b.touched.add(key)
        for other in self.catalog.tables.values():
            keep = [fk for fk in other.foreign_keys if (fk.ref_schema, fk.ref_table) not in doomed]
            if len(keep) != len(other.foreign_keys):
                other.foreign_keys = keep
                self.changed(other)

    # -- views, CREATE TABLE AS, schemas, types -----------------------------------------------
    def _ViewStmt(self, f: dict) -> None:
        rel = f.get("view") or {}
        self.view(rel, strings(f.get("aliases")), "view", bool(f.get("replace")))

    def _CreateTableAsStmt(self, f: dict) -> None:
        into = f.get("into") or {}
        rel = into.get("rel") or {}
        kind = "materialized view" if f.get("objtype") == "OBJECT_MATVIEW" else "table"
        self.view(rel, strings(into.get("colNames")), kind, False)

    def view(self, rel: dict, aliases: list[str], kind: str, replace_ok: bool) -> None:
        schema = self.create_schema(rel)
        name = rel.get("relname", "")
        old = self.catalog.tables.get((schema, name))
        if old is not None and not (replace_ok and old.kind == kind):
            return
        if old is None and name in self.taken(schema):
            return
        view = Table(schema=schema, name=name, kind=kind, origin=self.name_origin(rel))
        names = self.b.query_columns(self.place.parsed)
        if names is None and not aliases:
            view.columns_known = False
        else:
            names = list(names or [])
            for i, a in enumerate(aliases):
                if i < len(names):
                    names[i] = a
                else:
                    names.append(a)
            for c in names:
                view.columns[c] = Column(c, origin=self.place.whole())
        if old is not None:
            view.indexes = old.indexes
        self.catalog.tables[(schema, name)] = view
        self.changed(view)

    def _CreateSchemaStmt(self, f: dict) -> None:
        name = f.get("schemaname") or ""
        if not name:
            return
        self.catalog.schemas.add(name)
        elements = f.get("schemaElts") or []
        if elements:
            saved = self.b.search_path
            self.b.search_path = [name, *saved]
            try:
                for e in elements:
                    self.run(e)
            finally:
                self.b.search_path = saved

    def _type(self, names: list[str]) -> None:
        if names:
            schema = names[-2] if len(names) > 1 else self.b.create_schema
            self.catalog.types[(schema, names[-1])] = self.place.whole()

    def _CreateEnumStmt(self, f: dict) -> None:
        self._type(strings(f.get("typeName")))

    def _CompositeTypeStmt(self, f: dict) -> None:
        rel = f.get("typevar") or {}
        self._type([n for n in (rel.get("schemaname"), rel.get("relname")) if n])

    def _CreateDomainStmt(self, f: dict) -> None:
        self._type(strings(f.get("domainname")))

    def _CreateRangeStmt(self, f: dict) -> None:
        self._type(strings(f.get("typeName")))


def _object_name(table: str, label: str) -> str:
    """`<table>_<label>`, the table part shortened to fit PostgreSQL's 63 bytes."""
    room = 63 - len(label) - 1
    part = table
    while len(part.encode()) > room:
        part = part[:-1]
    return f"{part}_{label}"


def _label(key: IndexKey) -> str:
    if key.column is not None:
        return key.column
    text = key.expr.lstrip("( ")
    word = ""
    for ch in text:
        if ch.isalnum() or ch == "_":
            word += ch
        else:
            break
    rest = text[len(word) :].lstrip()
    return word.lower() if word and rest.startswith("(") else "expr"


def _figure_name(expr: Any) -> str:
    """PostgreSQL's FigureIndexColname: the name an expression key gives an index."""
    kind, f = node(expr)
    if kind == "FuncCall":
        names = strings(f.get("funcname"))
        return names[-1] if names else "expr"
    if kind == "TypeCast":
        inner = _figure_name(f.get("arg"))
        if inner != "expr":
            return inner
        names = strings((f.get("typeName") or {}).get("names"))
        return names[-1] if names else "expr"
    if kind == "CollateClause":
        return _figure_name(f.get("arg"))
    if kind == "ColumnRef":
        names = strings(f.get("fields"))
        return names[-1] if names and names[-1] != "*" else "expr"
    if kind == "CoalesceExpr":
        return "coalesce"
    if kind == "CaseExpr":
        return "case"
    if kind == "MinMaxExpr":
        return "greatest" if f.get("op") == "IS_GREATEST" else "least"
    if kind == "A_Expr" and f.get("kind") == "AEXPR_NULLIF":
        return "nullif"
    return "expr"


def _mentions(expr: str, column: str) -> bool:
    import re

    return re.search(rf'(?<![\w"]){re.escape(column)}(?![\w"])', expr) is not None


# the statements that add relation names and never drop or rename one
_ADDS_NAMES = frozenset({"CreateStmt", "IndexStmt"})


def _add_names(names: dict[str, set[str]], tables: Iterable[Table]) -> dict[str, set[str]]:
    """`names` (relation names by schema) with those of `tables` and their indexes added."""
    for t in tables:
        schema = names.setdefault(t.schema, set())
        schema.add(t.name)
        schema.update(i.name for i in t.indexes)
    return names


class _Taken:
    """The relation names of a schema: those it had before the statement, and those of the
    tables the statement may have added names to, read afresh."""

    __slots__ = ("adding", "before", "schema")

    def __init__(self, before: set[str], schema: str, adding: list[Table]) -> None:
        self.before = before
        self.schema = schema
        self.adding = adding

    def __contains__(self, name: object) -> bool:
        if name in self.before:
            return True
        return isinstance(name, str) and any(
            t.schema == self.schema and (t.name == name or t.index_named(name) is not None)
            for t in self.adding
        )
