"""Every place a name is used: references, highlights and rename.

A target is what the cursor names: a table, a column of a table, an index (all three across the
workspace's documents), or a CTE or a table alias (within one statement). Its occurrences are the
identifiers that resolve to it, with PostgreSQL's folding (`Users` is `users`, `"Users"` is not),
the alias-aware column resolution of `navigation`, and CTE names shadowing tables. The
statements inside dollar-quoted `LANGUAGE sql` / `plpgsql` bodies (`bodies.py`) are searched
at their exact offsets in the file; in a PL/pgSQL body an unqualified name that is also a
variable or parameter is left out (PostgreSQL would call it ambiguous). Commands the parser
reads as text are not searched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from sqlglot import exp

from sql_lsp import bodies, plpgsql
from sql_lsp.catalog.model import Catalog, Table, fold, quote_ident
from sql_lsp.document import Document, Statement
from sql_lsp.migrations import is_migration_name, new_migration, newest_migration
from sql_lsp.navigation import (
    _column_table,
    _index_context,
    _owner_table,
    _sources,
    _table,
    search_path_at,
)
from sql_lsp.rules.base import Edit


@dataclass(frozen=True)
class Target:
    """What a cursor names. `key` identifies it: (schema, table) for a table, (schema, table,
    column) for a column, (schema, index) for an index, (uri, statement start, name) for a CTE,
    and (uri, statement start, alias start) for an alias."""

    kind: str  # "table", "column", "index", "cte", "alias"
    name: str
    start: int
    end: int
    key: tuple

    @property
    def local(self) -> bool:
        """Does the name live within one statement (a CTE, an alias)?"""
        return self.kind in ("cte", "alias")


@dataclass(frozen=True)
class Occurrence:
    uri: str
    start: int
    end: int
    is_declaration: bool


class RenameError(ValueError):
    """A rename that cannot be done; the message says why."""


# -- what the cursor names -------------------------------------------------------------------


def target_at(document: Document, offset: int, catalog: Catalog) -> Target | None:
    """The table, column, index, CTE or alias named at `offset`; None on keywords, literals
    and names nothing declares."""
    outer = document.statement_at(offset)
    if outer is None or outer.kind != "sql" or outer.parsed is None:
        return None
    path = search_path_at(document, offset)
    for stmt, variables in _searched(outer):
        if not stmt.start <= offset <= stmt.end:
            continue
        tree = stmt.parsed.tree if stmt.parsed is not None else None
        if tree is None or isinstance(tree, exp.Command):
            continue
        rel = offset - stmt.start
        for ident in _identifiers(tree):
            meta = ident._meta
            if meta["start"] <= rel <= meta["end"] + 1:
                found = _classify(document.uri, stmt, ident, catalog, path, variables)
                if found is not None:
                    return found[0]
    return None


def _searched(stmt: Statement) -> Iterator[tuple[Statement, frozenset[str]]]:
    """`stmt`, then the statements of its function body (if any), each with the names an
    unqualified column cannot be told from: a PL/pgSQL body's variables and parameters."""
    yield stmt, frozenset()
    if not bodies.applies(stmt.text):
        return
    inner = list(bodies.inner_statements(stmt))
    if not inner:
        return
    body = plpgsql.body(stmt.text)
    variables = frozenset(body.variables) | body.parameters if body is not None else frozenset()
    for s in inner:
        yield s, variables


def _identifiers(tree: exp.Expression) -> Iterator[exp.Identifier]:
    for node in tree.walk():
        meta = getattr(node, "_meta", None) if isinstance(node, exp.Identifier) else None
        if meta and "start" in meta and "end" in meta:
            yield node


def _span(stmt: Statement, ident: exp.Identifier) -> tuple[int, int]:
    return stmt.start + ident._meta["start"], stmt.start + ident._meta["end"] + 1


def _cte_of(node: exp.Table) -> exp.CTE | None:
    """The CTE a table reference names, when a WITH in scope declares its name."""
    if node.args.get("db") is not None or not isinstance(node.this, exp.Identifier):
        return None
    name = fold(node.this)
    cur: exp.Expression | None = node
    while cur is not None:
        with_ = cur.args.get("with_") if isinstance(cur, exp.Expression) else None
        if isinstance(with_, exp.With):
            for cte in with_.expressions:
                if fold(cte.alias) == name and not _inside(node, cte, with_):
                    return cte
        cur = cur.parent
    return None


def _inside(node: exp.Expression, cte: exp.CTE, with_: exp.With) -> bool:
    """Is `node` within `cte` itself, or a CTE declared before it (where the name is not yet
    visible, unless WITH RECURSIVE)?"""
    if with_.args.get("recursive"):
        return False
    ctes = list(with_.expressions)
    for c in ctes[: ctes.index(cte) + 1]:
        parent = node.parent
        while parent is not None:
            if parent is c:
                return True
            parent = parent.parent
    return False


def _cte_key(stmt: Statement, cte: exp.CTE) -> int:
    """Where a CTE's name is declared, which tells apart two CTEs of one name."""
    alias = cte.args.get("alias")
    ident = alias.this if isinstance(alias, exp.TableAlias) else None
    meta = getattr(ident, "_meta", None) or {}
    return stmt.start + meta.get("start", -1)


def _source_for(column: exp.Column, qualifier: str) -> exp.Table | None:
    for src in _sources(column):
        if fold(src.alias_or_name) == qualifier:
            return src
    return None


def _classify(
    uri: str,
    stmt: Statement,
    ident: exp.Identifier,
    catalog: Catalog,
    path: tuple[str, ...],
    variables: frozenset[str] = frozenset(),
) -> tuple[Target, bool] | None:
    """What `ident` names, and whether it declares it. `variables` are names an unqualified
    column is not resolved for (a PL/pgSQL body's variables and parameters)."""
    start, end = _span(stmt, ident)
    name = fold(ident)
    parent = ident.parent
    local = (uri, stmt.start)

    # CTE and alias declarations
    if isinstance(parent, exp.TableAlias) and parent.this is ident:
        owner = parent.parent
        if isinstance(owner, exp.CTE):
            return Target("cte", name, start, end, (*local, _cte_key(stmt, owner))), True
        if isinstance(owner, exp.Table | exp.Subquery):
            return Target("alias", name, start, end, (*local, start)), True
        return None

    if isinstance(parent, exp.Table) and parent.this is ident:
        cte = _cte_of(parent)
        if cte is not None:
            return Target("cte", name, start, end, (*local, _cte_key(stmt, cte))), False
        if _index_context(parent):
            index = catalog.index(name, fold(parent.args.get("db")) or None, path)
            if index is None:
                return None
            return Target("index", name, start, end, (index.schema, index.name)), False
        table = _table(catalog, parent, path)
        if table is None:
            return None
        return Target("table", name, start, end, table.key), _declares(parent)

    if isinstance(parent, exp.Index) and parent.this is ident:
        table_node = parent.args.get("table")
        table = _table(catalog, table_node, path) if isinstance(table_node, exp.Table) else None
        index = table.index_named(name) if table else None
        if index is None:
            return None
        return Target("index", name, start, end, (index.schema, index.name)), True

    if isinstance(parent, exp.Column):
        if parent.args.get("table") is ident:  # a qualifier: an alias, a CTE or a table
            src = _source_for(parent, name)
            if src is None:
                return None
            alias = src.args.get("alias")
            if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier):
                a_start, _ = _span(stmt, alias.this)
                return Target("alias", name, start, end, (*local, a_start)), False
            cte = _cte_of(src)
            if cte is not None:
                return Target("cte", name, start, end, (*local, _cte_key(stmt, cte))), False
            table = _table(catalog, src, path)
            return (Target("table", name, start, end, table.key), False) if table else None
        if parent.this is not ident:
            return None
        if name in variables and parent.args.get("table") is None and not _set_target(parent):
            return None
        table = _column_table(catalog, parent, path)
        if table is None or name not in table.columns or _cte_shadowed(parent):
            return None
        return Target("column", name, start, end, (*table.key, name)), False

    if isinstance(parent, exp.ColumnDef | exp.Schema | exp.PrimaryKey | exp.ForeignKey):
        table = _list_owner(parent, catalog, path)
        if table is None or name not in table.columns:
            return None
        declares = isinstance(parent, exp.ColumnDef) and _declares_column(parent)
        return Target("column", name, start, end, (*table.key, name)), declares
    return None


def _set_target(column: exp.Column) -> bool:
    """Is this the column an UPDATE's `SET col = …` assigns (always a column, never a
    variable)?"""
    eq = column.parent
    return isinstance(eq, exp.EQ) and eq.this is column and isinstance(eq.parent, exp.Update)


def _cte_shadowed(column: exp.Column) -> bool:
    """Does an unqualified or qualified column's source name a CTE (not the catalog table)?"""
    qualifier = column.args.get("table")
    if qualifier is not None:
        src = _source_for(column, fold(qualifier))
        return src is not None and _cte_of(src) is not None
    scope = column.find_ancestor(exp.Select, exp.Update, exp.Delete, exp.Insert)
    nearest = [s for s in _sources(column) if s.find_ancestor(type(scope)) is scope]
    return any(_cte_of(s) is not None for s in nearest)


def _list_owner(node: exp.Expression, catalog: Catalog, path: tuple[str, ...]) -> Table | None:
    if isinstance(node, exp.Schema) and isinstance(node.parent, exp.Insert):
        target = node.this
        return _table(catalog, target, path) if isinstance(target, exp.Table) else None
    return _owner_table(node, catalog, path)


def _declares(table_node: exp.Table) -> bool:
    """Is this the name in CREATE TABLE / CREATE VIEW?"""
    parent = table_node.parent
    if isinstance(parent, exp.Schema) and parent.this is table_node:
        parent = parent.parent
    return isinstance(parent, exp.Create) and (parent.args.get("kind") or "").upper() in (
        "TABLE",
        "VIEW",
    )


def _declares_column(column_def: exp.ColumnDef) -> bool:
    """A column definition in CREATE TABLE or ALTER TABLE … ADD COLUMN (not a type's)."""
    return column_def.find_ancestor(exp.Create, exp.Alter) is not None


# -- where it is used ------------------------------------------------------------------------


def references(
    target: Target, document: Document, documents: Iterable[Document], catalog: Catalog
) -> list[Occurrence]:
    """Every occurrence of `target`: in `document`'s statement for a CTE or an alias, else in
    all `documents`. Sorted by document, then position."""
    if target.local:
        outer = document.statement_at(target.start)
        found = []
        for stmt, variables in _searched(outer) if outer is not None else ():
            if stmt.start == target.key[1]:
                found = list(_in_statement(document, stmt, target, catalog, variables))
                break
    else:
        found = []
        needle = target.name.lower()
        for doc in documents:
            if needle not in doc.text.lower():
                continue
            for outer in doc.statements:
                if outer.kind == "sql" and needle in outer.text.lower():
                    for stmt, variables in _searched(outer):
                        found.extend(_in_statement(doc, stmt, target, catalog, variables))
    unique = {(o.uri, o.start, o.end): o for o in found}
    return sorted(unique.values(), key=lambda o: (o.uri, o.start))


def _in_statement(
    doc: Document,
    stmt: Statement,
    target: Target,
    catalog: Catalog,
    variables: frozenset[str] = frozenset(),
) -> Iterator[Occurrence]:
    tree = stmt.parsed.tree if stmt.parsed is not None else None
    if tree is None or isinstance(tree, exp.Command):
        return
    path = search_path_at(doc, stmt.start)
    for ident in _identifiers(tree):
        if fold(ident) != target.name:
            continue
        found = _classify(doc.uri, stmt, ident, catalog, path, variables)
        if found is None:
            continue
        t, declares = found
        if t.kind == target.kind and t.key == target.key:
            yield Occurrence(doc.uri, t.start, t.end, declares)


# -- rename ----------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
MAX_IDENTIFIER_BYTES = 63


def spelling(new_name: str) -> str:
    """How a new name is written. `"Order Items"` (quoted) is taken as written; a plain word
    follows PostgreSQL's folding (`Accounts` names `accounts`) and is kept as typed unless it is
    a reserved word; anything else is the name itself, quoted. Raises RenameError when PostgreSQL
    would refuse or silently change the name."""
    text = new_name.strip()
    if not text:
        raise RenameError("The new name is empty.")
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        inner = text[1:-1]
        if '"' in inner.replace('""', ""):
            raise RenameError(f"{new_name!r} is not a valid quoted identifier.")
        name = inner.replace('""', '"')
        if not name:
            raise RenameError("A quoted identifier cannot be empty.")
        _check_length(name)
        return quote_ident(name)
    if "\x00" in text:
        raise RenameError("A name cannot contain a NUL character.")
    if _PLAIN.fullmatch(text):
        folded = text.lower()
        _check_length(folded)
        return text if quote_ident(folded) == folded else quote_ident(folded)
    _check_length(text)
    return quote_ident(text)


def _check_length(name: str) -> None:
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise RenameError(
            f"{name!r} is longer than {MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would truncate it."
        )


def rename_edits(occurrences: list[Occurrence], new_name: str) -> dict[str, list[Edit]]:
    """The edits replacing every occurrence by `spelling(new_name)`, by document."""
    text = spelling(new_name)
    out: dict[str, list[Edit]] = {}
    for o in occurrences:
        out.setdefault(o.uri, []).append(Edit(o.start, o.end, text))
    return out


# -- rename in a new migration ---------------------------------------------------------------


@dataclass(frozen=True)
class MigrationRename:
    """A rename done the migration way: new migration files (uri, text) holding the
    `ALTER TABLE … RENAME`, and the edits of the uses in the files that are not migrations (old
    migrations are history: they stay as they are)."""

    files: list[tuple[str, str]]
    edits: dict[str, list[Edit]]


def migration_folder(target: Target, catalog: Catalog) -> PurePosixPath | None:
    """The folder of the migration declaring `target`'s table, when its name follows a
    versioned convention (`migrations.is_migration_name`); None for other targets, tables of the
    database or of files that are not migrations (a schema dump)."""
    if target.kind not in ("table", "column"):
        return None
    table = catalog.tables.get(target.key[:2])
    origin = table.origin if table is not None else None
    path = _path(origin.doc) if origin is not None else None
    if path is None or not is_migration_name(path.name):
        return None
    return path.parent


def _path(uri: str) -> PurePosixPath | None:
    if not uri.startswith("file:"):
        return None
    return PurePosixPath(unquote(urlparse(uri).path))


def _is_old_migration(uri: str, folder: PurePosixPath) -> bool:
    path = _path(uri)
    return path is not None and (path.parent == folder or is_migration_name(path.name))


def _qualified(schema: str, name: str) -> str:
    table = quote_ident(name)
    return table if schema == "public" else f"{quote_ident(schema)}.{table}"


def migration_rename(
    target: Target,
    document: Document,
    documents: Iterable[Document],
    catalog: Catalog,
    new_name: str,
    now: datetime,
) -> MigrationRename:
    """Rename a table or column with a new migration next to the newest one of the folder that
    declares the table (named in that folder's convention, see `migrations.new_migration`),
    and rename its uses in every document that is not a migration. Raises RenameError when
    there is no such folder, or PostgreSQL would refuse the `ALTER TABLE` (the name is taken)."""
    folder = migration_folder(target, catalog)
    if folder is None:
        raise RenameError(f"{target.name} is not declared in a migration folder.")
    written = spelling(new_name)
    new = fold_spelling(written)
    schema, table = target.key[0], target.key[1]
    if target.kind == "table":
        if new == table:
            raise RenameError(f"The table is already named {written}.")
        if (schema, new) in catalog.tables:
            raise RenameError(f"A table {_qualified(schema, new)} exists already.")
        up = f"ALTER TABLE {_qualified(schema, table)} RENAME TO {written};\n"
        down = f"ALTER TABLE {_qualified(schema, new)} RENAME TO {quote_ident(table)};\n"
        description = f"rename {table} to {new}"
    else:
        column = target.key[2]
        if new == column:
            raise RenameError(f"The column is already named {written}.")
        if new in catalog.tables[(schema, table)].columns:
            raise RenameError(f"{_qualified(schema, table)} has a column {written} already.")
        up = (
            f"ALTER TABLE {_qualified(schema, table)} RENAME COLUMN {quote_ident(column)} "
            f"TO {written};\n"
        )
        down = (
            f"ALTER TABLE {_qualified(schema, table)} RENAME COLUMN {written} "
            f"TO {quote_ident(column)};\n"
        )
        description = f"rename {table} {column} to {new}"
    docs = list(documents)
    siblings = {p.name: d for d in docs if (p := _path(d.uri)) is not None and p.parent == folder}
    newest = newest_migration(siblings)
    files = new_migration(
        list(siblings), siblings[newest].text if newest else "", description, up, down, now
    )
    if files is None:
        raise RenameError(f"No migration name follows the convention of {folder}.")
    uses = references(target, document, docs, catalog)
    edits = rename_edits([o for o in uses if not _is_old_migration(o.uri, folder)], new_name)
    return MigrationRename([((folder / name).as_uri(), text) for name, text in files], edits)


def fold_spelling(written: str) -> str:
    """The name a spelling (from `spelling`) stands for: `"Order"` is `Order`, `Accounts` is
    `accounts`."""
    if written.startswith('"'):
        return written[1:-1].replace('""', '"')
    return written.lower()
