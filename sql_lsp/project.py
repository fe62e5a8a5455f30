"""A set of SQL documents seen together: which files belong to a project, and their catalog.

The catalog is built from every document, in the order the project's migration tool applies them
(`migrations.plan_files`: natural order, tool layouts, rollback files and sections left out,
`catalog.exclude` and `catalog.order`), statement by statement, so the rules see the final state
of the schema (an index created in a later migration counts). Both the command line and the
language server build their catalog here.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from sql_lsp.config import CatalogSettings, Config
from sql_lsp.migrations import SECTION_MARKS, down_sections, plan_files

if TYPE_CHECKING:
    from sql_lsp.cache import Cache, CachedFinding
    from sql_lsp.catalog.ddl import DdlBuilder
    from sql_lsp.catalog.model import Catalog, Origin
    from sql_lsp.document import Document, Statement
    from sql_lsp.live import DatabaseFacts  # only with a database: its driver is heavy
    from sql_lsp.rules.base import Finding

# the parser, the catalog and the linter are imported where a document is made: listing,
# reading and ordering files (a check answered from the cache) does not load them

SKIP_DIRS = frozenset(
    {"node_modules", "venv", "env", "site-packages", "__pycache__", "dist", "build", "target"}
)
MAX_FILE_BYTES = 20_000_000  # larger files are neither checked nor read for the catalog
MARKER_REACH = 200  # characters around an edit looked at for a rollback section marker


class SkippedFile(Exception):
    """A file that is not read: not a regular file (a FIFO, a device, a socket) or too large."""


def skip_dir(name: str) -> bool:
    """Folders never scanned: hidden ones, dependencies and virtual environments."""
    return name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info")


def is_regular(path: Path) -> bool:
    """Whether `path` is a regular file (following symlinks), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def sql_files(root: Path) -> Iterator[Path]:
    """Every *.sql regular file under `root` (or `root` itself), skipping hidden folders,
    node_modules and virtual environments, in sorted order. FIFOs, devices and sockets named
    *.sql are left out (opening a FIFO blocks)."""
    if root.is_file():
        yield root
        return
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs if not skip_dir(d) and not (Path(folder) / d / "pyvenv.cfg").exists()
        )
        for name in files:
            if name.lower().endswith(".sql") and is_regular(Path(folder) / name):
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


def read_sql(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The text of a SQL file. Undecodable bytes are replaced, never fatal. Raises OSError, and
    SkippedFile for what is not a regular file (never opened) or is larger than `max_bytes`."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise SkippedFile("not a regular file")
    # non-blocking: should it have been swapped for a FIFO since, opening does not wait
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SkippedFile("not a regular file")
        if st.st_size > max_bytes:
            raise SkippedFile(f"larger than {max_bytes // 1_000_000} MB")
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def path_of(uri: str) -> Path | None:
    """The path of a file: URI, or None for other schemes (untitled buffers, stdin)."""
    if not uri.startswith("file:"):
        return None
    return Path(unquote(urlparse(uri).path))


def catalog_order(
    documents: Iterable[Document],
    settings: CatalogSettings | None = None,
    roots: Sequence[Path] = (),
) -> list[Document]:
    """The documents that feed the catalog, in the order the migration tool applies them (see
    `migrations.plan_files`); documents that are not files (stdin, untitled) come last."""
    by_uri = {doc.uri: doc for doc in documents}
    return [by_uri[u] for u in catalog_uris(by_uri, settings, roots)]


def catalog_uris(
    uris: Iterable[str], settings: CatalogSettings | None = None, roots: Sequence[Path] = ()
) -> list[str]:
    """`catalog_order` of documents named by their URIs (no document needed)."""
    settings = settings or CatalogSettings()
    files: dict[Path, str] = {}
    others: list[str] = []
    for uri in uris:
        path = path_of(uri)
        if path is None:
            others.append(uri)
        else:
            files[path] = uri
    plans = plan_files(list(files), roots=roots, exclude=settings.exclude, order=settings.order)
    return [files[p.path] for p in plans if p.applied] + sorted(others)


def anchors(config: Config, roots: Iterable[Path]) -> list[Path]:
    """The folders relative `catalog.*` globs are matched from: the settings file's folder and
    the project's (or workspace's) roots."""
    out = [config.source.resolve().parent] if config.source is not None else []
    out += [r.resolve() for r in roots if r.resolve() not in out]
    return out


def build_catalog(documents: Iterable[Document], *, again: bool = False) -> Catalog:
    """The catalog of `documents`, applied in the order given (`catalog_order` gives the
    project's); statements about tables declared only in a later file are applied at the end.
    `again`: it will be built again from the same statements (an editor's edits), so what
    each statement costs to read is kept with its parse (`DdlBuilder.keep`)."""
    from sql_lsp.catalog.ddl import DdlBuilder

    builder = DdlBuilder(keep=again)
    for doc in documents:
        apply_document(builder, doc)
    return builder.finish()


def apply_document(builder: DdlBuilder, doc: Document) -> None:
    """Apply one document's catalog statements (each file starts with the default search_path,
    as each migration runs in its own session)."""
    builder.search_path = ["public"]
    for stmt in applied_statements(doc):
        if stmt.parsed is not None:
            builder.apply(doc.uri, stmt.catalog_ordinal, stmt.parsed)


def applied_statements(doc: Document) -> list[Statement]:
    """A document's catalog statements except those in its rollback sections
    (`-- migrate:down`, `-- +goose Down`, `-- +migrate Down`): checked, never applied."""
    skip = down_sections(doc.text)
    if not skip:
        return doc.catalog_statements
    starts = [a for a, _ in skip]
    out = []
    for stmt in doc.catalog_statements:
        i = bisect_right(starts, stmt.start) - 1
        if i < 0 or stmt.start >= skip[i][1]:
            out.append(stmt)
    return out


def touches_section_marker(text: str, start: int, end: int, new_text: str) -> bool:
    """Whether replacing [start, end) of `text` with `new_text` may add, remove or change a
    rollback section marker: one is written, or one is near the edit (a marker sits at the start
    of its line, so an edit further into a line than `MARKER_REACH` cannot change it)."""
    window = text[max(0, start - MARKER_REACH) : end + MARKER_REACH]
    return any(m in window or m in new_text for m in SECTION_MARKS)


def _log_warning(message: str) -> None:
    import logging

    logging.getLogger("sql_lsp").warning("%s", message)


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


class Project:
    """The documents of a workspace — files on disk and open buffers (which win) — with their
    catalog and findings. Keeps caches so that an edit costs what it changes.

    Methods that change documents return True when the catalog may have changed, so callers
    know to re-check the other open documents.
    """

    def __init__(self, config: Config | None = None, *, keep_trees: bool = True) -> None:
        from sql_lsp.lint import Linter

        self.config = config or Config()
        # False (the language server): documents are parsed statement by statement when first
        # read, and the linter drops the trees of the statements it has checked (catalog
        # statements keep theirs); what reads a tree later parses that statement again
        self.keep_trees = keep_trees
        # (a large file's first check uses both cores: see `Linter.split`)
        self.linter = Linter(self.config, unload=not keep_trees, split=not keep_trees)
        self.disk: dict[str, Document] = {}
        self.open: dict[str, Document] = {}
        self.facts: DatabaseFacts | None = None  # what the configured database says
        self.roots: list[Path] = []  # workspace folders: anchor catalog.exclude / catalog.order
        self._catalog: Catalog | None = None
        self._live_generation = -1  # the live catalog generation merged into _catalog
        self._layout: tuple[tuple, list[str]] | None = None  # (inputs, catalog order of uris)
        self.cache_root: Path | None = None  # the persistent cache of findings (see use_cache)
        self._store: Cache | None = None
        self._fingerprints: dict[str, tuple[Document, str]] = {}  # uri -> DDL fingerprint

    # -- configuration ------------------------------------------------------------------------
    def set_config(self, config: Config) -> None:
        from sql_lsp.document import Document
        from sql_lsp.lint import Linter

        dialect_changed = config.dialect != self.config.dialect
        if config.catalog != self.config.catalog or config.source != self.config.source:
            self._catalog = None  # other files, or another order
        self.config = config
        self.linter = Linter(config, unload=not self.keep_trees, split=not self.keep_trees)
        if dialect_changed:
            self.disk = {
                u: Document(u, d.text, d.version, config.dialect, lazy=True)
                for u, d in self.disk.items()
            }
            self.open = {
                u: Document(u, d.text, d.version, config.dialect, lazy=not self.keep_trees)
                for u, d in self.open.items()
            }
            self._catalog = None

    def set_roots(self, roots: Iterable[Path]) -> None:
        """The workspace folders (relative `catalog.exclude` / `catalog.order` globs)."""
        resolved = [r.resolve() for r in roots]
        if resolved != self.roots:
            self.roots = resolved
            self._catalog = None

    def set_database(self, facts: DatabaseFacts | None) -> None:
        """Use what a database says; None: no database. `facts` is a live view: the catalog is
        merged again whenever its live catalog changes (its generation)."""
        self.facts = facts
        self._catalog = None

    # -- documents ----------------------------------------------------------------------------
    def document(self, uri: str) -> Document | None:
        return self.open.get(uri) or self.disk.get(uri)

    def forget_layout(self) -> None:
        """A file that decides the order changed (a sqitch.plan): plan the order again."""
        self._layout = None
        self._catalog = None

    def catalog_documents(self) -> list[Document]:
        """The documents that feed the catalog, in the migration tool's order. The order is
        planned again only when the set of files or the catalog settings change."""
        merged = {**self.disk, **self.open}
        inputs = (tuple(sorted(merged)), self.config.catalog, self.config.source, *self.roots)
        if self._layout is None or self._layout[0] != inputs:
            docs = catalog_order(
                merged.values(), self.config.catalog, anchors(self.config, self.roots)
            )
            self._layout = (inputs, [d.uri for d in docs])
        return [merged[u] for u in self._layout[1]]

    def documents(self) -> list[Document]:
        """Every document, open buffers winning over disk, in path order."""
        merged = {**self.disk, **self.open}
        return [merged[u] for u in sorted(merged)]

    def set_file(self, uri: str, text: str) -> bool:
        """A file on disk was found or changed."""
        from sql_lsp.document import Document

        old = self.disk.get(uri)
        if old is not None and old.text == text:
            return False
        # parsed when read: the catalog reads only its DDL statements
        doc = Document(uri, text, dialect=self.config.dialect, lazy=True)
        self.disk[uri] = doc
        return uri not in self.open and self._ddl_changed(old, doc)

    def remove_file(self, uri: str) -> bool:
        old = self.disk.pop(uri, None)
        return old is not None and uri not in self.open and self._ddl_changed(old, None)

    def open_document(self, uri: str, text: str, version: int | None) -> bool:
        from sql_lsp.document import Document

        before = self.document(uri)
        doc = Document(uri, text, version, self.config.dialect, lazy=not self.keep_trees)
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
        sections = False
        for start, end, text in edits:
            sections = sections or touches_section_marker(doc.text, start, end, text)
            doc = doc.edit(start, end, text, version)
        self.open[uri] = doc
        after = doc.catalog_statements
        if not sections and (after is before or [s.text for s in after] == texts):
            return False
        self._catalog = None
        return True

    def close_document(self, uri: str) -> bool:
        before = self.open.pop(uri, None)
        return before is not None and self._ddl_changed(before, self.disk.get(uri))

    def _ddl_changed(self, old: Document | None, new: Document | None) -> bool:
        a = [s.text for s in applied_statements(old)] if old is not None else []
        b = [s.text for s in applied_statements(new)] if new is not None else []
        if a != b:
            self._catalog = None
            return True
        return False

    # -- analysis -----------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        generation = self.facts.generation if self.facts is not None else -1
        if self._catalog is None or generation != self._live_generation:
            catalog = build_catalog(self.catalog_documents(), again=True)
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

    def lint_head(self, uri: str, lines: int, seconds: float) -> list[Finding] | None:
        """The findings of the first `lines` lines of a document not linted yet (see
        `Linter.lint_head`); None when `lint` is what to call."""
        doc = self.document(uri)
        if doc is None:
            return None
        return self.linter.lint_head(doc, self.catalog, self.facts, lines=lines, seconds=seconds)

    # -- the persistent cache of findings (see `sql_lsp.cache`) ----------------------------
    def use_cache(self, root: Path | None) -> None:
        """Read and write the findings of files in the cache folder `root` (None: no cache)."""
        self.cache_root = root
        self._store = None

    def _cache(self) -> Cache | None:
        if self.cache_root is None or self.facts is not None:
            return None  # with a database, findings depend on what it says
        from sql_lsp.cache import Cache, settings_key

        key = settings_key("lsp", self.config.key, self.config.catalog, self.config.dialect)
        if self._store is None or self._store.settings != key:
            self._store = Cache(self.cache_root, key, warn=_log_warning, explicit=False)
        return self._store

    def _fingerprint(self, doc: Document) -> str:
        """The DDL fingerprint of a document (its applied catalog statements), memoised."""
        from sql_lsp.cache import ddl_fingerprint

        known = self._fingerprints.get(doc.uri)
        if known is not None and known[0] is doc:
            return known[1]
        fp = ddl_fingerprint((s.catalog_ordinal, s.text) for s in applied_statements(doc))
        self._fingerprints[doc.uri] = (doc, fp)
        return fp

    def generation(self) -> str:
        """The catalog generation of the cache: the catalog documents in order, with their DDL
        fingerprints (no parsing: catalog statements are told by their text)."""
        from sql_lsp.cache import generation

        docs = self.catalog_documents()
        known = {d.uri for d in docs}
        for uri in [u for u in self._fingerprints if u not in known]:
            del self._fingerprints[uri]
        return generation([(d.uri, self._fingerprint(d)) for d in docs])

    def cached_findings(self, uri: str) -> list[CachedFinding] | None:
        """The findings stored for a file whose text and catalog generation are those of now,
        else None. What a diagnostic shows, without the fixes' edits."""
        cache = self._cache()
        path = path_of(uri)
        doc = self.document(uri)
        if cache is None or path is None or doc is None:
            return None
        from sql_lsp.cache import findings_from_rows, text_hash

        entry = cache.get(str(path))
        if entry is None or entry.findings is None or entry.text != text_hash(doc.text):
            return None
        if entry.generation != self.generation():
            return None
        cache.touch(str(path))
        return findings_from_rows(doc, entry.findings)

    def store_findings(self, uri: str, findings: Sequence[Finding]) -> None:
        """Store the findings of a file's current text (what `lint` returned for it)."""
        cache = self._cache()
        path = path_of(uri)
        doc = self.document(uri)
        if cache is None or path is None or doc is None:
            return
        from sql_lsp.cache import Entry, finding_rows, text_hash

        rows = finding_rows(doc, findings)
        entry = Entry(text_hash(doc.text), self._fingerprint(doc), self.generation(), rows)
        cache.put(str(path), entry)
        cache.save()

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
