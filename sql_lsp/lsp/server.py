"""The language server: LSP handlers that call the core and convert its results.

State lives on `SqlLanguageServer`: the Project (documents, catalog, linter), the layered
settings, one debounce task per document and what was last published.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
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
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from sql_lsp import __version__, suppressions
from sql_lsp.completion import CompletionCache, complete, documentation
from sql_lsp.config import Config, ConfigError, load_config, merge
from sql_lsp.database import Failure, Problem
from sql_lsp.document import Document
from sql_lsp.explain.render import plan_document, plan_json, plan_view
from sql_lsp.explain.whatif import WhatIf, what_if_view, with_cost
from sql_lsp.fixes import existing_relations, select_fixes
from sql_lsp.live import LiveState
from sql_lsp.lsp import convert, plans, transport
from sql_lsp.lsp.workspace import WATCH_GLOBS, apply_file_events, folder_paths, read_file, scan
from sql_lsp.navigation import (
    findings_markdown,
    folding_ranges,
    hover_markdown,
    outline,
    symbol_at,
    workspace_symbols,
)
from sql_lsp.project import Project, uri_of
from sql_lsp.redaction import RedactingFilter, Redactor
from sql_lsp.references import RenameError, Target, references, rename_edits, target_at
from sql_lsp.rules import RULES_BY_ID
from sql_lsp.rules.base import Finding, Fix

log = logging.getLogger("sql_lsp")

SECTION = "sqlLsp"
CMD_REFRESH_CATALOG = "sql-lsp.refreshCatalog"
SCAN_WAIT_S = 1.0
# completion items carry their documentation inline (clients that do not resolve it) up to this many
INLINE_DOCS_MAX = 100
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

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls drops a request whose params it cannot read, and the client waits for ever;
        answer it with the JSON-RPC error instead (-32602 invalid params)."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if "id" in data and "method" in data:
                with contextlib.suppress(Exception):
                    self._send_response(data["id"], error=error.to_response_error())
            raise

    received_initialize = False
    received_shutdown = False  # set when the request arrives (its handler finishes later)
    _exit_waits = 0

    def handle_message(self, message: Any) -> None:
        """The lifecycle of the spec: before `initialize` a request fails with
        ServerNotInitialized and a notification is dropped (but `exit`); after `shutdown` a
        request fails with InvalidRequest and a notification is dropped (but `exit`)."""
        method = getattr(message, "method", None)
        if method is None or method == T.EXIT:  # a response from the client, or exit
            if method == T.EXIT and self.received_shutdown and not self._shutdown:
                # exit right behind shutdown (all read at once): answer shutdown first
                self._exit_waits += 1
                if self._exit_waits < 100:
                    asyncio.get_running_loop().call_later(0.02, self.handle_message, message)
                    return
                self._shutdown = True
            super().handle_message(message)
            return
        request = getattr(message, "id", None) is not None
        error: JsonRpcException | None = None
        if self._shutdown or self.received_shutdown:
            error = JsonRpcInvalidRequest("the server is shutting down")
        elif method == T.INITIALIZE:
            if self.received_initialize:
                error = JsonRpcInvalidRequest("the server is already initialized")
            self.received_initialize = True
        elif not self.received_initialize:
            error = JsonRpcServerNotInitialized(f"{method} before initialize")
        if error is None:
            if method == T.SHUTDOWN:
                self.received_shutdown = True
            super().handle_message(message)
        elif request:
            log.warning("refused %s: %s", method, error.message)
            self._send_response(message.id, error=error.to_response_error())
        else:
            log.warning("dropped %s: %s", method, error.message)

    @lsp_method(T.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: T.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(T.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None


class SqlLanguageServer(LanguageServer):
    def start_io(
        self, stdin: Any = None, stdout: Any = None, early: transport.Early | None = None
    ) -> None:
        """Serve on stdio, framed by our own reader (see `transport`), after what was read (and
        maybe answered) before the server started (see `early`)."""
        transport.serve_stdio(self, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer, early)

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
        self.garbage = 0  # analyses since the last garbage collection
        self.collect_later: asyncio.TimerHandle | None = None
        self.log_file: Path | None = None
        self.live: LiveState | None = None  # the configured database, if any
        self.live_loop: asyncio.Task | None = None
        self.completion_cache = CompletionCache()
        self.initialized = False
        self.database_state_sent: dict[str, str] | None = None
        # the passwords of every connection setting seen, scrubbed from everything sent or logged
        self.redactor = Redactor()
        self.redactor.add_environment()

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
        message = self.redactor(message)
        log.log(logging.ERROR if level == T.MessageType.Error else logging.INFO, message)
        with contextlib.suppress(Exception):
            self.window_log_message(T.LogMessageParams(type=level, message=message))

    def show(self, message: str, level: T.MessageType = T.MessageType.Warning) -> None:
        message = self.redactor(message)
        log.warning(message)
        with contextlib.suppress(Exception):
            self.window_show_message(T.ShowMessageParams(type=level, message=message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        self.log(f"sql-lsp internal error: {error!r}", T.MessageType.Error)

    # -- memory -------------------------------------------------------------------------------
    def worked(self) -> None:
        """Count an analysis; collect cyclic garbage once typing pauses (see `serve`)."""
        if gc.isenabled():
            return
        self.garbage += 1
        if self.collect_later is not None:
            self.collect_later.cancel()
        if self.garbage >= GC_EVERY:
            self.collect_garbage()
            return
        with contextlib.suppress(RuntimeError):  # no running loop
            loop = asyncio.get_running_loop()
            self.collect_later = loop.call_later(GC_IDLE_S, self.collect_garbage)

    def collect_garbage(self) -> None:
        self.collect_later = None
        if self.garbage:
            self.garbage = 0
            gc.collect()

    # -- configuration ------------------------------------------------------------------------
    def compute_config(self) -> tuple[Config, list[str]]:
        self.redactor.add(self.init_options, self.editor_settings)
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
        self.redactor.add(config.database.url)
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
        self.configure_database()

    # -- database -----------------------------------------------------------------------------
    def configure_database(self) -> None:
        """Start, reconfigure or stop the live database after a settings change."""
        if not self.initialized:
            return
        config = self.project.config
        wanted = config.database.effective_url() is not None
        if not wanted:
            if self.live is not None:
                self.stop_database()
                self.project.set_database(None)
                self.publish_all()
            self.send_database_state()
            return
        if self.live is None:
            self.live = LiveState(config)
            self.project.set_database(self.live.facts())
            self.restart_live_loop()
            self.send_database_state()
        else:
            self.spawn(self._reconfigure(self.live, config))

    async def _reconfigure(self, live: LiveState, config: Config) -> None:
        if await live.apply_config(config) and self.live is live:
            self.project.set_database(live.facts())
            self.restart_live_loop()

    def restart_live_loop(self) -> None:
        if self.live_loop is not None:
            self.live_loop.cancel()
        if self.live is not None:
            self.live_loop = self.spawn(self._live_loop(self.live))

    def stop_database(self) -> None:
        if self.live_loop is not None:
            self.live_loop.cancel()
            self.live_loop = None
        live, self.live = self.live, None
        if live is not None:
            self.spawn(live.close())

    async def _live_loop(self, live: LiveState) -> None:
        """Load the live catalog now and then every `database.refreshIntervalSeconds`; retry
        sooner while the database cannot be reached (the pool backs off on its own)."""
        while self.live is live:
            await self.refresh_database(live)
            interval = self.project.config.database.refresh_interval_seconds
            if live.failure is not None:
                interval = min(interval, 30) if interval else 30
            elif interval <= 0:
                return
            await asyncio.sleep(interval)

    async def refresh_database(self, live: LiveState) -> None:
        changed = await live.refresh()
        if live.failure is not None:
            self.log(f"sql-lsp: database: {live.failure}", T.MessageType.Warning)
        if self.live is live:
            self.send_database_state()
        if changed and self.live is live:  # the project merges the new live catalog by itself
            self.publish_all()
            if self.capability("workspace.code_lens.refresh_support", False):
                self.spawn(self._refresh_code_lenses())
            for key in list(self.project.open):
                self.spawn(self.plan_document(key))

    def send_database_state(self) -> None:
        """Tell the client, when it changed, whether the database is `connected`, `unreachable`
        (with the password-free reason) or `off`: the `sql-lsp/databaseState` notification,
        which the VS Code extension shows in its status-bar item; other clients ignore it."""
        live = self.live
        if live is None:
            state = {"state": "off", "message": "no database configured"}
        elif live.failure is not None:
            state = {"state": "unreachable", "message": live.failure.message}
        elif live.catalog is not None:
            state = {"state": "connected", "message": "live catalog loaded"}
        else:
            state = {"state": "connecting", "message": "connecting"}
        if state != self.database_state_sent:
            self.database_state_sent = state
            with contextlib.suppress(Exception):  # the client has gone
                self.protocol.notify(DATABASE_STATE, state)

    async def _refresh_code_lenses(self) -> None:
        with contextlib.suppress(Exception):  # a client that does not answer it after all
            await asyncio.wait_for(self.workspace_code_lens_refresh_async(None), timeout=5)

    async def plan_document(self, key: str) -> None:
        """Plan the document's statements for the plan-based rules (on open and save only)."""
        live = self.live
        doc = self.project.open.get(key)
        if live is None or doc is None or live.catalog is None:
            return
        if self.project.config.rule("seq-scan-on-large-table").severity == "off":
            return
        texts = [s.text for s in doc.statements if plans.explainable(s)][: plans.MAX_PLANNED]
        if texts and await live.plan_statements(texts) and self.live is live:
            self.schedule(key, 0)

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
        self.worked()

    def publish_all(self, except_key: str | None = None) -> None:
        for key in list(self.project.open):
            if key != except_key:
                self.schedule(key, 0)

    def catalog_changed(self, changed: bool, source: str | None = None) -> None:
        if changed:
            self.publish_all(except_key=source)

    async def what_if(self, doc: Document, f: Finding, fix: Fix) -> tuple[WhatIf | None, bool]:
        """The HypoPG cost of an index-creating fix when it is worth offering, and whether the
        database priced it and found it wanting (cost cut below explain.minImprovementPercent,
        or the plan would not use it)."""
        live = self.live
        found = plans.index_fix(doc, f, fix) if live is not None else None
        if live is None or found is None:
            return None, False
        result = await live.what_if(found.target_sql, found.create_index)
        if result is not None:
            return result, False
        facts = live.facts()
        raw = facts.what_if(found.target_sql, found.create_index) if facts else None
        return None, isinstance(raw, WhatIf)

    async def price_fix(self, doc: Document, f: Finding, fix: Fix) -> Fix | None:
        """The fix with the cost change in its title; None when the database says the index
        does not pay for itself; unchanged when no database or HypoPG can tell."""
        if " — cost " in fix.title:
            return fix  # the rule priced it already (from the cached what-if)
        result, wanting = await self.what_if(doc, f, fix)
        if wanting:
            return None
        if result is None:
            return fix
        return dataclasses.replace(fix, title=with_cost(fix.title, result))

    def findings_for(self, key: str) -> list[Finding]:
        return self.project.lint(key) if key in self.project.open else []


server = SqlLanguageServer()
DATABASE_STATE = "sql-lsp/databaseState"


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
    ls.project.set_roots(ls.roots)
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
    ls.initialized = True
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
        ls.worked()


@server.feature(T.SHUTDOWN)
@guarded()
async def shutdown(ls: SqlLanguageServer, params: Any) -> None:
    live, ls.live = ls.live, None
    for task in [*ls.tasks.values(), *ls.background]:
        task.cancel()
    ls.tasks.clear()
    if live is not None:  # an open pool keeps the process from exiting
        with contextlib.suppress(Exception):
            await asyncio.wait_for(live.close(), timeout=2)


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
    if ls.live is not None:
        ls.spawn(ls.plan_document(key))


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
            edit = convert.change_offsets(doc, change.range, change.text, enc)
            changed |= ls.project.edit_document(key, [edit], version)
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
    if ls.live is not None:
        ls.spawn(ls.plan_document(key))


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
    ls.project.set_roots(ls.roots)
    ls.spawn(_scan(ls))


@server.command(CMD_REFRESH_CATALOG)
async def refresh_catalog(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    """Re-read the workspace files (and the database, when configured); re-publish."""
    count = await scan(
        ls, ls.project, ls.roots, ls.project.config.catalog.paths, False, lambda _changed: None
    )
    ls.project.forget_layout()
    result: dict[str, Any] = {"files": count}
    live = ls.live
    if live is not None:
        await ls.refresh_database(live)
        result["database"] = (
            f"unavailable: {live.failure}" if live.failure is not None else "loaded"
        )
    ls.publish_all()
    catalog = ls.project.catalog
    result["tables"] = len(catalog.tables)
    result["indexes"] = sum(1 for _ in catalog.indexes())
    return result


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
async def code_action(ls: SqlLanguageServer, params: T.CodeActionParams) -> list[T.CodeAction]:
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
                priced = await ls.price_fix(doc, f, fix)
                if priced is None:
                    continue  # the index would not pay for itself
                actions.append(
                    _client(ls, convert.fix_action(doc, f, priced, diags, enc, versioned), doc)
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
            # a fix creating a relation that exists was computed before it existed: left out
            taken = select_fixes(safe, existing_relations(ls.project.catalog))
            edits = [e for _, fix in taken for e in fix.edits]
            actions.append(
                _client(
                    ls,
                    convert.edit_action(
                        doc,
                        f"Fix all safe sql-lsp findings ({len(taken)})",
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


def _intersects(f: Finding, start: int, end: int, doc: Document) -> bool:
    if start == end:  # a cursor: anything on its line
        lines = doc.lines
        line = lines.line_of(start)
        start, end = lines.line_start(line), lines.line_end(line)
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
    parts: list[str] = []
    span: tuple[int, int] | None = None
    here = [f for f in ls.findings_for(key) if f.start <= offset <= f.end]
    if here:
        parts.append(findings_markdown(here))
        span = (min(f.start for f in here), max(f.end for f in here))
    symbol = symbol_at(doc, offset, catalog)
    if symbol is not None:
        text = hover_markdown(symbol, catalog, ls.project.locate)
        if text:
            parts.append(text)
            span = span or (symbol.start, symbol.end)
    stmt = doc.statement_at(offset)
    if plans.explainable(stmt) and (symbol is None or symbol.kind != "rule"):
        assert stmt is not None
        parts += await _plan_parts(ls, key, doc, stmt, offset)
        span = span or (stmt.start, stmt.end)
    if not parts:
        return None
    return convert.hover(ls.redactor("\n\n---\n\n".join(parts)), doc, span, enc)


async def _plan_parts(
    ls: SqlLanguageServer, key: str, doc: Document, stmt: Any, offset: int
) -> list[str]:
    """The database's part of a hover: HypoPG costs of the index fixes here and the estimated
    plan (never EXPLAIN ANALYZE), within `explain.hoverBudgetMs`; past it, one line saying why
    there is no plan. Waits (within the budget) for the settings when they are still being
    fetched, so a hover right after opening a file knows whether there is a database."""
    budget_ms = ls.project.config.explain.hover_budget_ms
    parts: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_ms / 1000
    if not ls.config_ready.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                await ls.config_ready.wait()
    live = ls.live
    if live is None:
        if not ls.config_ready.is_set():
            return [f"**EXPLAIN** — the settings are still being read (waited {budget_ms} ms)"]
        return []
    config = ls.project.config
    seq_rows = int(config.rule("seq-scan-on-large-table").options.get("min_rows") or 10_000)
    try:
        async with asyncio.timeout_at(deadline):
            if key in ls.project.open:  # what HypoPG says about the index fixes here
                for f in ls.findings_for(key):
                    if f.start <= offset <= f.end and f.fix is not None:
                        result, _ = await ls.what_if(doc, f, f.fix)
                        if result is not None:
                            parts.append(f"**{f.rule}**: {with_cost(f.fix.title, result)}")
            explained = await live.explain(stmt.text)
    except TimeoutError:
        outage = live.db.current_failure()
        why = f": {outage.message}" if outage is not None else ""
        explained = Failure(
            Problem.TIMEOUT,
            f"no answer from the database within {budget_ms} ms (explain.hoverBudgetMs){why}",
        )
    parts.append(plans.plan_markdown(explained, seq_rows))
    return parts


@server.feature(T.TEXT_DOCUMENT_CODE_LENS)
@guarded(default=[])
def code_lens(ls: SqlLanguageServer, params: T.CodeLensParams) -> list[T.CodeLens]:
    """An "Explain" lens (and "Explain analyze" when allowed) above each query or DML."""
    config = ls.project.config
    if ls.live is None or not config.explain.code_lens:
        return []
    key = ls.key(params.text_document.uri)
    doc = ls.project.document(key)
    if doc is None:
        return []
    enc = ls.encoding
    lenses: list[T.CodeLens] = []
    for stmt in doc.statements:
        if not plans.explainable(stmt):
            continue
        rng = convert.to_range(doc, stmt.start, stmt.start, enc)
        arg = {
            "uri": params.text_document.uri,
            "position": {"line": rng.start.line, "character": rng.start.character},
        }
        lenses.append(
            T.CodeLens(
                range=rng,
                command=T.Command(
                    title="Explain", command=plans.CMD_EXPLAIN, arguments=[{**arg, "open": True}]
                ),
            )
        )
        if config.explain.analyze and plans.analyzable(stmt, config.dialect):
            lenses.append(
                T.CodeLens(
                    range=rng,
                    command=T.Command(
                        title="Explain analyze",
                        command=plans.CMD_EXPLAIN,
                        arguments=[{**arg, "analyze": True, "open": True}],
                    ),
                )
            )
    return lenses


@server.command(plans.CMD_EXPLAIN)
async def explain_command(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    """Plan the statement at `{"uri", "position"}`; answer `{"markdown", "json"}` and, with
    `"open": true` (code lenses), show the plan as a markdown document when the client can
    (written to a private directory, see `plans.plan_file`). EXPLAIN ANALYZE only with
    `"analyze": true` (the "Explain analyze" lens) and `explain.analyze` on."""
    arg = args[0] if args and isinstance(args[0], dict) else {}
    uri = str(arg.get("uri") or "")
    pos = arg.get("position") or {}
    doc = ls.project.document(ls.key(uri)) if uri else None
    if doc is None:
        return {"markdown": "sql-lsp: no such document"}
    line, char = int(pos.get("line", 0)), int(pos.get("character", 0))
    stmt = doc.statement_at(doc.lines.offset(line, char, ls.encoding))
    if not plans.explainable(stmt):
        return {"markdown": "sql-lsp: no query or DML statement here to explain"}
    assert stmt is not None
    if ls.live is None:
        return {"markdown": "sql-lsp: no database configured (set `database.url`)"}
    analyze = bool(arg.get("analyze")) and ls.project.config.explain.analyze
    explained = await ls.live.explain(stmt.text, analyze=analyze)
    if isinstance(explained, Failure):
        markdown = ls.redactor(plans.plan_markdown(explained, 10_000))
        answer: dict[str, Any] = {"markdown": markdown}
    else:
        markdown = ls.redactor(plan_document(explained, statement=stmt.text))
        answer = {
            "markdown": markdown,
            "json": json.loads(plan_json(explained)),
            "view": plan_view(explained, statement=stmt.text),
            "whatIf": await _what_if_at(ls, ls.key(uri), doc, stmt.start, stmt.end),
        }
    if arg.get("open") and ls.capability("window.show_document.support", False):
        try:
            path = plans.plan_file(uri, doc.lines.line_of(stmt.start), markdown)
        except OSError as e:  # the answer still carries the plan
            ls.log(f"sql-lsp: cannot write the plan document: {e}", T.MessageType.Warning)
            return answer
        with contextlib.suppress(Exception):
            await ls.window_show_document_async(
                T.ShowDocumentParams(uri=path.as_uri(), take_focus=True)
            )
    return answer


async def _what_if_at(
    ls: SqlLanguageServer, key: str, doc: Document, start: int, end: int
) -> dict[str, Any] | None:
    """The first index fix of a finding in [start, end) that HypoPG priced as worth it, as
    plain data with the plans before and after (for the VS Code plan view), or None."""
    for f in ls.findings_for(key):
        if not start <= f.start < end:
            continue
        for fix in f.fixes:
            result, _ = await ls.what_if(doc, f, fix)
            if result is not None:
                return what_if_view(result, fix.title)
    return None


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


def _target(ls: SqlLanguageServer, params: Any) -> tuple[Document, Target] | None:
    doc = ls.project.document(ls.key(params.text_document.uri))
    if doc is None:
        return None
    pos = params.position
    offset = doc.lines.offset(pos.line, pos.character, ls.encoding)
    target = target_at(doc, offset, ls.project.catalog)
    return (doc, target) if target is not None else None


def _occurrences(ls: SqlLanguageServer, doc: Document, target: Target):
    return references(target, doc, ls.project.documents(), ls.project.catalog)


@server.feature(T.TEXT_DOCUMENT_REFERENCES)
@guarded()
def find_references(ls: SqlLanguageServer, params: T.ReferenceParams) -> list[T.Location] | None:
    found = _target(ls, params)
    if found is None:
        return None
    doc, target = found
    out = []
    for o in _occurrences(ls, doc, target):
        if o.is_declaration and not params.context.include_declaration:
            continue
        at = ls.project.document(o.uri)
        if at is not None:
            loc = convert.location(at, o.start, o.end, ls.encoding)
            loc.uri = ls.client_uri(o.uri)
            out.append(loc)
    return out


@server.feature(T.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
@guarded()
def document_highlight(
    ls: SqlLanguageServer, params: T.DocumentHighlightParams
) -> list[T.DocumentHighlight] | None:
    found = _target(ls, params)
    if found is None:
        return None
    doc, target = found
    return [
        convert.highlight(doc, o.start, o.end, o.is_declaration, ls.encoding)
        for o in references(target, doc, [doc], ls.project.catalog)
        if o.uri == doc.uri
    ]


@server.feature(T.TEXT_DOCUMENT_PREPARE_RENAME)
@guarded()
def prepare_rename(
    ls: SqlLanguageServer, params: T.PrepareRenameParams
) -> T.PrepareRenamePlaceholder | None:
    found = _target(ls, params)
    if found is None:
        return None
    doc, target = found
    return convert.prepare_rename(doc, target.start, target.end, ls.encoding)


@server.feature(T.TEXT_DOCUMENT_RENAME, T.RenameOptions(prepare_provider=True))
def rename(ls: SqlLanguageServer, params: T.RenameParams) -> T.WorkspaceEdit | None:
    found = _target(ls, params)
    if found is None:
        return None
    doc, target = found
    try:
        edits = rename_edits(_occurrences(ls, doc, target), params.new_name)
    except RenameError as e:
        raise JsonRpcInvalidParams(str(e)) from None
    parts = []
    for uri, doc_edits in edits.items():
        at = ls.project.document(uri)
        if at is not None:
            parts.append((at, ls.client_uri(uri), doc_edits))
    return convert.rename_edit(parts, ls.encoding)


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


@server.feature(
    T.TEXT_DOCUMENT_COMPLETION,
    T.CompletionOptions(trigger_characters=["."], resolve_provider=True),
)
@guarded()
def completion(ls: SqlLanguageServer, params: T.CompletionParams) -> T.CompletionList | None:
    doc = ls.project.document(ls.key(params.text_document.uri))
    if doc is None:
        return None
    enc = ls.encoding
    offset = doc.lines.offset(params.position.line, params.position.character, enc)
    catalog = ls.project.catalog
    result = complete(doc, offset, catalog, ls.completion_cache)
    support = convert.CompletionSupport(
        snippets=bool(ls.capability("text_document.completion.completion_item.snippet_support")),
        insert_replace=bool(
            ls.capability("text_document.completion.completion_item.insert_replace_support")
        ),
        item_defaults=frozenset(
            ls.capability("text_document.completion.completion_list.item_defaults") or ()
        ),
        lazy_documentation="documentation"
        in (
            ls.capability("text_document.completion.completion_item.resolve_support.properties")
            or ()
        ),
    )
    inline = (
        None
        if len(result.items) > INLINE_DOCS_MAX
        else (lambda ref: ls.redactor(documentation(ref, catalog, ls.project.locate)))
    )
    return convert.completion_list(doc, result, enc, support, inline)


@server.feature(T.COMPLETION_ITEM_RESOLVE)
@guarded()
def completion_resolve(ls: SqlLanguageServer, item: T.CompletionItem) -> T.CompletionItem:
    """The documentation of a table or column item (what its hover shows)."""
    ref = item.data.get("ref") if isinstance(item.data, dict) else None
    if isinstance(ref, list) and all(isinstance(r, str) for r in ref):
        text = documentation(tuple(ref), ls.project.catalog, ls.project.locate)
        if text:
            item.documentation = T.MarkupContent(
                kind=T.MarkupKind.Markdown, value=ls.redactor(text)
            )
    return item


@server.feature(T.TEXT_DOCUMENT_FOLDING_RANGE)
@guarded(default=[])
def folding_range(ls: SqlLanguageServer, params: T.FoldingRangeParams) -> list[T.FoldingRange]:
    doc = ls.project.document(ls.key(params.text_document.uri))
    if doc is None:
        return []
    return [convert.folding_range(f) for f in folding_ranges(doc)]


@server.feature(T.WORKSPACE_SYMBOL)
@guarded(default=[])
def workspace_symbol(
    ls: SqlLanguageServer, params: T.WorkspaceSymbolParams
) -> list[T.SymbolInformation]:
    """Tables, views and indexes declared in the workspace's files."""
    out = []
    for symbol in workspace_symbols(ls.project.catalog, params.query):
        found = ls.project.locate(symbol.origin)
        if found is not None:
            doc, start, end = found
            uri = ls.client_uri(doc.uri)
            out.append(convert.workspace_symbol(symbol, doc, start, end, uri, ls.encoding))
    return out


# -- entry point ----------------------------------------------------------------------------------


# Python's cyclic collector rescans every parse tree the server holds (hundreds of thousands of
# objects for a large workspace) whenever enough objects were allocated: seconds added to a cold
# open and 100 ms pauses while typing. The server collects itself instead: when typing pauses
# for GC_IDLE_S, or after GC_EVERY analyses without a pause.
GC_IDLE_S = 2.0
GC_EVERY = 300


def serve(
    tcp: str | None = None, log_file: str | None = None, early: transport.Early | None = None
) -> int:
    transport.keep_large_blocks_on_the_heap()
    gc.disable()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
            server.log_file = Path(log_file)
        except OSError as e:
            print(
                f"sql-lsp: cannot write the log file {log_file}: {e.strerror or e}", file=sys.stderr
            )
    for handler in handlers:  # no password in the log, whatever logged it (psycopg, pygls)
        handler.addFilter(RedactingFilter(server.redactor))
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
        server.start_io(early=early)
    # the spec: exit code 0 after a shutdown request, 1 otherwise (exit or end of input)
    return 0 if server.protocol._shutdown or server.protocol.received_shutdown else 1
