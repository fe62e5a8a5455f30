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

from sql_lsp.catalog.ddl import DdlBuilder
from sql_lsp.catalog.model import Catalog
from sql_lsp.document import Document

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
    """The catalog of `documents`, applied in the order given (callers sort by path)."""
    builder = DdlBuilder()
    for doc in documents:
        apply_document(builder, doc)
    return builder.catalog


def apply_document(builder: DdlBuilder, doc: Document) -> None:
    """Apply one document's catalog statements (each file starts with the default search_path,
    as each migration runs in its own session)."""
    builder.search_path = ["public"]
    for stmt in doc.catalog_statements:
        if stmt.parsed is not None:
            builder.apply(doc.uri, stmt.catalog_ordinal, stmt.parsed)


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()
