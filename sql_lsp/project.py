"""A set of SQL documents seen together: which files belong to a project, and their catalog.

The catalog is built from every document, in path order, statement by statement, so the rules
see the final state of the schema (an index created in a later migration counts). Both the command
line and the language server build their catalog here.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sql_lsp.catalog.ddl import DdlBuilder
from sql_lsp.catalog.model import Catalog, Origin
from sql_lsp.config import Config
from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.rules.base import Finding

if TYPE_CHECKING:  # the database layer (and its driver) is loaded only when one is configured
    from sql_lsp.live import DatabaseFacts

SKIP_DIRS = frozenset(
    {"node_modules", "venv", "env", "site-packages", "__pycache__", "dist", "build", "target"}
)
MAX_FILE_BYTES = 20_000_000  # larger files are not read for the catalog


def skip_dir(name: str) -> bool:
    """Folders never scanned: hidden ones, dependencies and virtual environments."""
    return name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info")


def sql_files(root: Path) -> Iterator[Path]:
    """Every *.sql file under `root` (or `root` itself), skipping hidden folders, node_modules
    and virtual environments, in sorted order."""
    if root.is_file():
        yield root
        return
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs if not skip_dir(d) and not (Path(folder) / d / "pyvenv.cfg").exists()
        )
        for name in files:
            if name.lower().endswith(".sql"):
                found.append(Path(folder) / name)
    yield from sorted(found)


def glob_files(root: Path, patterns: Iterable[str]) -> list[Path]:
    """Files matching `catalog.paths` globs, relative to `root` (absolute patterns allowed)."""
    out: set[Path] = set()
    for pattern in patterns:
        if os.path.isabs(pattern):
            base = Path(pattern).anchor
            rel = os.path.relpath(pattern, base)
            out.update(p for p in Path(base).glob(rel) if p.is_file())
        else:
            out.update(p for p in root.glob(pattern) if p.is_file())
    return sorted(out)


def matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def read_sql(path: Path) -> str:
    """The text of a SQL file. Undecodable bytes are replaced, never fatal. Raises OSError."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def build_catalog(documents: Iterable[Document]) -> Catalog:
    """The catalog of `documents`, applied in the order given (callers sort by path); statements
    about tables declared only in a later file are applied at the end."""
    builder = DdlBuilder()
    for doc in documents:
        apply_document(builder, doc)
    return builder.finish()


def apply_document(builder: DdlBuilder, doc: Document) -> None:
    """Apply one document's catalog statements (each file starts with the default search_path,
    as each migration runs in its own session)."""
    builder.search_path = ["public"]
    for stmt in doc.catalog_statements:
        if stmt.parsed is not None:
            builder.apply(doc.uri, stmt.catalog_ordinal, stmt.parsed)


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


class Project:
    """The documents of a workspace — files on disk and open buffers (which win) — with their
    catalog and findings. Keeps caches so that an edit costs what it changes.

    Methods that change documents return True when the catalog may have changed, so callers
    know to re-check the other open documents.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.linter = Linter(self.config)
        self.disk: dict[str, Document] = {}
        self.open: dict[str, Document] = {}
        self.facts: DatabaseFacts | None = None  # what the configured database says
        self._catalog: Catalog | None = None
        self._live_generation = -1  # the live catalog generation merged into _catalog

    # -- configuration ------------------------------------------------------------------------
    def set_config(self, config: Config) -> None:
        dialect_changed = config.dialect != self.config.dialect
        self.config = config
        self.linter = Linter(config)
        if dialect_changed:
            self.disk = {
                u: Document(u, d.text, d.version, config.dialect) for u, d in self.disk.items()
            }
            self.open = {
                u: Document(u, d.text, d.version, config.dialect) for u, d in self.open.items()
            }
            self._catalog = None

    def set_database(self, facts: DatabaseFacts | None) -> None:
        """Use what a database says; None: no database. `facts` is a live view: the catalog is
        merged again whenever its live catalog changes (its generation)."""
        self.facts = facts
        self._catalog = None

    # -- documents ----------------------------------------------------------------------------
    def document(self, uri: str) -> Document | None:
        return self.open.get(uri) or self.disk.get(uri)

    def documents(self) -> list[Document]:
        """Every document, open buffers winning over disk, in path order."""
        merged = {**self.disk, **self.open}
        return [merged[u] for u in sorted(merged)]

    def set_file(self, uri: str, text: str) -> bool:
        """A file on disk was found or changed."""
        old = self.disk.get(uri)
        if old is not None and old.text == text:
            return False
        doc = Document(uri, text, dialect=self.config.dialect)
        self.disk[uri] = doc
        return uri not in self.open and self._ddl_changed(old, doc)

    def remove_file(self, uri: str) -> bool:
        old = self.disk.pop(uri, None)
        return old is not None and uri not in self.open and self._ddl_changed(old, None)

    def open_document(self, uri: str, text: str, version: int | None) -> bool:
        before = self.document(uri)
        doc = Document(uri, text, version, self.config.dialect)
        self.open[uri] = doc
        return self._ddl_changed(before, doc)

    def edit_document(
        self, uri: str, edits: list[tuple[int, int, str]], version: int | None
    ) -> bool:
        """Apply edits (offsets into the text as each previous edit left it)."""
        doc = self.open.get(uri)
        if doc is None:
            return False
        before = doc.catalog_statements
        texts = [s.text for s in before]
        for start, end, text in edits:
            doc = doc.edit(start, end, text, version)
        self.open[uri] = doc
        after = doc.catalog_statements
        if after is before or [s.text for s in after] == texts:
            return False
        self._catalog = None
        return True

    def close_document(self, uri: str) -> bool:
        before = self.open.pop(uri, None)
        return before is not None and self._ddl_changed(before, self.disk.get(uri))

    def _ddl_changed(self, old: Document | None, new: Document | None) -> bool:
        a = [s.text for s in old.catalog_statements] if old is not None else []
        b = [s.text for s in new.catalog_statements] if new is not None else []
        if a != b:
            self._catalog = None
            return True
        return False

    # -- analysis -----------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        generation = self.facts.generation if self.facts is not None else -1
        if self._catalog is None or generation != self._live_generation:
            catalog = build_catalog(self.documents())
            live = self.facts.catalog if self.facts is not None else None
            if live is not None:
                catalog = catalog.merge(live)
            self._catalog = catalog
            self._live_generation = generation
        return self._catalog

    def lint(self, uri: str) -> list[Finding]:
        doc = self.document(uri)
        if doc is None:
            return []
        catalog = self.catalog
        return self.linter.lint(doc, catalog, self.facts)

    def locate(self, origin: Origin) -> tuple[Document, int, int] | None:
        """The document and absolute span of a catalog object's declaration."""
        doc = self.document(origin.doc)
        if doc is None:
            return None
        stmts = doc.catalog_statements
        if not 0 <= origin.stmt < len(stmts):
            return None
        base = stmts[origin.stmt].start
        return doc, base + origin.start, base + origin.end
