"""Workspace files for the language server: which *.sql files feed the catalog, read in the
background with work-done progress, and kept current by file-watch notifications."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from sql_lsp.project import Project, SkippedFile, glob_files, read_sql, sql_files, uri_of

log = logging.getLogger(__name__)

WATCH_GLOBS = ("**/*.sql", "**/sql-lsp.toml", "**/pyproject.toml", "**/sqitch.plan")
REPORT_EVERY = 25


def folder_paths(params: T.InitializeParams | None) -> list[Path]:
    """The workspace folders of an initialize request, as paths (file: URIs only)."""
    if params is None:
        return []
    uris: list[str] = [f.uri for f in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    paths = []
    for uri in uris:
        path = to_fs_path(uri)
        if path:
            paths.append(Path(path))
    if not paths and params.root_path:
        paths.append(Path(params.root_path))
    return paths


def list_files(roots: Iterable[Path], globs: Iterable[str]) -> list[Path]:
    """Every *.sql file under the roots plus the `catalog.paths` globs, without duplicates."""
    found: dict[Path, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for f in sql_files(root):
            found.setdefault(f.resolve(), f)
        for f in glob_files(root, globs):
            found.setdefault(f.resolve(), f)
    return [found[k] for k in sorted(found)]


def read_file(path: Path) -> str | None:
    """The text of a workspace file; None (logged when it is skipped on purpose) when it cannot
    be read, is not a regular file or is too large."""
    try:
        return read_sql(path)
    except SkippedFile as e:
        log.warning("%s: %s; skipped", path, e)
        return None
    except OSError:
        return None


async def scan(
    ls: LanguageServer,
    project: Project,
    roots: list[Path],
    globs: Iterable[str],
    progress: bool,
    on_done: Callable[[bool], None],
) -> int:
    """Read every workspace SQL file into the project, reporting progress. Returns the count."""
    files = await asyncio.to_thread(list_files, roots, tuple(globs))
    token = None
    if progress and files:
        token = str(uuid.uuid4())
        try:
            await ls.work_done_progress.create_async(token)
            ls.work_done_progress.begin(
                token,
                T.WorkDoneProgressBegin(
                    title="sql-lsp", message=f"reading {len(files)} SQL files", percentage=0
                ),
            )
        except Exception:  # the client refused: carry on without progress
            token = None
    changed = False
    seen: set[str] = set()
    for i, path in enumerate(files):
        text = await asyncio.to_thread(read_file, path)
        uri = uri_of(path)
        seen.add(uri)
        if text is not None:
            changed |= project.set_file(uri, text)
        if token and (i + 1) % REPORT_EVERY == 0:
            ls.work_done_progress.report(
                token,
                T.WorkDoneProgressReport(
                    message=f"{i + 1}/{len(files)} {path.name}",
                    percentage=int(100 * (i + 1) / len(files)),
                ),
            )
        await asyncio.sleep(0)
    for uri in [u for u in project.disk if u not in seen]:
        changed |= project.remove_file(uri)
    if token:
        ls.work_done_progress.end(token, T.WorkDoneProgressEnd(message=f"{len(files)} files"))
    on_done(changed)
    return len(files)


def apply_file_events(project: Project, changes: Iterable[T.FileEvent]) -> tuple[bool, bool]:
    """Apply watched-file events. Returns (catalog may have changed, settings file changed)."""
    catalog_changed = False
    settings_changed = False
    for change in changes:
        path_str = to_fs_path(change.uri)
        if not path_str:
            continue
        path = Path(path_str)
        if path.name in ("sql-lsp.toml", "pyproject.toml"):
            settings_changed = True
            continue
        if path.name == "sqitch.plan":  # the order of a sqitch project's deploy scripts
            project.forget_layout()
            catalog_changed = True
            continue
        if path.suffix.lower() != ".sql":
            continue
        uri = uri_of(path)
        if change.type == T.FileChangeType.Deleted:
            catalog_changed |= project.remove_file(uri)
        else:
            text = read_file(path)
            if text is not None:
                catalog_changed |= project.set_file(uri, text)
    return catalog_changed, settings_changed
