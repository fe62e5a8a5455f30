"""What is under the cursor, what the catalog knows about it, where it is declared, and the
outline of a document. Plain data and markdown; the language server turns them into LSP types.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from sqlglot import exp

from sql_lsp.catalog.ddl import search_path_of
from sql_lsp.catalog.model import (
    DEFAULT_SEARCH_PATH,
    Catalog,
    Column,
    ForeignKey,
    Index,
    Origin,
    Table,
    fold,
    qualified_name,
    quote_ident,
)
from sql_lsp.document import Document, Statement
from sql_lsp.rules import RULES_BY_ID
from sql_lsp.rules.base import Finding


@dataclass(frozen=True)
class Symbol:
    """Something named at a position: a table, a column, an index, or a rule id in a directive."""

    kind: str  # "table", "column", "index", "rule"
    name: str
    start: int
    end: int
    table: Table | None = None
    column: Column | None = None
    index: Index | None = None
    rule: str | None = None

    @property
    def origin(self) -> Origin | None:
        if self.kind == "column" and self.column is not None:
            return self.column.origin
        if self.kind == "index" and self.index is not None:
            return self.index.origin
        if self.table is not None:
            return self.table.origin
        return None


def search_path_at(document: Document, offset: int) -> tuple[str, ...]:
    path = DEFAULT_SEARCH_PATH
    for s in document.statements:
        if s.start > offset:
            break
        if s.kind == "sql":
            p = search_path_of(s.text)
            if p is not None:
                path = tuple(p)
    return path


def symbol_at(document: Document, offset: int, catalog: Catalog) -> Symbol | None:
    """The rule id, table, column or index named at `offset`, if the catalog knows it."""
    rule = _rule_at(document, offset)
    if rule is not None:
        return rule
    stmt = document.statement_at(offset)
    if stmt is None or stmt.kind != "sql" or stmt.parsed is None:
        return None
    path = search_path_at(document, offset)
    rel = offset - stmt.start
    tree = stmt.parsed.tree
    if tree is not None and not isinstance(tree, exp.Command):
        ident = _identifier_at(tree, rel)
        if ident is not None:
            return _resolve_identifier(stmt, ident, catalog, path)
    return _word_symbol(stmt, rel, catalog, path)


def _rule_at(document: Document, offset: int) -> Symbol | None:
    for d in document.directives():
        if d.rules_start <= offset <= d.end:
            for m in re.finditer(r"[A-Za-z0-9_-]+", document.text[d.rules_start : d.end]):
                s, e = d.rules_start + m.start(), d.rules_start + m.end()
                if s <= offset <= e and m.group() in RULES_BY_ID:
                    return Symbol("rule", m.group(), s, e, rule=m.group())
    return None


def _identifier_at(tree: exp.Expression, rel: int) -> exp.Identifier | None:
    for node in tree.walk():
        if isinstance(node, exp.Identifier):
            meta = node._meta if hasattr(node, "_meta") else None
            if meta and meta.get("start", -1) <= rel <= meta.get("end", -2) + 1:
                return node
    return None


def _sources(node: exp.Expression) -> list[exp.Table]:
    """Tables visible from `node`: its query's FROM / JOIN / DML target, then enclosing ones."""
    out: list[exp.Table] = []
    cur: exp.Expression | None = node
    while cur is not None:
        if isinstance(cur, exp.Select | exp.Update | exp.Delete | exp.Insert):
            if isinstance(cur, exp.Update | exp.Delete | exp.Insert):
                target = cur.this
                if isinstance(target, exp.Schema):
                    target = target.this
                if isinstance(target, exp.Table):
                    out.append(target)
            from_ = cur.args.get("from_")
            if from_ is not None:
                out.extend(t for t in [from_.this, *from_.expressions] if isinstance(t, exp.Table))
            out.extend(j.this for j in cur.args.get("joins") or [] if isinstance(j.this, exp.Table))
        cur = cur.parent
    return out


def _table(catalog: Catalog, node: exp.Table, path: tuple[str, ...]) -> Table | None:
    if not isinstance(node.this, exp.Identifier):
        return None
    schema = fold(node.args.get("db")) if node.args.get("db") else None
    return catalog.table(fold(node.this), schema, path)


def _resolve_identifier(
    stmt: Statement, ident: exp.Identifier, catalog: Catalog, path: tuple[str, ...]
) -> Symbol | None:
    meta = ident._meta
    start, end = stmt.start + meta["start"], stmt.start + meta["end"] + 1
    name = fold(ident)
    parent = ident.parent
    # a table name (FROM users, CREATE TABLE users, REFERENCES users, ON users)
    if isinstance(parent, exp.Table) and parent.this is ident:
        grand = parent.parent
        if isinstance(grand, exp.Index) and grand.this is not None and grand.this is parent:
            pass
        index = _index_context(parent)
        if index:
            found = catalog.index(name, fold(parent.args.get("db")) or None, path)
            if found is not None:
                table = catalog.tables.get((found.schema, found.table))
                return Symbol("index", name, start, end, table=table, index=found)
            return None
        table = _table(catalog, parent, path)
        return Symbol("table", name, start, end, table=table) if table else None
    if isinstance(parent, exp.Table) and parent.args.get("db") is ident:
        return None  # a schema name
    if isinstance(parent, exp.Index) and parent.this is ident:
        table_node = parent.args.get("table")
        table = _table(catalog, table_node, path) if isinstance(table_node, exp.Table) else None
        index = table.index_named(name) if table else None
        return Symbol("index", name, start, end, table=table, index=index) if index else None
    # a column, qualified or not
    if isinstance(parent, exp.Column):
        if parent.args.get("table") is ident:  # the qualifier: an alias or a table name
            for src in _sources(parent):
                if fold(src.alias_or_name) == name:
                    table = _table(catalog, src, path)
                    return Symbol("table", table.name, start, end, table=table) if table else None
            return None
        table = _column_table(catalog, parent, path)
        if table is not None and name in table.columns:
            return Symbol("column", name, start, end, table=table, column=table.columns[name])
        return None
    # a column definition or a column list (CREATE TABLE, REFERENCES t (col), PRIMARY KEY (col))
    if isinstance(parent, exp.ColumnDef | exp.Schema | exp.PrimaryKey | exp.ForeignKey):
        table = _owner_table(parent, catalog, path)
        if table is not None and name in table.columns:
            return Symbol("column", name, start, end, table=table, column=table.columns[name])
    return None


def _index_context(table_node: exp.Table) -> bool:
    """Is this exp.Table really an index name (DROP INDEX x, ALTER INDEX x)?"""
    parent = table_node.parent
    if isinstance(parent, exp.Drop):
        return (parent.args.get("kind") or "").upper() == "INDEX"
    if isinstance(parent, exp.Alter):
        return (parent.args.get("kind") or "").upper() == "INDEX"
    return False


def _column_table(catalog: Catalog, column: exp.Column, path: tuple[str, ...]) -> Table | None:
    name = fold(column.this)
    qualifier = fold(column.args.get("table")) if column.args.get("table") else None
    sources = _sources(column)
    if qualifier:
        for src in sources:
            if fold(src.alias_or_name) == qualifier:
                return _table(catalog, src, path)
        return None
    # index keys and partial predicates: the indexed table
    owner = column.find_ancestor(exp.Index)
    if owner is not None and isinstance(owner.args.get("table"), exp.Table):
        return _table(catalog, owner.args["table"], path)
    tables = [t for t in (_table(catalog, s, path) for s in sources) if t is not None]
    with_col = [t for t in tables if name in t.columns]
    if len({t.key for t in with_col}) == 1:
        return with_col[0]
    return None


def _owner_table(node: exp.Expression, catalog: Catalog, path: tuple[str, ...]) -> Table | None:
    """The table a column definition or column list belongs to."""
    ref = node.find_ancestor(exp.Reference)
    if isinstance(node, exp.Schema) and isinstance(node.parent, exp.Reference):
        ref = node.parent
    if ref is not None:
        target = ref.this.this if isinstance(ref.this, exp.Schema) else ref.this
        return _table(catalog, target, path) if isinstance(target, exp.Table) else None
    create = node.find_ancestor(exp.Create, exp.Alter)
    if create is None:
        return None
    target = create.this
    if isinstance(target, exp.Schema):
        target = target.this
    return _table(catalog, target, path) if isinstance(target, exp.Table) else None


_WORD = re.compile(r'"(?:[^"]|"")+"|[A-Za-z_][\w$]*')


def _word_symbol(
    stmt: Statement, rel: int, catalog: Catalog, path: tuple[str, ...]
) -> Symbol | None:
    """Fallback for statements read as opaque commands: match the word under the cursor."""
    for m in _WORD.finditer(stmt.text):
        if m.start() <= rel <= m.end():
            word = m.group()
            name = word[1:-1].replace('""', '"') if word.startswith('"') else word.lower()
            start, end = stmt.start + m.start(), stmt.start + m.end()
            table = catalog.table(name, None, path)
            if table is not None:
                return Symbol("table", name, start, end, table=table)
            index = catalog.index(name, None, path)
            if index is not None:
                owner = catalog.tables.get((index.schema, index.table))
                return Symbol("index", name, start, end, table=owner, index=index)
            return None
        if m.start() > rel:
            break
    return None


# -- hover text --------------------------------------------------------------------------------


def where(origin: Origin | None, locate) -> str:
    """`schema.sql:12` for an origin, using `locate(origin) -> (doc, start, end) | None`."""
    if origin is None:
        return ""
    found = locate(origin)
    if found is None:
        return ""
    doc, start, _ = found
    return f"{_short(doc.uri)}:{doc.lines.line_of(start) + 1}"


def _short(uri: str) -> str:
    parsed = urlparse(uri)
    return PurePosixPath(unquote(parsed.path)).name if parsed.scheme == "file" else uri


def hover_markdown(symbol: Symbol, catalog: Catalog, locate) -> str:
    """What the catalog knows about a symbol, as markdown."""
    if symbol.kind == "rule" and symbol.rule:
        return RULES_BY_ID[symbol.rule].markdown()
    table = symbol.table
    if table is None:
        return ""
    if symbol.kind == "column" and symbol.column is not None:
        return _column_markdown(table, symbol.column, catalog, locate)
    if symbol.kind == "index" and symbol.index is not None:
        return _index_markdown(table, symbol.index, locate)
    return table_markdown(table, catalog, locate)


def _declared(origin: Origin | None, locate, source: str = "ddl") -> str:
    place = where(origin, locate)
    if place:
        return f"declared in `{place}`"
    return "from the database" if source == "database" else ""


def table_markdown(table: Table, catalog: Catalog, locate) -> str:
    name = qualified_name(table.schema, table.name, ())
    head = f"**{table.kind}** `{name}`"
    facts = [_declared(table.origin, locate, table.source)]
    if table.est_rows is not None and table.est_rows >= 0:
        facts.append(f"~{table.est_rows:,} rows")
    lines = [head + (" — " + ", ".join(f for f in facts if f) if any(facts) else ""), ""]
    if table.columns:
        pk = next((i for i in table.indexes if i.primary), None)
        pk_cols = set(pk.columns) if pk else set()
        lines += ["| column | type | |", "|---|---|---|"]
        for c in table.columns.values():
            notes = []
            if c.name in pk_cols:
                notes.append("PK")
            if c.not_null and c.name not in pk_cols:
                notes.append("NOT NULL")
            if c.default:
                notes.append(f"default `{c.default}`")
            lines.append(f"| `{quote_ident(c.name)}` | `{c.type or '?'}` | {' '.join(notes)} |")
    elif not table.columns_known:
        lines.append("_columns not known_")
    if table.indexes:
        lines += ["", "**Indexes**", ""]
        for i in table.indexes:
            lines.append(f"- `{i.describe()}`" + _index_note(i, locate))
    fks: list[ForeignKey] = table.foreign_keys
    if fks:
        lines += ["", "**Foreign keys**", ""]
        for f in fks:
            ref = qualified_name(f.ref_schema, f.ref_table, ())
            cols = ", ".join(f.columns)
            lines.append(f"- `({cols})` → `{ref} ({', '.join(f.ref_columns)})`")
    referencing = catalog.referencing(table)
    if referencing:
        lines += ["", "**Referenced by**", ""]
        for f in referencing:
            lines.append(f"- `{qualified_name(f.schema, f.table, ())} ({', '.join(f.columns)})`")
    return "\n".join(lines).strip() + "\n"


def _index_note(index: Index, locate) -> str:
    notes = []
    place = where(index.origin, locate)
    if place:
        notes.append(place)
    elif index.source == "database":
        notes.append("database only")
    if index.scans is not None:
        notes.append(f"{index.scans:,} scans")
    if not index.valid:
        notes.append("INVALID")
    return f" — {', '.join(notes)}" if notes else ""


def _column_markdown(table: Table, column: Column, catalog: Catalog, locate) -> str:
    name = f"{qualified_name(table.schema, table.name, ())}.{quote_ident(column.name)}"
    lines = [f"**column** `{name}` `{column.type or '?'}`"]
    facts = []
    if column.not_null:
        facts.append("NOT NULL")
    if column.default:
        facts.append(f"default `{column.default}`")
    declared = _declared(column.origin, locate, table.source)
    if declared:
        facts.append(declared)
    if facts:
        lines.append(", ".join(facts))
    indexes = [i for i in table.indexes if column.name in i.columns]
    if indexes:
        lines += ["", "**Indexed by**", ""]
        for i in indexes:
            lead = " (leading)" if i.keys and i.keys[0].column == column.name else ""
            lines.append(f"- `{i.describe()}`{lead}")
    else:
        lines += ["", "_not indexed_"]
    for f in table.foreign_keys:
        if column.name in f.columns:
            ref = qualified_name(f.ref_schema, f.ref_table, ())
            lines += ["", f"References `{ref} ({', '.join(f.ref_columns)})`"]
    return "\n".join(lines).strip() + "\n"


def _index_markdown(table: Table, index: Index, locate) -> str:
    kind = "unique index" if index.unique else "index"
    lines = [f"**{kind}** `{index.describe()}`", ""]
    lines.append(f"on `{qualified_name(table.schema, table.name, ())}`")
    declared = _declared(index.origin, locate, index.source)
    if declared:
        lines.append(declared)
    if index.scans is not None:
        lines.append(f"{index.scans:,} index scans since the statistics were reset")
    if index.size_bytes is not None:
        lines.append(f"size {index.size_bytes:,} bytes")
    return "\n\n".join(line for line in lines if line).strip() + "\n"


# -- outline ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutlineItem:
    name: str
    kind: str  # "table", "view", "index", "function", "type", "schema", "query", "dml", "other"
    start: int
    end: int


def outline(document: Document) -> Iterator[OutlineItem]:
    """One item per statement: `CREATE TABLE users`, `SELECT … orders`, `\\copy`…"""
    for s in document.statements:
        if s.kind == "copydata":
            continue
        if s.kind == "psql":
            yield OutlineItem(
                s.text.split()[0] if s.text.split() else "\\", "other", s.start, s.end
            )
            continue
        yield OutlineItem(*_describe(s), s.start, s.stop)


def _describe(s: Statement) -> tuple[str, str]:
    tree = s.tree
    words = s.text.split()
    head = " ".join(words[:2]).upper() if words else "statement"
    if tree is None or isinstance(tree, exp.Command):
        m = re.match(
            r"\s*(create\s+(?:or\s+replace\s+)?(?:function|procedure|trigger|extension|type|schema|materialized\s+view))\s+(?:if\s+not\s+exists\s+)?([\w.\"]+)",
            s.text,
            re.I,
        )
        if m:
            kind = (
                "function"
                if re.search(r"function|procedure|trigger", m.group(1), re.I)
                else "other"
            )
            return f"{' '.join(m.group(1).upper().split())} {m.group(2)}", kind
        return (" ".join(words[:3]) if words else "statement"), "other"
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        target = tree.this
        if isinstance(target, exp.Schema):
            target = target.this
        if isinstance(target, exp.Index):
            name = target.this.name if target.this is not None else ""
            table = target.args.get("table")
            on = f" ON {table.sql(dialect='postgres')}" if table is not None else ""
            return f"CREATE {'UNIQUE ' if tree.args.get('unique') else ''}INDEX {name}{on}".replace(
                "  ", " "
            ), "index"
        name = target.sql(dialect="postgres") if target is not None else ""
        mapping = {
            "TABLE": "table",
            "VIEW": "view",
            "TYPE": "type",
            "SCHEMA": "schema",
            "FUNCTION": "function",
        }
        return f"CREATE {kind} {name}".strip(), mapping.get(kind, "other")
    if isinstance(tree, exp.Query):
        tables = [t.name for t in tree.find_all(exp.Table) if t.name]
        verb = "WITH" if tree.args.get("with_") else "SELECT"
        return f"{verb} … {', '.join(dict.fromkeys(tables))}".rstrip(" …"), "query"
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        target = tree.this
        if isinstance(target, exp.Schema):
            target = target.this
        verb = {
            exp.Insert: "INSERT INTO",
            exp.Update: "UPDATE",
            exp.Delete: "DELETE FROM",
            exp.Merge: "MERGE INTO",
        }[type(tree)]
        return (
            f"{verb} {target.sql(dialect='postgres') if target is not None else ''}".strip(),
            "dml",
        )
    if isinstance(tree, exp.Alter):
        return (
            f"ALTER {(tree.args.get('kind') or '').upper()} {tree.this.sql(dialect='postgres')}",
            "other",
        )
    if isinstance(tree, exp.Drop):
        names = ", ".join(t.sql(dialect="postgres") for t in tree.args.get("tables") or [])
        return f"DROP {(tree.args.get('kind') or '').upper()} {names}", "other"
    return head, "other"


# -- findings -----------------------------------------------------------------------------------


def findings_markdown(findings: list[Finding]) -> str:
    """What a hover on a diagnostic shows: each finding, its rule's summary and its fixes."""
    blocks = []
    for f in findings:
        rule = RULES_BY_ID.get(f.rule)
        lines = [f"**{f.rule}** ({f.severity}): {f.message}"]
        if rule is not None:
            lines += ["", f"{rule.summary}. [Documentation]({rule.url})"]
        if f.fixes:
            lines += [""] + [f"- Fix ({fix.safety}): {fix.title}" for fix in f.fixes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""


# -- folding and workspace symbols --------------------------------------------------------------


@dataclass(frozen=True)
class Fold:
    """Lines to fold: from `start_line` to `end_line` (0-based, inclusive)."""

    start_line: int
    end_line: int
    kind: str  # "region" (a statement or a $$ body) or "comment"


def folding_ranges(document: Document) -> list[Fold]:
    """Statements over several lines, their multi-line `$$` bodies, and runs of two or more
    `--` comment lines (or a `/* */` comment over several lines)."""
    from sql_lsp import pg

    lines = document.lines
    out: list[Fold] = []
    for s in document.statements:
        if s.kind == "copydata":
            continue
        first, last = lines.line_of(s.start), lines.line_of(max(s.start, s.stop - 1))
        if last > first:
            out.append(Fold(first, last, "region"))
        if s.kind == "sql" and "$" in s.text and last > first:
            for tok in pg.scan(s.text):
                if tok.name == "SCONST" and s.text[tok.start] == "$":
                    a = lines.line_of(s.start + tok.start)
                    b = lines.line_of(s.start + tok.end)
                    if b - 1 > a:  # the lines between the opening and closing quotes
                        out.append(Fold(a, b - 1, "region"))
    out += _comment_folds(document.text)
    return sorted(set(out), key=lambda f: (f.start_line, -f.end_line, f.kind))


def _comment_folds(text: str) -> list[Fold]:
    out = []
    run_start = -1
    block_start = -1
    lines = text.split("\n")
    for n, line in enumerate([*lines, ""]):
        stripped = line.lstrip()
        if block_start >= 0:
            if "*/" in stripped:
                if n > block_start:
                    out.append(Fold(block_start, n, "comment"))
                block_start = -1
            continue
        if stripped.startswith("--"):
            if run_start < 0:
                run_start = n
            continue
        if run_start >= 0 and n - 1 > run_start:
            out.append(Fold(run_start, n - 1, "comment"))
        run_start = -1
        if stripped.startswith("/*") and "*/" not in stripped:
            block_start = n
    return out


@dataclass(frozen=True)
class CatalogSymbol:
    name: str
    kind: str  # "table", "view", "index"
    container: str  # the schema (tables, views) or the table (indexes)
    origin: Origin


def workspace_symbols(catalog: Catalog, query: str, limit: int = 500) -> list[CatalogSymbol]:
    """Tables, views and indexes declared in the workspace whose name has the letters of
    `query` in order (case-insensitive), names starting with it first."""
    q = query.lower()

    def matches(name: str) -> bool:
        at = 0
        for ch in q:
            at = name.find(ch, at) + 1
            if at == 0:
                return False
        return True

    found: list[CatalogSymbol] = []
    for t in catalog.tables.values():
        if t.origin is not None and matches(t.name.lower()):
            kind = "view" if "view" in t.kind else "table"
            found.append(CatalogSymbol(t.name, kind, t.schema, t.origin))
        for i in t.indexes:
            if i.origin is not None and matches(i.name.lower()):
                found.append(CatalogSymbol(i.name, "index", t.name, i.origin))
    found.sort(key=lambda s: (not s.name.lower().startswith(q), s.name, s.container))
    return found[:limit]
