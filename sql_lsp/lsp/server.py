"""The language server: LSP handlers that call the core and convert its results.

State lives on `SqlLanguageServer`: the Project (documents, catalog, linter), the layered
settings (lsp/settings.py), one debounce task per document and what was last published
(lsp/diagnostics.py), the live database (lsp/database.py). Each handler below is a few lines;
the longer ones call lsp/actions.py, lsp/hover.py, lsp/commands.py and lsp/complete.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.capabilities import get_capability
from pygls.exceptions import (
    JsonRpcInvalidParams,
)
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from sql_lsp import __version__
from sql_lsp.completion import CompletionCache
from sql_lsp.document import Document
from sql_lsp.live import LiveState
from sql_lsp.lsp import convert, plans, transport
from sql_lsp.lsp.actions import CMD_RENAME_IN_MIGRATION, code_actions
from sql_lsp.lsp.commands import (
    CMD_REFRESH_CATALOG,
    code_lenses,
    explain,
    refresh_catalog,
    rename_in_migration,
)
from sql_lsp.lsp.complete import complete_at, resolve
from sql_lsp.lsp.database import DATABASE_STATE, LiveDatabase
from sql_lsp.lsp.diagnostics import Publishing
from sql_lsp.lsp.guard import guarded
from sql_lsp.lsp.hover import hover_at
from sql_lsp.lsp.lifecycle import publish_after_scan, register, scan_workspace
from sql_lsp.lsp.protocol import SqlProtocol
from sql_lsp.lsp.settings import SECTION, Settings, cache_folder
from sql_lsp.lsp.workspace import apply_file_events, folder_paths, read_file
from sql_lsp.navigation import folding_ranges, outline, symbol_at, workspace_symbols
from sql_lsp.project import Project, uri_of
from sql_lsp.redaction import RedactingFilter, Redactor
from sql_lsp.signatures import help_at

__all__ = ["CMD_REFRESH_CATALOG", "DATABASE_STATE", "SECTION", "SqlLanguageServer", "serve"]
from sql_lsp.references import RenameError, Target, references, rename_edits, target_at

log = logging.getLogger("sql_lsp")


class SqlLanguageServer(Settings, LiveDatabase, Publishing, LanguageServer):
    def start_io(
        self, stdin: Any = None, stdout: Any = None, early: transport.Early | None = None
    ) -> None:
        """Serve on stdio, framed by our own reader (see `transport`), after what was read (and
        maybe answered) before the server started (see `early`)."""
        transport.serve_stdio(self, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer, early)

    def __init__(self) -> None:
        super().__init__("sql-lsp", __version__, protocol_cls=SqlProtocol)
        self.project = Project(keep_trees=False)  # compact: trees parsed again on demand
        self.roots: list[Path] = []
        self.init_options: dict[str, Any] = {}
        self.editor_settings: dict[str, Any] = {}
        self.client_uris: dict[str, str] = {}  # project key -> the URI the client uses
        self.tasks: dict[str, asyncio.Task] = {}
        self.published: dict[str, int | None] = {}
        self.unstored: set[str] = set()  # opened or saved: findings to store once linted
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


server = SqlLanguageServer()


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
    ls.project.use_cache(cache_folder(config, ls.roots))


@server.feature(T.INITIALIZED)
@guarded()
async def initialized(ls: SqlLanguageServer, params: T.InitializedParams) -> None:
    ls.initialized = True
    await ls.load_settings()
    await register(ls)
    ls.spawn(scan_workspace(ls))


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
    ls.unstored.add(key)
    if ls.scanned.is_set():
        ls.schedule(key, 0)
    else:  # publish with the workspace schema when it is read, or after a second at most
        ls.tasks[key] = ls.spawn(publish_after_scan(ls, key))
    ls.catalog_changed(changed, key)
    if ls.live is not None:
        ls.spawn(ls.plan_document(key))


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
    if key in ls.project.open:
        ls.unstored.add(key)
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
    ls.forget(key, params.text_document.uri)
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
    ls.spawn(scan_workspace(ls))


@server.command(CMD_REFRESH_CATALOG)
async def refresh_catalog_command(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    """Re-read the workspace files (and the database, when configured); re-publish."""
    return await refresh_catalog(ls)


# -- code actions, hover, lenses ------------------------------------------------------------------


@server.feature(
    T.TEXT_DOCUMENT_CODE_ACTION,
    T.CodeActionOptions(
        code_action_kinds=[
            T.CodeActionKind.QuickFix,
            T.CodeActionKind.SourceFixAll,
            convert.FIX_ALL,
            T.CodeActionKind.RefactorRewrite,
        ],
        resolve_provider=False,
    ),
)
@guarded(default=[])
async def code_action(ls: SqlLanguageServer, params: T.CodeActionParams) -> list[T.CodeAction]:
    return await code_actions(ls, params)


@server.feature(T.TEXT_DOCUMENT_HOVER)
@guarded()
async def hover(ls: SqlLanguageServer, params: T.HoverParams) -> T.Hover | None:
    return await hover_at(ls, params)


@server.feature(T.TEXT_DOCUMENT_CODE_LENS)
@guarded(default=[])
def code_lens(ls: SqlLanguageServer, params: T.CodeLensParams) -> list[T.CodeLens]:
    """An "Explain" lens (and "Explain analyze" when allowed) above each query or DML."""
    return code_lenses(ls, params)


@server.command(plans.CMD_EXPLAIN)
async def explain_command(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    return await explain(ls, *args)


@server.command(CMD_RENAME_IN_MIGRATION)
async def rename_in_migration_command(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    return await rename_in_migration(ls, *args)


# -- navigation -----------------------------------------------------------------------------------


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
    return complete_at(ls, params)


@server.feature(T.COMPLETION_ITEM_RESOLVE)
@guarded()
def completion_resolve(ls: SqlLanguageServer, item: T.CompletionItem) -> T.CompletionItem:
    """The documentation of a table or column item (what its hover shows)."""
    return resolve(ls, item)


@server.feature(
    T.TEXT_DOCUMENT_SIGNATURE_HELP,
    T.SignatureHelpOptions(trigger_characters=["(", ","]),
)
@guarded()
def signature_help(ls: SqlLanguageServer, params: T.SignatureHelpParams) -> T.SignatureHelp | None:
    doc = ls.project.document(ls.key(params.text_document.uri))
    if doc is None:
        return None
    offset = doc.lines.offset(params.position.line, params.position.character, ls.encoding)
    found = help_at(doc, offset, ls.project.documents())
    return convert.signature_help(found) if found is not None else None


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
