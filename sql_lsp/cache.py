"""The persistent cache of `sql-lsp check`: an unchanged file is not linted again.

A check of files that did not change reads their findings back instead of splitting, parsing and
linting them again (as ruff's cache does). The cache lives in `.sql-lsp-cache/` in the project
root (the folder of the settings file, or the current folder), or in `--cache-dir DIR` /
`SQL_LSP_CACHE_DIR`; `--no-cache` turns it off. The folder holds its own `.gitignore` (`*`) and
a `CACHEDIR.TAG`, so neither git nor backup tools pick it up.

**What a file's findings depend on, and so what keys them:**

- the file's text (a BLAKE2 hash of its bytes as decoded);
- the settings that change findings (`Config.key`, the catalog settings, `--unsafe-fixes`);
- the code: the version and a fingerprint of the package's files (name, size, modification
  time) and of the parsers' installs, computed once per run, so that a changed rule, a new
  release or another sqlglot invalidates everything. Each fingerprint has a folder of its own;
  the folders of other fingerprints are removed;
- the catalog: rules read the schema built from the DDL of every file of the project, in
  migration order. Each entry also records the file's *DDL fingerprint*, a hash of its applied
  catalog statements (their ordinals and texts: what `project.apply_document` feeds the
  catalog). The catalog *generation* is a hash of the catalog files, in order, with their DDL
  fingerprints. Findings are stored with the generation they were computed under and reused
  only under the same one.

So a changed query costs its own file (the generation stays: no DDL changed); a changed
`CREATE TABLE` changes the generation, and every file is linted again (any of them may read
that table). Keeping per-rule dependencies finer than that would save little: a re-lint must
build the catalog, which means parsing the DDL of every file anyway.

Entries are JSON, one per (file, settings), written atomically (a temporary file renamed over
the entry). A corrupt, unreadable or unwritable cache never fails a check: one warning line on
stderr, and the check goes on without it. Entries not used for `MAX_AGE_DAYS` are pruned.

Core module: no LSP imports.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sql_lsp import __version__

try:  # hashlib's own blake2b, without the OpenSSL load that importing hashlib costs each start
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

CACHE_DIR_NAME = ".sql-lsp-cache"
ENV_CACHE_DIR = "SQL_LSP_CACHE_DIR"
MAX_AGE_DAYS = 30
PRUNE_EVERY_SECONDS = 86_400  # the age scan runs at most once a day
GITIGNORE = "# created by sql-lsp: the cache is never committed\n*\n"
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by sql-lsp.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
FINDING_FIELDS = 10  # report.Reported without its path
FORMAT = 1  # the layout of an entry; part of the code fingerprint

Warn = Callable[[str], None]


def _stderr_warning(message: str) -> None:
    print(f"sql-lsp: warning: {message}", file=sys.stderr)


def text_hash(text: str) -> str:
    """The hash that keys a file's text."""
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def ddl_fingerprint(statements: Iterable[tuple[int, str]]) -> str:
    """The hash of a file's applied catalog statements: (catalog ordinal, text) pairs."""
    h = blake2b(digest_size=16)
    for ordinal, text in statements:
        h.update(f"{ordinal}:{len(text)}:".encode())
        h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def generation(files: Sequence[tuple[str, str]]) -> str:
    """The catalog generation: the catalog files in order, each with its DDL fingerprint."""
    h = blake2b(digest_size=16)
    for uri, fingerprint in files:
        h.update(f"{len(uri)}:{uri}{fingerprint}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


_code: str | None = None


def code_fingerprint() -> str:
    """The tool's version, the cache format and the (name, size, mtime) of every file of the
    package and of the parsers' top modules: changes with any rule's code. Computed once."""
    global _code
    if _code is None:
        import importlib.util

        h = blake2b(digest_size=12)
        h.update(f"{__version__}/{FORMAT}/{sys.version}".encode())
        package = Path(__file__).resolve().parent
        for folder, dirs, files in os.walk(package):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".sql", ".json", ".toml")):
                    st = os.stat(os.path.join(folder, name))
                    rel = os.path.relpath(os.path.join(folder, name), package)
                    h.update(f"{rel}:{st.st_size}:{st.st_mtime_ns};".encode())
        for module in ("sqlglot", "sqlglotc", "pglast"):
            try:
                spec = importlib.util.find_spec(module)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec is not None else None
            if origin and os.path.exists(origin):
                st = os.stat(origin)
                h.update(f"{module}:{origin}:{st.st_size}:{st.st_mtime_ns};".encode())
        _code = h.hexdigest()
    return _code


def settings_key(*parts: Any) -> str:
    """A hash of the settings that change findings (their repr: tuples, strings, numbers)."""
    return blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def default_dir(project_root: Path) -> Path:
    """`SQL_LSP_CACHE_DIR`, else `.sql-lsp-cache` in the project root."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env)
    return project_root / CACHE_DIR_NAME


RULES_FILE = "rules.json"


def read_rule_ids(root: Path) -> list[str] | None:
    """The rule ids stored for this code fingerprint (None when there are none)."""
    try:
        with open(root / code_fingerprint() / RULES_FILE, encoding="utf-8") as f:
            ids = json.load(f)
    except (OSError, ValueError):
        return None
    if isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids):
        return ids
    return None


def write_rule_ids(root: Path, ids: Sequence[str]) -> None:
    """Store the rule ids for this code fingerprint, if the cache folder exists (a check that
    stores findings creates it); never fails."""
    folder = root / code_fingerprint()
    if folder.is_dir():
        with contextlib.suppress(OSError):
            _write_atomic(folder / RULES_FILE, json.dumps(list(ids)))


@dataclass
class Entry:
    """What the cache knows of one file: its text hash, DDL fingerprint, and the findings (as
    `report.Reported` fields without the path) under one catalog generation."""

    text: str
    ddl: str
    generation: str | None = None
    findings: list[list[Any]] | None = None
    unanalysed: int = 0

    def to_json(self, path: str) -> dict[str, Any]:
        return {
            "path": path,
            "text": self.text,
            "ddl": self.ddl,
            "generation": self.generation,
            "findings": self.findings,
            "unanalysed": self.unanalysed,
        }


@dataclass
class Cache:
    """The cache folder of one run: entries read on demand, written at the end (`save`)."""

    root: Path
    settings: str
    warn: Warn = _stderr_warning
    _folder: Path | None = None
    _dirty: dict[str, tuple[str, Entry]] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)
    _writable: bool = True
    # the folder was named (--cache-dir, SQL_LSP_CACHE_DIR): failing to write it is worth a
    # warning; the default folder in a read-only checkout is silently not used
    explicit: bool = True

    @property
    def folder(self) -> Path:
        if self._folder is None:
            self._folder = self.root / code_fingerprint()
        return self._folder

    def _name(self, path: str) -> Path:
        digest = blake2b(f"{self.settings}\0{path}".encode(), digest_size=16)
        return self.folder / f"{digest.hexdigest()}.json"

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            self.warn(message)

    def get(self, path: str) -> Entry | None:
        """The entry of a file (its resolved path), or None when there is none or it cannot be
        read (a corrupt entry: one warning, and it is rewritten)."""
        name = self._name(path)
        try:
            with open(name, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data, dict) or data.get("path") != path:
                raise ValueError("not an entry of this file")
            findings = data["findings"]
            if findings is not None and not all(
                isinstance(r, list) and len(r) == FINDING_FIELDS for r in findings
            ):
                raise ValueError("malformed findings")
            return Entry(
                text=str(data["text"]),
                ddl=str(data["ddl"]),
                generation=data["generation"],
                findings=findings,
                unanalysed=int(data.get("unanalysed", 0)),
            )
        except (FileNotFoundError, NotADirectoryError):  # no entry (or no cache folder)
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            self._warn_once("read", f"cache entry {name} unreadable ({_reason(e)}); ignored")
            return None

    def touch(self, path: str) -> None:
        """Mark an entry as used (its modification time), so that pruning keeps it."""
        if not self._writable:
            return
        with contextlib.suppress(OSError):
            os.utime(self._name(path))

    def put(self, path: str, entry: Entry) -> None:
        self._dirty[path] = (path, entry)

    def save(self) -> None:
        """Write the changed entries (atomically), create the folder's marker files, and prune
        stale entries; any failure is one warning line."""
        if not self._dirty or not self._writable:
            return
        try:
            fresh = not self.root.is_dir()
            self.folder.mkdir(parents=True, exist_ok=True)
            if fresh or not (self.root / ".gitignore").exists():
                _write_atomic(self.root / ".gitignore", GITIGNORE)
                _write_atomic(self.root / "CACHEDIR.TAG", CACHEDIR_TAG)
            for path, entry in self._dirty.values():
                _write_atomic(self._name(path), json.dumps(entry.to_json(path)))
        except OSError as e:
            self._writable = False
            if self.explicit or e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                self._warn_once(
                    "write", f"cannot write the cache in {self.root} ({_reason(e)}); not cached"
                )
            return
        finally:
            self._dirty.clear()
        self.prune()

    def prune(self, now: float | None = None) -> None:
        """Remove the folders of other code fingerprints and, at most once a day, the entries
        not used (written) for MAX_AGE_DAYS."""
        now = time.time() if now is None else now
        try:
            for child in self.root.iterdir():
                if child.is_dir() and child.name != self.folder.name:
                    _remove_tree(child)
            stamp = self.folder / ".pruned"
            try:
                last = stamp.stat().st_mtime
            except FileNotFoundError:
                last = 0.0
            if now - last < PRUNE_EVERY_SECONDS:
                return
            limit = now - MAX_AGE_DAYS * 86_400
            for entry in self.folder.iterdir():
                if (
                    entry.suffix == ".json"
                    and entry.name != RULES_FILE
                    and entry.stat().st_mtime < limit
                ):
                    entry.unlink(missing_ok=True)
            stamp.touch()
        except OSError:
            pass  # pruning is best effort


_TMP = itertools.count()


def _write_atomic(path: Path, text: str) -> None:
    # a name no living process or thread shares (so what is there is a dead writer's leftover),
    # like tempfile's mkstemp without importing it at each start
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{next(_TMP)}{path.suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_tree(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            _remove_tree(child)
        else:
            child.unlink(missing_ok=True)
    folder.rmdir()


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


class CachedFinding:
    """A finding read back from the cache: what a diagnostic shows (rule, span, message,
    severity and the safety of its fix), not the fix's edits. The language server publishes
    these at once for an unchanged file, while the linter computes the real findings."""

    __slots__ = ("end", "fix_safety", "message", "rule", "severity", "start")

    def __init__(
        self, rule: str, start: int, end: int, message: str, severity: str, fix_safety: str | None
    ) -> None:
        self.rule = rule
        self.start = start
        self.end = end
        self.message = message
        self.severity = severity
        self.fix_safety = fix_safety

    def key(self) -> tuple:
        return (self.rule, self.start, self.end, self.message, self.severity, self.fix_safety)


def finding_rows(doc: Any, findings: Iterable[Any]) -> list[list[Any]]:
    """Findings of a `Document` as cache rows (`report.Reported` without its path)."""
    import dataclasses

    from sql_lsp.report import reported

    return [list(dataclasses.astuple(reported("", doc, f))[1:]) for f in findings]


def findings_from_rows(doc: Any, rows: Iterable[list[Any]]) -> list[CachedFinding] | None:
    """Cache rows placed back in `doc` (the text they were computed on); None when a row does
    not fit it (a corrupt entry)."""
    lines = doc.lines
    size = len(doc.text)
    out = []
    try:
        for rule, severity, message, line, column, end_line, end_column, _, safety, _ in rows:
            if line < 1 or end_line < 1 or column < 1 or end_column < 1:
                return None
            start = lines.line_start(line - 1) + column - 1
            end = lines.line_start(end_line - 1) + end_column - 1
            if not 0 <= start <= end <= size:
                return None
            out.append(CachedFinding(rule, start, end, message, severity, safety))
    except (TypeError, ValueError, IndexError):
        return None
    return out
