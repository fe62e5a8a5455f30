"""Build a Catalog from DDL statements (workspace migrations and schema files).

Statements are applied in order; the result is the final state of the schema, where every object
remembers where it was declared (`Origin`). Understood: CREATE/DROP TABLE (columns, types,
NOT NULL, PRIMARY KEY, UNIQUE, REFERENCES, table-level FOREIGN KEY, LIKE, PARTITION OF, AS
SELECT), CREATE [UNIQUE] INDEX (every form), CREATE VIEW / MATERIALIZED VIEW, ALTER TABLE (ADD /
DROP / RENAME COLUMN, ADD / DROP CONSTRAINT, RENAME TO, SET SCHEMA, several actions at once),
ALTER INDEX … RENAME, DROP INDEX, CREATE SCHEMA / TYPE, SET search_path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import (
    DEFAULT_SEARCH_PATH,
    Catalog,
    Column,
    ForeignKey,
    Index,
    IndexKey,
    Origin,
    Table,
    default_index_name,
    fold,
    normalize_expression,
)
from sql_lsp.statements import Locator, Parsed, is_catalog_statement, parse

_SEARCH_PATH = re.compile(
    r"\s*set\s+(?:session\s+|local\s+)?search_path\s*(?:to|=)\s*(?P<v>.+?)\s*$", re.I | re.S
)
_SET_CONFIG = re.compile(
    r"\s*select\s+(?:pg_catalog\.)?set_config\s*\(\s*'search_path'\s*,\s*'(?P<v>[^']*)'", re.I
)


def search_path_of(text: str) -> list[str] | None:
    """The search_path a `SET search_path …` (or `set_config('search_path', …)`) sets, else None."""
    head = text[:1]
    if head not in ("s", "S") and not head.isspace():
        return None
    m = _SEARCH_PATH.match(text) or _SET_CONFIG.match(text)
    return _parse_search_path(m.group("v")) if m else None


@dataclass
class Place:
    """Where a statement is: document key, ordinal among catalog statements, and a parse."""

    doc: str
    ordinal: int
    parsed: Parsed
    locator: Locator | None = None
    shift: int = 0  # added to spans (sub-parses of ALTER TABLE actions)
    synthetic: Parsed | None = None

    def loc(self) -> Locator:
        target = self.synthetic or self.parsed
        if self.locator is None or self.locator.parsed is not target:
            locator = target.memo.get("ddl.locator")
            if not isinstance(locator, Locator):
                locator = target.memo["ddl.locator"] = Locator(target)
            self.locator = locator
        return self.locator

    def memoized(self, kind: str, node: exp.Expression, make: Callable[[Any], Any]) -> Any:
        """`make(node)`, computed once per parse: a catalog rebuild applies every unchanged DDL
        statement again, and generating SQL, normalising expressions and locating nodes were
        most of its cost. Results must be immutable."""
        memo = (self.synthetic or self.parsed).memo
        done = memo.get("ddl.memo")
        if not isinstance(done, dict):
            done = memo["ddl.memo"] = {}
        key = (kind, id(node))
        entry = done.get(key)
        if entry is None or entry[0] is not node:  # the node is kept: its id stays its own
            entry = done[key] = (node, make(node))
        return entry[1]

    def origin(
        self, node: exp.Expression | None, fallback: tuple[int, int] | None = None
    ) -> Origin:
        span = self.memoized("span", node, self.loc().span) if node is not None else None
        if span is not None:
            s, e = span[0] + self.shift, span[1] + self.shift
        elif fallback is not None:
            s, e = fallback
        else:
            s, e = 0, len(self.parsed.text)
        return Origin(self.doc, self.ordinal, max(0, s), max(0, e))

    def whole(self) -> Origin:
        return Origin(self.doc, self.ordinal, 0, len(self.parsed.text))

    def render(self, node: exp.Expression) -> str:
        """`node` as PostgreSQL text (once per parse)."""
        return self.memoized("sql", node, lambda n: n.sql(dialect="postgres"))


@dataclass
class DdlBuilder:
    """Applies statements to a catalog. Use one builder per full rebuild."""

    catalog: Catalog = field(default_factory=Catalog)
    search_path: list[str] = field(default_factory=lambda: list(DEFAULT_SEARCH_PATH))
    # statements that named a table not declared yet, with the search_path they ran under
    deferred: list[tuple[str, int, Parsed, list[str]]] = field(default_factory=list)
    _retrying: bool = False
    _session: str | None = None
    touched: set[tuple[str, str]] = field(default_factory=set)  # tables changed (by key)
    # the relation names of each schema (tables, views, indexes) between statements, kept by
    # the statements that only add names (see PgDdl.taken); None: read them afresh
    relation_names: dict[str, set[str]] | None = None
    # the catalog is built again from the same statements (an editor): each statement's
    # PostgreSQL tokens are kept with its parse; a one-pass check keeps nothing more
    keep: bool = False

    # -- entry points -------------------------------------------------------------------------
    def apply_text(self, doc: str, ordinal: int, text: str, dialect: str = "postgres") -> bool:
        return self.apply(doc, ordinal, parse(text, dialect))

    def apply(self, doc: str, ordinal: int, parsed: Parsed) -> bool:
        """Apply one statement. Returns True when it is a catalog statement (even a no-op)."""
        text = parsed.text
        if not is_catalog_statement(text):
            return False
        if doc != self._session and not self._retrying:
            self._new_session(doc)
        path = search_path_of(text)
        if path is not None:
            self.search_path = path
            return True
        place = Place(doc, ordinal, parsed)
        if parsed.dialect == "postgres":
            return self._apply_postgres(place)
        self.relation_names = None
        tree = parsed.tree
        try:
            if isinstance(tree, exp.Create):
                self._create(tree, place)
            elif isinstance(tree, exp.Alter):
                self._alter(tree, place)
            elif isinstance(tree, exp.Drop):
                self._drop(tree, place)
            elif isinstance(tree, exp.Command) and tree.name.upper() == "ALTER":
                self._alter_command(place)
            else:
                return tree is not None and isinstance(tree, exp.Create | exp.Alter | exp.Drop)
        except (RecursionError, ValueError, AttributeError, TypeError, KeyError, IndexError):
            return True  # a DDL shape we do not understand: leave the catalog as it is
        self.catalog.generation += 1
        return True

    def _apply_postgres(self, place: Place) -> bool:
        """PostgreSQL's own parse tree decides what the statement does (see pg_ddl)."""
        tree = place.parsed.pg
        if tree is None:  # rejected by PostgreSQL's grammar: it changes nothing
            return place.parsed.error is None
        from sql_lsp.catalog.pg_ddl import PgDdl

        try:
            PgDdl(self, place).run(tree)
        except (RecursionError, ValueError, AttributeError, TypeError, KeyError, IndexError):
            return True  # a shape we do not understand: leave the catalog as it is
        finally:
            for key in self.touched:
                self.catalog.record(key, place.doc, place.ordinal)
            self.touched.clear()
        self.catalog.generation += 1
        return True

    def _new_session(self, doc: str) -> None:
        """Each file runs in its own session: the default search_path, no temporary tables."""
        self._session = doc
        self.search_path = list(DEFAULT_SEARCH_PATH)
        temp = [k for k in self.catalog.tables if k[0] == "pg_temp"]
        if temp:
            self.relation_names = None
        for k in temp:
            del self.catalog.tables[k]
            self.touched.add(k)

    def defer(self, place: Place) -> None:
        """Retry `place` at the end: it names a table that a later file may declare."""
        self._defer(place)

    def query_columns(self, parsed: Parsed) -> list[str] | None:
        """Output column names of the query of a CREATE VIEW / CREATE TABLE AS, if known."""
        tree = parsed.tree
        if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
            return self._query_columns(tree.expression)
        return None

    def finish(self) -> Catalog:
        """Apply once more the statements that named a table declared only later (an index
        file that sorts before the schema file): what a file declares counts whatever the order
        of the files."""
        pending, self.deferred = self.deferred, []
        self._retrying = True
        try:
            for doc, ordinal, parsed, path in pending:
                self.search_path = path
                self.apply(doc, ordinal, parsed)
        finally:
            self._retrying = False
        self._new_session("")
        return self.catalog

    def _defer(self, place: Place) -> None:
        if self._retrying:
            return
        if self.deferred and self.deferred[-1][2] is place.parsed:
            return  # several actions of one ALTER
        self.deferred.append((place.doc, place.ordinal, place.parsed, list(self.search_path)))

    # -- names --------------------------------------------------------------------------------
    @property
    def create_schema(self) -> str:
        for s in self.search_path:
            if s not in ("$user", "pg_catalog", "pg_temp"):
                return s
        return "public"

    def _name(self, table: exp.Table) -> tuple[str | None, str]:
        schema = fold(table.args.get("db")) if table.args.get("db") else None
        return schema, fold(table.this)

    def _find(self, table: exp.Table) -> Table | None:
        schema, name = self._name(table)
        return self.catalog.table(name, schema, self.search_path)

    # -- CREATE -------------------------------------------------------------------------------
    def _create(self, tree: exp.Create, place: Place) -> None:
        kind = (tree.args.get("kind") or "").upper()
        target = tree.this
        if kind == "INDEX" and isinstance(target, exp.Index):
            self._create_index(tree, target, place)
        elif kind == "TABLE":
            self._create_table(tree, place)
        elif kind == "VIEW":
            self._create_view(tree, place)
        elif kind == "SCHEMA" and isinstance(target, exp.Table):
            name = fold(target.args.get("db") or target.this)
            if name:
                self.catalog.schemas.add(name)
        elif kind == "TYPE" and isinstance(target, exp.Table):
            schema, name = self._name(target)
            self.catalog.types[(schema or self.create_schema, name)] = place.origin(target.this)

    def _create_table(self, tree: exp.Create, place: Place) -> None:
        schema_node = tree.this
        table_node = schema_node.this if isinstance(schema_node, exp.Schema) else schema_node
        if not isinstance(table_node, exp.Table):
            return
        schema, name = self._name(table_node)
        schema = schema or self.create_schema
        if tree.args.get("exists") and (schema, name) in self.catalog.tables:
            return
        table = Table(schema=schema, name=name, origin=place.origin(table_node.this))
        self.catalog.schemas.add(schema)
        self.catalog.tables[(schema, name)] = table
        props = tree.args.get("properties")
        if props:
            for prop in props.expressions:
                if isinstance(prop, exp.PartitionedOfProperty) and isinstance(prop.this, exp.Table):
                    parent = self._find(prop.this)
                    if parent:
                        table.columns = {
                            k: Column(c.name, c.type, c.not_null, c.default, c.origin)
                            for k, c in parent.columns.items()
                        }
        if isinstance(schema_node, exp.Schema):
            for item in schema_node.expressions:
                self._table_element(table, item, place)
        elif isinstance(tree.expression, exp.Query):
            cols = self._query_columns(tree.expression)
            if cols is None:
                table.columns_known = False
            else:
                for c in cols:
                    table.columns[c] = Column(c, origin=place.whole())
        table.touch()

    def _table_element(self, table: Table, item: exp.Expression, place: Place) -> None:
        if isinstance(item, exp.ColumnDef):
            self._column_def(table, item, place)
        elif isinstance(item, exp.LikeProperty) and isinstance(item.this, exp.Table):
            src = self._find(item.this)
            if src:
                for k, c in src.columns.items():
                    table.columns.setdefault(
                        k, Column(c.name, c.type, c.not_null, c.default, c.origin)
                    )
            else:
                table.columns_known = False
        else:
            self._table_constraint(table, item, place, None)

    def _column_def(self, table: Table, item: exp.ColumnDef, place: Place) -> None:
        name = fold(item.this)
        kind = item.args.get("kind")
        col = Column(
            name,
            type=place.render(kind).lower() if kind is not None else None,
            origin=place.origin(item.this),
        )
        table.columns[name] = col
        for cc in item.args.get("constraints") or []:
            ckind = cc.args.get("kind") if isinstance(cc, exp.ColumnConstraint) else cc
            if isinstance(ckind, exp.NotNullColumnConstraint) and not ckind.args.get("allow_null"):
                col.not_null = True
            elif isinstance(ckind, exp.PrimaryKeyColumnConstraint):
                col.not_null = True
                self._add_unique(table, (name,), True, None, place, item)
            elif isinstance(ckind, exp.UniqueColumnConstraint):
                self._add_unique(table, (name,), False, None, place, item)
            elif isinstance(ckind, exp.Reference):
                self._add_fk(table, (name,), ckind, None, place, anchor=item.this)
            elif isinstance(ckind, exp.DefaultColumnConstraint) and ckind.this is not None:
                col.default = place.render(ckind.this)
            elif isinstance(ckind, exp.GeneratedAsIdentityColumnConstraint):
                col.not_null = True
        if kind is not None and kind.this in (
            exp.DataType.Type.SERIAL,
            exp.DataType.Type.BIGSERIAL,
            exp.DataType.Type.SMALLSERIAL,
        ):
            col.not_null = True

    def _table_constraint(
        self, table: Table, item: exp.Expression, place: Place, cname: str | None
    ) -> None:
        if isinstance(item, exp.Constraint):
            name = fold(item.this) if item.this is not None else None
            for sub in item.expressions:
                self._table_constraint(table, sub, place, name)
        elif isinstance(item, exp.PrimaryKey):
            cols = tuple(fold(e) for e in item.expressions)
            for c in cols:
                if c in table.columns:
                    table.columns[c].not_null = True
            self._add_unique(table, cols, True, cname, place, item)
        elif isinstance(item, exp.UniqueColumnConstraint):
            target = item.this
            cols = (
                tuple(fold(e) for e in target.expressions) if isinstance(target, exp.Schema) else ()
            )
            if cols:
                self._add_unique(table, cols, False, cname, place, item)
        elif isinstance(item, exp.ForeignKey):
            cols = tuple(fold(e) for e in item.expressions)
            ref = item.args.get("reference")
            if isinstance(ref, exp.Reference) and cols:
                anchor = item.expressions[0] if item.expressions else None
                self._add_fk(table, cols, ref, cname, place, anchor=anchor, table_level=True)

    def _add_unique(
        self,
        table: Table,
        cols: tuple[str, ...],
        primary: bool,
        name: str | None,
        place: Place,
        node: exp.Expression,
    ) -> None:
        if primary:
            table.indexes = [i for i in table.indexes if not i.primary]
            name = name or f"{table.name}_pkey"
        else:
            name = name or default_index_name(table.name, cols, "key")
        anchor = (
            node.this
            if isinstance(node, exp.ColumnDef)
            else (node.expressions[0] if getattr(node, "expressions", None) else None)
        )
        if isinstance(node, exp.UniqueColumnConstraint) and isinstance(node.this, exp.Schema):
            anchor = node.this.expressions[0]
        index = Index(
            name=name,
            schema=table.schema,
            table=table.name,
            keys=tuple(IndexKey(expr=c, column=c) for c in cols),
            unique=True,
            primary=primary,
            constraint="primary key" if primary else "unique",
            origin=place.origin(anchor),
            seq=self.catalog.next_seq(),
        )
        table.indexes.append(index)
        table.touch()

    def _add_fk(
        self,
        table: Table,
        cols: tuple[str, ...],
        ref: exp.Reference,
        name: str | None,
        place: Place,
        anchor: exp.Expression | None,
        table_level: bool = False,
    ) -> None:
        target = ref.this
        ref_cols: tuple[str, ...] = ()
        if isinstance(target, exp.Schema):
            ref_cols = tuple(fold(e) for e in target.expressions)
            target = target.this
        if not isinstance(target, exp.Table):
            return
        ref_schema, ref_name = self._name(target)
        ref_table = self.catalog.table(ref_name, ref_schema, self.search_path)
        if ref_table is not None:
            ref_schema = ref_table.schema
            if not ref_cols:
                pk = next((i for i in ref_table.indexes if i.primary), None)
                ref_cols = tuple(c for c in pk.columns if c) if pk else ()
        ref_schema = ref_schema or self.create_schema
        span = self._fk_span(place, anchor, target, table_level)
        fk = ForeignKey(
            name=name or f"{table.name}_{'_'.join(cols)}_fkey",
            schema=table.schema,
            table=table.name,
            columns=cols,
            ref_schema=ref_schema,
            ref_table=ref_name,
            ref_columns=ref_cols,
            origin=Origin(place.doc, place.ordinal, span[0], span[1]),
        )
        table.foreign_keys.append(fk)
        table.touch()

    def _fk_span(
        self, place: Place, anchor: exp.Expression | None, target: exp.Table, table_level: bool
    ) -> tuple[int, int]:
        """From the REFERENCES (or FOREIGN) keyword to the end of the referenced column list."""
        loc = place.loc()
        toks = loc.tokens
        tspan = loc.leaf_span(target)
        if not toks or tspan is None:
            return place.origin(anchor).start, place.origin(anchor).end
        k = loc.token_index(tspan[0])
        start_k = k
        for i in range(k - 1, -1, -1):
            if toks[i].token_type == TokenType.REFERENCES:
                start_k = i
                break
        if table_level:
            for i in range(start_k - 1, -1, -1):
                if toks[i].token_type == TokenType.FOREIGN_KEY or toks[i].text.upper() == "FOREIGN":
                    start_k = i
                    break
                if (
                    toks[i].token_type in (TokenType.COMMA, TokenType.L_PAREN)
                    and toks[i].text == ","
                ):
                    break
        # end: the referenced table name, then its parenthesised column list if any
        end_k = loc.token_index(tspan[1] - 1)
        if end_k + 1 < len(toks) and toks[end_k + 1].token_type == TokenType.L_PAREN:
            depth = 0
            for i in range(end_k + 1, len(toks)):
                if toks[i].token_type == TokenType.L_PAREN:
                    depth += 1
                elif toks[i].token_type == TokenType.R_PAREN:
                    depth -= 1
                    if depth == 0:
                        end_k = i
                        break
        return toks[start_k].start + place.shift, toks[end_k].end + 1 + place.shift

    def _create_index(self, tree: exp.Create, node: exp.Index, place: Place) -> None:
        table_node = node.args.get("table")
        if not isinstance(table_node, exp.Table):
            return
        table = self._find(table_node)
        if table is None:
            self._defer(place)
            return
        params = node.args.get("params")
        keys: list[IndexKey] = []
        method = "btree"
        predicate = None
        include: tuple[str, ...] = ()
        if isinstance(params, exp.IndexParameters):
            using = params.args.get("using")
            if using is not None:
                method = fold(using) or "btree"
            for col in params.args.get("columns") or []:
                keys.append(place.memoized("index key", col, _index_key))
            include = tuple(fold(e) for e in params.args.get("include") or [])
            where = params.args.get("where")
            if isinstance(where, exp.Where) and where.this is not None:
                predicate = place.memoized("normalized", where.this, normalize_expression)
        if not keys:
            return
        ident = node.this
        if ident is not None:
            name = fold(ident)
        else:
            name = default_index_name(
                table.name, [k.column or _expr_label(k.expr) for k in keys], "idx"
            )
            taken = {i.name for i in table.indexes}
            base, n = name, 1
            while name in taken:
                name = f"{base}{n}"
                n += 1
        if tree.args.get("exists") and table.index_named(name) is not None:
            return
        table.indexes = [i for i in table.indexes if i.name != name]
        table.indexes.append(
            Index(
                name=name,
                schema=table.schema,
                table=table.name,
                keys=tuple(keys),
                unique=bool(tree.args.get("unique")),
                method=method,
                predicate=predicate,
                include=include,
                origin=place.whole(),
                seq=self.catalog.next_seq(),
            )
        )
        table.touch()

    def _create_view(self, tree: exp.Create, place: Place) -> None:
        target = tree.this
        table_node = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(table_node, exp.Table):
            return
        schema, name = self._name(table_node)
        schema = schema or self.create_schema
        props = tree.args.get("properties")
        materialized = bool(
            props and any(isinstance(p, exp.MaterializedProperty) for p in props.expressions)
        )
        view = Table(
            schema=schema,
            name=name,
            kind="materialized view" if materialized else "view",
            origin=place.origin(table_node.this),
        )
        if isinstance(target, exp.Schema) and target.expressions:
            for e in target.expressions:
                c = fold(e.this if isinstance(e, exp.ColumnDef) else e)
                view.columns[c] = Column(c, origin=place.origin(e))
        else:
            cols = (
                self._query_columns(tree.expression)
                if isinstance(tree.expression, exp.Query)
                else None
            )
            if cols is None:
                view.columns_known = False
            else:
                for c in cols:
                    view.columns[c] = Column(c, origin=place.whole())
        old = self.catalog.tables.get((schema, name))
        if old is not None and old.kind != "table":
            view.indexes = old.indexes if materialized else []
        self.catalog.tables[(schema, name)] = view

    def _query_columns(self, query: exp.Query) -> list[str] | None:
        """Output column names of a query over known tables, or None when they cannot be told."""
        return output_columns(query, self.catalog, self.search_path)

    # -- ALTER --------------------------------------------------------------------------------
    def _alter(self, tree: exp.Alter, place: Place) -> None:
        kind = (tree.args.get("kind") or "").upper()
        target = tree.this
        if not isinstance(target, exp.Table):
            return
        if kind == "INDEX":
            for action in tree.args.get("actions") or []:
                if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
                    schema, name = self._name(target)
                    index = self.catalog.index(name, schema, self.search_path)
                    if index is not None:
                        index.name = fold(action.this.this)
                        t = self.catalog.tables.get((index.schema, index.table))
                        if t:
                            t.touch()
            return
        if kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW"):
            return
        table = self._find(target)
        if table is None:
            self._defer(place)
            return
        for action in tree.args.get("actions") or []:
            table = self._alter_action(table, action, place) or table
        table.touch()

    def _alter_action(self, table: Table, action: exp.Expression, place: Place) -> Table | None:
        if isinstance(action, exp.ColumnDef):
            self._column_def(table, action, place)
        elif isinstance(action, exp.AddConstraint):
            for c in action.expressions:
                self._table_constraint(table, c, place, None)
        elif isinstance(
            action, exp.Constraint | exp.ForeignKey | exp.PrimaryKey | exp.UniqueColumnConstraint
        ):
            self._table_constraint(table, action, place, None)
        elif isinstance(action, exp.Drop):
            kind = (action.args.get("kind") or "").upper()
            names = [
                fold(t.this if isinstance(t, exp.Table | exp.Column) else t)
                for t in action.args.get("tables") or []
            ]
            if kind == "COLUMN":
                for n in names:
                    table.columns.pop(n, None)
                    table.indexes = [i for i in table.indexes if n not in i.columns]
                    table.foreign_keys = [f for f in table.foreign_keys if n not in f.columns]
            elif kind == "CONSTRAINT":
                for n in names:
                    table.indexes = [i for i in table.indexes if not (i.constraint and i.name == n)]
                    table.foreign_keys = [f for f in table.foreign_keys if f.name != n]
        elif isinstance(action, exp.RenameColumn):
            old = fold(action.this.this if isinstance(action.this, exp.Column) else action.this)
            to = action.args.get("to")
            new = fold(to.this if isinstance(to, exp.Column) else to)
            if old in table.columns:
                cols = {}
                for k, c in table.columns.items():
                    if k == old:
                        c.name = new
                        k = new
                    cols[k] = c
                table.columns = cols
            self._rename_column_refs(table, old, new)
        elif isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
            new_name = fold(action.this.this)
            old_key = table.key
            self.catalog.tables.pop(old_key, None)
            table.name = new_name
            for i in table.indexes:
                i.table = new_name
            for f in table.foreign_keys:
                f.table = new_name
            for fk in self.catalog.foreign_keys():
                if (fk.ref_schema, fk.ref_table) == old_key:
                    fk.ref_table = new_name
            self.catalog.tables[table.key] = table
        elif isinstance(action, exp.AlterColumn):
            name = fold(action.this)
            col = table.columns.get(name)
            if col is not None:
                dtype = action.args.get("dtype")
                if dtype is not None:
                    col.type = dtype.sql(dialect="postgres").lower()
                allow = action.args.get("allow_null")
                if allow is not None:
                    col.not_null = not allow
        return table

    def _rename_column_refs(self, table: Table, old: str, new: str) -> None:
        for i, index in enumerate(table.indexes):
            if old in index.columns:
                keys = tuple(
                    IndexKey(new, new, k.desc, k.opclass, k.collation) if k.column == old else k
                    for k in index.keys
                )
                table.indexes[i].keys = keys
        for fk in table.foreign_keys:
            fk.columns = tuple(new if c == old else c for c in fk.columns)
        for fk in self.catalog.foreign_keys():
            if (fk.ref_schema, fk.ref_table) == table.key:
                fk.ref_columns = tuple(new if c == old else c for c in fk.ref_columns)

    def _alter_command(self, place: Place) -> None:
        """ALTER TABLE that sqlglot could not read as a whole: apply each action on its own."""
        text = place.parsed.source
        for head, table_text, actions in _split_alter(text, place.parsed):
            for a_start, a_end in actions:
                action_text = text[a_start:a_end]
                if re.match(
                    r"\s*(validate|owner|set|reset|enable|disable|cluster|inherit|no\s)",
                    action_text,
                    re.I,
                ):
                    continue
                prefix = f"ALTER TABLE {table_text} "
                sub = parse(prefix + action_text, place.parsed.dialect)
                if not isinstance(sub.tree, exp.Alter):
                    continue
                sub_place = Place(
                    place.doc,
                    place.ordinal,
                    place.parsed,
                    shift=a_start - len(prefix),
                    synthetic=sub,
                )
                self._alter(sub.tree, sub_place)
            del head

    # -- DROP ---------------------------------------------------------------------------------
    def _drop(self, tree: exp.Drop, place: Place) -> None:
        kind = (tree.args.get("kind") or "").upper()
        for t in tree.args.get("tables") or []:
            if not isinstance(t, exp.Table):
                continue
            schema, name = self._name(t)
            if kind in ("TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"):
                table = self.catalog.table(name, schema, self.search_path)
                if table is None:
                    continue
                del self.catalog.tables[table.key]
                for other in self.catalog.tables.values():
                    before = len(other.foreign_keys)
                    other.foreign_keys = [
                        f for f in other.foreign_keys if (f.ref_schema, f.ref_table) != table.key
                    ]
                    if len(other.foreign_keys) != before:
                        other.touch()
            elif kind == "INDEX":
                index = self.catalog.index(name, schema, self.search_path)
                if index is None:
                    continue
                owner = self.catalog.tables.get((index.schema, index.table))
                if owner is not None:
                    owner.indexes = [i for i in owner.indexes if i is not index]
                    owner.touch()
            elif kind == "SCHEMA":
                self.catalog.schemas.discard(name or (schema or ""))
            elif kind == "TYPE":
                self.catalog.types.pop((schema or self.create_schema, name), None)
        del place


def _split_alter(text: str, parsed: Parsed) -> Iterator[tuple[str, str, list[tuple[int, int]]]]:
    """`ALTER TABLE [IF EXISTS] [ONLY] name [*] action, action, …` -> (head, table text, spans)."""
    toks = parsed.tokens
    if len(toks) < 3 or toks[1].token_type != TokenType.TABLE:
        return
    k = 2
    words = [t.text.upper() for t in toks]
    if k + 1 < len(toks) and words[k] == "IF" and words[k + 1] == "EXISTS":
        k += 2
    if k < len(toks) and words[k] == "ONLY":
        k += 1
    name_start = toks[k].start
    while k + 2 < len(toks) and toks[k + 1].token_type == TokenType.DOT:
        k += 2
    name_end = toks[k].end + 1
    k += 1
    if k < len(toks) and toks[k].token_type == TokenType.STAR:
        k += 1
    if k >= len(toks):
        return
    spans: list[tuple[int, int]] = []
    depth = 0
    a_start = toks[k].start
    for t in toks[k:]:
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        elif t.token_type == TokenType.COMMA and depth == 0:
            spans.append((a_start, t.start))
            a_start = -1
            continue
        if a_start < 0:
            a_start = t.start
    if a_start >= 0:
        spans.append((a_start, toks[-1].end + 1))
    yield text[: toks[k].start], text[name_start:name_end], spans


def _index_key(col: exp.Expression) -> IndexKey:
    desc = False
    node = col
    if isinstance(col, exp.Ordered):
        desc = bool(col.args.get("desc"))
        node = col.this
    opclass = None
    collation = None
    if isinstance(node, exp.Opclass):
        opclass = fold(node.expression) if node.expression is not None else None
        node = node.this
    if isinstance(node, exp.Collate):
        collation = node.expression.sql(dialect="postgres") if node.expression is not None else None
        node = node.this
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column) and not node.table:
        name = fold(node.this)
        return IndexKey(expr=name, column=name, desc=desc, opclass=opclass, collation=collation)
    return IndexKey(
        expr=normalize_expression(node), desc=desc, opclass=opclass, collation=collation
    )


def _expr_label(expr: str) -> str:
    """PostgreSQL names an expression key after its function (lower(email) -> lower)."""
    m = re.match(r"\s*\(*\s*([A-Za-z_]\w*)\s*\(", expr)
    return m.group(1).lower() if m else "expr"


def _parse_search_path(value: str) -> list[str]:
    out: list[str] = []
    value = value.strip().rstrip(";")
    if value.lower() == "default":
        return list(DEFAULT_SEARCH_PATH)
    for part in re.split(r"\s*,\s*", value):
        p = part.strip()
        if not p:
            continue
        if p.startswith("'") and p.endswith("'"):
            inner = p[1:-1]
            out.extend(_parse_search_path(inner) if "," in inner else [inner.strip().lower()])
            continue
        if p.startswith('"') and p.endswith('"'):
            out.append(p[1:-1].replace('""', '"'))
        else:
            out.append(p.lower())
    # an empty value (`set_config('search_path', '', false)`, as pg_dump writes) is an empty
    # path: unqualified names then resolve to nothing
    return [s for s in out if s not in ("pg_catalog", "")]


def output_columns(
    query: exp.Expression, catalog: Catalog, search_path: Iterable[str] = DEFAULT_SEARCH_PATH
) -> list[str] | None:
    """The names of the columns a query returns, or None when they cannot be told for sure."""
    if isinstance(query, exp.Subquery):
        query = query.this
    if isinstance(query, exp.SetOperation):
        return output_columns(query.this, catalog, search_path)
    if not isinstance(query, exp.Select):
        return None
    ctes = {}
    with_ = query.args.get("with_") or query.args.get("with")
    if with_ is not None:
        for cte in with_.expressions:
            ctes[fold(cte.alias_or_name)] = cte
    names: list[str] = []
    for proj in query.expressions:
        if isinstance(proj, exp.Star) or (
            isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)
        ):
            qualifier = fold(proj.args.get("table")) if isinstance(proj, exp.Column) else None
            cols = _star_columns(query, qualifier, catalog, search_path, ctes)
            if cols is None:
                return None
            names.extend(c for _, c in cols)
            continue
        name = proj.alias_or_name if isinstance(proj, exp.Alias | exp.Column) else None
        if not name:
            return None
        names.append(
            fold(proj.args.get("alias")) if isinstance(proj, exp.Alias) else fold(proj.this)
        )
    return names


def _star_columns(
    select: exp.Select,
    qualifier: str | None,
    catalog: Catalog,
    search_path: Iterable[str],
    ctes: dict,
) -> list[tuple[str, str]] | None:
    """(source alias, column) pairs a `*` / `q.*` expands to, or None when unknown."""
    sources: list[exp.Expression] = []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is not None:
        sources.append(from_.this)
        sources.extend(from_.expressions)
    for join in select.args.get("joins") or []:
        if join.args.get("using") or join.args.get("method"):
            return None  # USING / NATURAL merge columns
        sources.append(join.this)
    out: list[tuple[str, str]] = []
    for src in sources:
        alias = fold(src.alias_or_name) if src is not None else ""
        if qualifier and alias != qualifier:
            continue
        if isinstance(src, exp.Table) and isinstance(src.this, exp.Identifier):
            if src.args.get("alias") and src.args["alias"].columns:
                return None
            name = fold(src.this)
            if not src.args.get("db") and name in ctes:
                cols = output_columns(ctes[name].this, catalog, search_path)
            else:
                schema = fold(src.args.get("db")) if src.args.get("db") else None
                table = catalog.table(name, schema, search_path)
                cols = list(table.columns) if table is not None and table.columns_known else None
        elif isinstance(src, exp.Subquery):
            if src.args.get("alias") and src.args["alias"].columns:
                cols = [fold(c) for c in src.args["alias"].columns]
            else:
                cols = output_columns(src.this, catalog, search_path)
        else:
            return None
        if cols is None:
            return None
        out.extend((alias, c) for c in cols)
    return out if (out or not qualifier) else None
