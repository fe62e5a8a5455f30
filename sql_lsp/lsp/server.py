"""The language server: LSP handlers that call the core and convert its results.

State lives on `SqlLanguageServer`: the Project (documents, catalog, linter), the layered
settings, one debounce task per document and what was last published.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import sys
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcInternalError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from sql_lsp import __version__, suppressions
from sql_lsp.cli import apply_edits
from sql_lsp.config import Config, ConfigError, load_config, merge
from sql_lsp.document import Document
from sql_lsp.lsp import convert
from sql_lsp.lsp.workspace import WATCH_GLOBS, apply_file_events, folder_paths, read_file, scan
from sql_lsp.navigation import hover_markdown, outline, symbol_at
from sql_lsp.project import Project, uri_of
from sql_lsp.rules import RULES_BY_ID
from sql_lsp.rules.base import Finding

log = logging.getLogger("sql_lsp")

SECTION = "sqlLsp"
CMD_REFRESH_CATALOG = "sql-lsp.refreshCatalog"
SCAN_WAIT_S = 1.0
_PENDING_WRITES: set[asyncio.Future] = set()


class SqlProtocol(LanguageServerProtocol):
    """Keeps document text out of pygls's workspace: the server keeps its own documents with a
    line index and applies incremental changes itself (pygls rebuilds the whole text and its
    line list on every change, which costs milliseconds on large files)."""

    def send_raw(self, method: str, params_json: str) -> None:
        """Send a notification whose params are already serialised (ASCII) JSON."""
        if self.writer is None:
            return
        body = f'{{"jsonrpc":"2.0","method":"{method}","params":{params_json}}}'
        header = (
            f"Content-Length: {len(body)}\r\n"
            f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
        )
        try:
            res = self.writer.write((header + body).encode("ascii"))
            if inspect.isawaitable(res):
                _PENDING_WRITES.add(task := asyncio.ensure_future(res))
                task.add_done_callback(_PENDING_WRITES.discard)
        except BrokenPipeError:
            raise
        except Exception as error:
            log.exception("error sending %s", method)
            self._server._report_server_error(error, JsonRpcInternalError)

    @lsp_method(T.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: T.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(T.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None


class SqlLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("sql-lsp", __version__, protocol_cls=SqlProtocol)
        self.project = Project()
        self.roots: list[Path] = []
        self.init_options: dict[str, Any] = {}
        self.editor_settings: dict[str, Any] = {}
        self.client_uris: dict[str, str] = {}  # project key -> the URI the client uses
        self.tasks: dict[str, asyncio.Task] = {}
        self.published: dict[str, int | None] = {}
        self.diagnostics: dict[str, convert.DiagnosticCache] = {}
        self.config_ready = asyncio.Event()
        self.scanned = asyncio.Event()  # the first workspace scan is over
        self.background: set[asyncio.Task] = set()
        self.log_file: Path | None = None

    # -- helpers ------------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        enc = (
            getattr(self.workspace, "position_encoding", None) if self._workspace_ready() else None
        )
        value = getattr(enc, "value", enc) or "utf-16"
        return str(value)

    def _workspace_ready(self) -> bool:
        try:
            return self.protocol._workspace is not None
        except AttributeError:
            return False

    def capability(self, path: str, default: Any = None) -> Any:
        try:
            return get_capability(self.client_capabilities, path, default)
        except Exception:
            return default

    def key(self, uri: str) -> str:
        """The project's key for a client URI (file URIs normalised)."""
        if uri.startswith("file:"):
            path = to_fs_path(uri)
            if path:
                key = uri_of(Path(path))
                self.client_uris.setdefault(key, uri)
                return key
        return uri

    def client_uri(self, key: str) -> str:
        return self.client_uris.get(key, key)

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def log(self, message: str, level: T.MessageType = T.MessageType.Info) -> None:
        log.log(logging.ERROR if level == T.MessageType.Error else logging.INFO, message)
        with contextlib.suppress(Exception):
            self.window_log_message(T.LogMessageParams(type=level, message=message))

    def show(self, message: str, level: T.MessageType = T.MessageType.Warning) -> None:
        log.warning(message)
        with contextlib.suppress(Exception):
            self.window_show_message(T.ShowMessageParams(type=level, message=message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        self.log(f"sql-lsp internal error: {error!r}", T.MessageType.Error)

    # -- configuration ------------------------------------------------------------------------
    def compute_config(self) -> tuple[Config, list[str]]:
        errors: list[str] = []
        config = Config()
        start = self.roots[0] if self.roots else None
        if start is not None:
            try:
                config, errs = load_config(start, known_rules=RULES_BY_ID)
                errors += errs
            except ConfigError as e:
                errors.append(f"{e}; using the defaults")
                config = Config()
        for layer in (self.init_options, self.editor_settings):
            if layer:
                config, errs = merge(config, layer, known_rules=RULES_BY_ID, where=f"{SECTION}.")
                errors += errs
        return config, errors

    async def load_settings(self) -> None:
        if self.capability("workspace.configuration", False):
            try:
                result = await asyncio.wait_for(
                    self.workspace_configuration_async(
                        T.ConfigurationParams(items=[T.ConfigurationItem(section=SECTION)])
                    ),
                    timeout=5,
                )
                value = result[0] if result else None
                self.editor_settings = value if isinstance(value, dict) else {}
            except Exception as e:  # a client that cannot answer: keep what we have
                self.log(f"workspace/configuration failed: {e!r}", T.MessageType.Warning)
        self.apply_config()

    def apply_config(self) -> None:
        config, errors = self.compute_config()
        for message in errors:
            self.show(f"sql-lsp: {message}")
        if config != self.project.config:
            self.project.set_config(config)
        self.config_ready.set()

    # -- analysis -----------------------------------------------------------------------------
    def schedule(self, key: str, delay_ms: int | None = None) -> None:
        """(Re)analyse and publish a document after the debounce delay."""
        delay = self.project.config.diagnostics.debounce_ms if delay_ms is None else delay_ms
        old = self.tasks.pop(key, None)
        if old is not None:
            old.cancel()
        if delay <= 0:
            self.publish(key)
            return
        self.tasks[key] = self.spawn(self._later(key, delay / 1000))

    async def _later(self, key: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self.tasks.pop(key, None)
        self.publish(key)

    def publish(self, key: str) -> None:
        doc = self.project.open.get(key)
        if doc is None:
            return
        try:
            findings = self.project.lint(key)
        except Exception as e:  # never let an analysis bug take the server down
            self.log(
                f"analysis of {key} failed: {e!r}\n{traceback.format_exc()}", T.MessageType.Error
            )
            findings = []
        cache = self.diagnostics.setdefault(key, convert.DiagnosticCache())
        params = cache.publish_params(self.client_uri(key), doc, findings, self.encoding)
        self.protocol.send_raw(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, params)
        self.published[key] = doc.version

    def publish_all(self, except_key: str | None = None) -> None:
        for key in list(self.project.open):
            if key != except_key:
                self.schedule(key, 0)

    def catalog_changed(self, changed: bool, source: str | None = None) -> None:
        if changed:
            self.publish_all(except_key=source)

    def findings_for(self, key: str) -> list[Finding]:
        return self.project.lint(key) if key in self.project.open else []


server = SqlLanguageServer()


def guarded(default: Any = None) -> Callable:
    """Log any exception of a handler (window/logMessage and the log file) and answer `default`."""

    def wrap(fn: Callable) -> Callable:
        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(ls: SqlLanguageServer, params: Any) -> Any:
                try:
                    return await fn(ls, params)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    ls.log(
                        f"{fn.__name__} failed: {e!r}\n{traceback.format_exc()}",
                        T.MessageType.Error,
                    )
                    return default

            return run_async

        @functools.wraps(fn)
        def run(ls: SqlLanguageServer, params: Any) -> Any:
            try:
                return fn(ls, params)
            except Exception as e:
                ls.log(
                    f"{fn.__name__} failed: {e!r}\n{traceback.format_exc()}", T.MessageType.Error
                )
                return default

        return run

    return wrap


# -- lifecycle ------------------------------------------------------------------------------------


@server.feature(T.INITIALIZE)
@guarded()
def initialize(ls: SqlLanguageServer, params: T.InitializeParams) -> None:
    ls.roots = folder_paths(params)
    options = params.initialization_options
    if isinstance(options, dict):
        ls.init_options = (
            options.get(SECTION, options) if isinstance(options.get(SECTION), dict) else options
        )
    config, _ = ls.compute_config()
    ls.project.set_config(config)


@server.feature(T.INITIALIZED)
@guarded()
async def initialized(ls: SqlLanguageServer, params: T.InitializedParams) -> None:
    await ls.load_settings()
    await _register(ls)
    ls.spawn(_scan(ls))


async def _register(ls: SqlLanguageServer) -> None:
    registrations = []
    if ls.capability("workspace.did_change_configuration.dynamic_registration", False):
        registrations.append(
            T.Registration(
                id=str(uuid.uuid4()),
                method=T.WORKSPACE_DID_CHANGE_CONFIGURATION,
                register_options=T.DidChangeConfigurationRegistrationOptions(section=SECTION),
            )
        )
    if ls.capability("workspace.did_change_watched_files.dynamic_registration", False):
        registrations.append(
            T.Registration(
                id=str(uuid.uuid4()),
                method=T.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=T.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[T.FileSystemWatcher(glob_pattern=g) for g in WATCH_GLOBS]
                ),
            )
        )
    if registrations:
        try:
            await asyncio.wait_for(
                ls.client_register_capability_async(
                    T.RegistrationParams(registrations=registrations)
                ),
                timeout=5,
            )
        except Exception as e:
            ls.log(f"client/registerCapability failed: {e!r}", T.MessageType.Warning)


async def _scan(ls: SqlLanguageServer) -> None:
    progress = bool(ls.capability("window.work_done_progress", False))
    try:
        await scan(
            ls,
            ls.project,
            ls.roots,
            ls.project.config.catalog.paths,
            progress,
            lambda changed: ls.catalog_changed(changed),
        )
    finally:
        ls.scanned.set()


@server.feature(T.SHUTDOWN)
@guarded()
async def shutdown(ls: SqlLanguageServer, params: Any) -> None:
    for task in [*ls.tasks.values(), *ls.background]:
        task.cancel()
    ls.tasks.clear()


# -- documents ----------------------------------------------------------------------------------


@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
@guarded()
def did_open(ls: SqlLanguageServer, params: T.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    key = ls.key(item.uri)
    ls.client_uris[key] = item.uri
    changed = ls.project.open_document(key, item.text, item.version)
    if ls.scanned.is_set():
        ls.schedule(key, 0)
    else:  # publish with the workspace schema when it is read, or after a second at most
        ls.tasks[key] = ls.spawn(_after_scan(ls, key))
    ls.catalog_changed(changed, key)


async def _after_scan(ls: SqlLanguageServer, key: str) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(ls.scanned.wait(), timeout=SCAN_WAIT_S)
    ls.tasks.pop(key, None)
    ls.publish(key)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
@guarded()
def did_change(ls: SqlLanguageServer, params: T.DidChangeTextDocumentParams) -> None:
    key = ls.key(params.text_document.uri)
    doc = ls.project.open.get(key)
    if doc is None:
        return
    version = params.text_document.version
    enc = ls.encoding
    changed = False
    for change in params.content_changes:
        doc = ls.project.open[key]
        if isinstance(change, T.TextDocumentContentChangePartial):
            start, end = convert.to_offsets(doc, change.range, enc)
            changed |= ls.project.edit_document(key, [(start, end, change.text)], version)
        else:
            changed |= ls.project.open_document(key, change.text, version)
    ls.schedule(key)
    ls.catalog_changed(changed, key)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
@guarded()
def did_save(ls: SqlLanguageServer, params: T.DidSaveTextDocumentParams) -> None:
    key = ls.key(params.text_document.uri)
    if params.text is not None and key in ls.project.open:
        doc = ls.project.open[key]
        if params.text != doc.text:
            ls.catalog_changed(ls.project.open_document(key, params.text, doc.version), key)
    ls.schedule(key, 0)


@server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
@guarded()
def did_close(ls: SqlLanguageServer, params: T.DidCloseTextDocumentParams) -> None:
    key = ls.key(params.text_document.uri)
    task = ls.tasks.pop(key, None)
    if task is not None:
        task.cancel()
    path = to_fs_path(params.text_document.uri)
    changed = False
    if path:
        text = read_file(Path(path))
        if text is not None:
            changed |= ls.project.set_file(key, text)
        else:
            changed |= ls.project.remove_file(key)
    changed |= ls.project.close_document(key)
    ls.protocol.send_raw(
        T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        json.dumps({"uri": params.text_document.uri, "diagnostics": []}),
    )
    ls.diagnostics.pop(key, None)
    ls.project.linter.forget(key)
    ls.published.pop(key, None)
    ls.catalog_changed(changed)


# -- configuration and files --------------------------------------------------------------------


@server.feature(T.WORKSPACE_DID_CHANGE_CONFIGURATION)
@guarded()
async def did_change_configuration(
    ls: SqlLanguageServer, params: T.DidChangeConfigurationParams
) -> None:
    settings = params.settings
    if isinstance(settings, dict) and isinstance(settings.get(SECTION), dict):
        ls.editor_settings = settings[SECTION]
        ls.apply_config()
    else:
        await ls.load_settings()
    ls.publish_all()


@server.feature(T.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@guarded()
def did_change_watched_files(ls: SqlLanguageServer, params: T.DidChangeWatchedFilesParams) -> None:
    catalog, settings = apply_file_events(ls.project, params.changes)
    if settings:
        ls.apply_config()
        ls.publish_all()
    elif catalog:
        ls.publish_all()


@server.feature(T.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
@guarded()
def did_change_folders(ls: SqlLanguageServer, params: T.DidChangeWorkspaceFoldersParams) -> None:
    removed = {to_fs_path(f.uri) for f in params.event.removed}
    ls.roots = [r for r in ls.roots if str(r) not in removed]
    ls.roots += [Path(p) for p in (to_fs_path(f.uri) for f in params.event.added) if p]
    ls.spawn(_scan(ls))


@server.command(CMD_REFRESH_CATALOG)
async def refresh_catalog(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    """Re-read the workspace files (and the database, when configured); re-publish."""
    count = await scan(
        ls, ls.project, ls.roots, ls.project.config.catalog.paths, False, lambda _changed: None
    )
    ls.project._catalog = None
    ls.publish_all()
    catalog = ls.project.catalog
    return {
        "files": count,
        "tables": len(catalog.tables),
        "indexes": sum(1 for _ in catalog.indexes()),
    }


# -- code actions -----------------------------------------------------------------------------


@server.feature(
    T.TEXT_DOCUMENT_CODE_ACTION,
    T.CodeActionOptions(
        code_action_kinds=[
            T.CodeActionKind.QuickFix,
            T.CodeActionKind.SourceFixAll,
            convert.FIX_ALL,
        ],
        resolve_provider=False,
    ),
)
@guarded(default=[])
def code_action(ls: SqlLanguageServer, params: T.CodeActionParams) -> list[T.CodeAction]:
    key = ls.key(params.text_document.uri)
    doc = ls.project.open.get(key)
    if doc is None:
        return []
    ours = [d for d in params.context.diagnostics if d.source == convert.SOURCE]
    for d in ours:
        data = d.data if isinstance(d.data, dict) else {}
        if "version" in data and data["version"] != doc.version:
            return []  # the client acts on diagnostics of another version
    enc = ls.encoding
    versioned = bool(ls.capability("workspace.workspace_edit.document_changes", False))
    only = params.context.only
    start, end = convert.to_offsets(doc, params.range, enc)
    findings = ls.findings_for(key)
    actions: list[T.CodeAction] = []
    want_quickfix = only is None or any(k in (T.CodeActionKind.QuickFix, "quickfix") for k in only)
    want_fix_all = only is None or any(
        convert.FIX_ALL.startswith(str(k)) or str(k).startswith(convert.FIX_ALL) for k in only
    )
    if want_quickfix:
        for f in findings:
            if not _intersects(f, start, end, doc):
                continue
            diags = [
                d
                for d in ours
                if d.code == f.rule and convert.to_offsets(doc, d.range, enc) == (f.start, f.end)
            ]
            diags = diags or [convert.diagnostic(doc, f, enc)]
            for fix in f.fixes:
                actions.append(
                    _client(ls, convert.fix_action(doc, f, fix, diags, enc, versioned), doc)
                )
        for f in findings:
            if not _intersects(f, start, end, doc):
                continue
            diags = [convert.diagnostic(doc, f, enc)]
            stmt = doc.statement_at(f.start)
            if stmt is not None:
                edit = suppressions.ignore_statement_edit(doc, stmt, f.rule)
                actions.append(
                    _client(
                        ls,
                        convert.edit_action(
                            doc,
                            f"Ignore {f.rule} for this statement",
                            T.CodeActionKind.QuickFix,
                            [edit],
                            diags,
                            enc,
                            versioned,
                        ),
                        doc,
                    )
                )
            edit = suppressions.ignore_file_edit(doc, f.rule)
            actions.append(
                _client(
                    ls,
                    convert.edit_action(
                        doc,
                        f"Ignore {f.rule} in this file",
                        T.CodeActionKind.QuickFix,
                        [edit],
                        diags,
                        enc,
                        versioned,
                    ),
                    doc,
                )
            )
        actions = _dedupe(actions)
    if want_fix_all:
        safe = [(f.rule, f.fix) for f in findings if f.fix is not None and f.fix.safe]
        if safe:
            _, applied = apply_edits(doc.text, safe)
            taken = _non_overlapping([fix for _, fix in safe])
            edits = [e for fix in taken for e in fix.edits]
            actions.append(
                _client(
                    ls,
                    convert.edit_action(
                        doc,
                        f"Fix all safe sql-lsp findings ({len(applied)})",
                        convert.FIX_ALL,
                        edits,
                        None,
                        enc,
                        versioned,
                    ),
                    doc,
                )
            )
    return actions


def _non_overlapping(fixes: list) -> list:
    taken_edits: list = []
    taken = []
    for fix in sorted(fixes, key=lambda fx: min(e.start for e in fx.edits)):
        if any(_overlap(e, t) for e in fix.edits for t in taken_edits):
            continue
        if any(
            e.start == t.start == t.end == e.end and e.text == t.text
            for e in fix.edits
            for t in taken_edits
        ):
            continue
        taken_edits.extend(fix.edits)
        taken.append(fix)
    return taken


def _overlap(a, b) -> bool:
    if a.start == a.end or b.start == b.end:
        return b.start < a.start < b.end or a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def _intersects(f: Finding, start: int, end: int, doc: Document) -> bool:
    if start == end:  # a cursor: anything on its line
        lines = doc.lines
        line = lines.line_of(start)
        start, end = lines.starts[line], lines.line_end(line)
    return f.start <= end and start <= f.end


def _dedupe(actions: list[T.CodeAction]) -> list[T.CodeAction]:
    seen: set[str] = set()
    out = []
    for a in actions:
        if a.title in seen:
            continue
        seen.add(a.title)
        out.append(a)
    return out


def _client(ls: SqlLanguageServer, action: T.CodeAction, doc: Document) -> T.CodeAction:
    """Point a code action's edit at the URI the client uses for the document."""
    uri = ls.client_uri(doc.uri)
    edit = action.edit
    if edit is None or uri == doc.uri:
        return action
    if edit.changes:
        edit.changes = {uri: edit.changes[doc.uri]}
    for change in edit.document_changes or []:
        if isinstance(change, T.TextDocumentEdit):
            change.text_document.uri = uri
    return action


# -- hover, definition, symbols -------------------------------------------------------------------


@server.feature(T.TEXT_DOCUMENT_HOVER)
@guarded()
async def hover(ls: SqlLanguageServer, params: T.HoverParams) -> T.Hover | None:
    key = ls.key(params.text_document.uri)
    doc = ls.project.document(key)
    if doc is None:
        return None
    enc = ls.encoding
    offset = doc.lines.offset(params.position.line, params.position.character, enc)
    catalog = ls.project.catalog
    symbol = symbol_at(doc, offset, catalog)
    if symbol is None:
        return None
    text = hover_markdown(symbol, catalog, ls.project.locate)
    if not text:
        return None
    return convert.hover(text, doc, (symbol.start, symbol.end), enc)


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
@guarded()
def definition(ls: SqlLanguageServer, params: T.DefinitionParams) -> list[T.Location] | None:
    key = ls.key(params.text_document.uri)
    doc = ls.project.document(key)
    if doc is None:
        return None
    enc = ls.encoding
    offset = doc.lines.offset(params.position.line, params.position.character, enc)
    symbol = symbol_at(doc, offset, ls.project.catalog)
    if symbol is None or symbol.origin is None:
        return None
    found = ls.project.locate(symbol.origin)
    if found is None:
        return None
    target, start, end = found
    loc = convert.location(target, start, end, enc)
    loc.uri = ls.client_uri(target.uri)
    return [loc]


@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded(default=[])
def document_symbol(
    ls: SqlLanguageServer, params: T.DocumentSymbolParams
) -> list[T.DocumentSymbol]:
    doc = ls.project.document(ls.key(params.text_document.uri))
    if doc is None:
        return []
    enc = ls.encoding
    return [convert.document_symbol(doc, item, enc) for item in outline(doc)]


# -- entry point ----------------------------------------------------------------------------------


def serve(tcp: str | None = None, log_file: str | None = None) -> int:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
            server.log_file = Path(log_file)
        except OSError as e:
            print(
                f"sql-lsp: cannot write the log file {log_file}: {e.strerror or e}", file=sys.stderr
            )
    logging.basicConfig(
        level=logging.WARNING,
        handlers=handlers,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("sql_lsp").setLevel(logging.INFO if log_file else logging.WARNING)
    if tcp:
        host, _, port = tcp.rpartition(":")
        try:
            server.start_tcp(host or "127.0.0.1", int(port))
        except ValueError:
            print(f"sql-lsp: --tcp expects HOST:PORT, got {tcp!r}", file=sys.stderr)
            return 2
    else:
        server.start_io()
    return 0
