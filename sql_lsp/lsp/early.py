"""Answer `initialize` before the server is imported.

Importing the LSP stack (pygls, lsprotocol, cattrs), the parser and the rules takes most of a
second, and an editor waits for the `initialize` answer before it sends anything else. On a pipe,
the command line reads the first message itself (standard library only), answers it with the
capabilities the server declares, then imports the server and hands it the bytes it read: the
server handles that `initialize` as usual (settings, roots, position encoding) and its own answer,
a duplicate, is dropped on the way out (see `transport`).

`CAPABILITIES` is what pygls builds for the server's features; tests/lsp/test_early.py compares
the two for the recorded clients, and says what to write here when a feature is added.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from sql_lsp import __version__

# pygls's ServerCapabilitiesBuilder output for this server, without the parts that depend on the
# client (position encoding, willSave / willSaveWaitUntil): see `initialize_result`
CAPABILITIES: dict[str, Any] = {
    "textDocumentSync": {"openClose": True, "change": 2, "save": True},
    "completionProvider": {"triggerCharacters": ["."], "resolveProvider": True},
    "hoverProvider": True,
    "signatureHelpProvider": {"triggerCharacters": ["(", ","]},
    "definitionProvider": True,
    "referencesProvider": True,
    "documentHighlightProvider": True,
    "renameProvider": True,  # RenameOptions when the client supports prepareRename
    "documentSymbolProvider": True,
    "codeActionProvider": {
        "codeActionKinds": [
            "quickfix",
            "source.fixAll",
            "source.fixAll.sql-lsp",
            "refactor.rewrite",
        ],
        "resolveProvider": False,
    },
    "codeLensProvider": {"resolveProvider": False},
    "workspaceSymbolProvider": {"resolveProvider": False},
    "foldingRangeProvider": True,
    "executeCommandProvider": {
        "commands": ["sql-lsp.refreshCatalog", "sql-lsp.explain", "sql-lsp.renameInMigration"]
    },
    "workspace": {
        "workspaceFolders": {"supported": True, "changeNotifications": True},
        "fileOperations": {},
    },
}
ENCODINGS = ("utf-8", "utf-16", "utf-32")  # what pygls supports, in no order
MAX_HEADER = 64 * 1024


class Early:
    """What was read before the server started, and the request already answered (a plain
    class: dataclasses would import inspect, a tenth of the time this module saves)."""

    __slots__ = ("answered", "prelude", "result")

    def __init__(self, prelude: bytes, answered: int | str | None = None, result: Any = None):
        self.prelude = prelude  # bytes read from stdin, to be read again by the server
        self.answered = answered  # the id of the `initialize` answered here
        self.result = result  # what it was answered with


def is_pipe(stream: Any) -> bool:
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, AttributeError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def initialize_result(params: Any) -> dict[str, Any] | None:
    """The answer pygls would give to `initialize` with these params; None when the params are
    not the plain shape handled here (the server then answers itself)."""
    if not isinstance(params, dict) or not isinstance(params.get("capabilities"), dict):
        return None
    caps = params["capabilities"]
    general = caps.get("general", {})
    text = caps.get("textDocument", {})
    if not isinstance(general, dict) or not isinstance(text, dict):
        return None
    sync_caps = text.get("synchronization", {})
    encodings = general.get("positionEncodings")
    if not isinstance(sync_caps, dict) or not isinstance(encodings, list | type(None)):
        return None
    encoding = next((e for e in encodings or () if e in ENCODINGS), "utf-16")
    sync = dict(CAPABILITIES["textDocumentSync"])
    for key in ("willSave", "willSaveWaitUntil"):
        value = sync_caps.get(key)
        if value is not None:
            if not isinstance(value, bool):
                return None
            sync[key] = False  # the client may; the server has no such handler
    capabilities = {"positionEncoding": encoding, **CAPABILITIES, "textDocumentSync": sync}
    rename = text.get("rename", {})
    if not isinstance(rename, dict):
        return None
    if rename.get("prepareSupport"):
        capabilities["renameProvider"] = {"prepareProvider": True}
    return {"capabilities": capabilities, "serverInfo": {"name": "sql-lsp", "version": __version__}}


def _read_message(fd: int) -> tuple[bytes, dict | None]:
    """Read one framed message from `fd`: everything read so far, and the message (None at end
    of input or when it is not a JSON object)."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEADER:
            return data, None
        chunk = os.read(fd, 65536)
        if not chunk:
            return data, None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return data, None
    if length is None or length < 0:
        return data, None
    while len(rest) < length:
        chunk = os.read(fd, max(65536, length - len(rest)))
        if not chunk:
            return data, None
        rest += chunk
        data += chunk
    try:
        message = json.loads(rest[:length])
    except ValueError:  # includes UnicodeDecodeError
        return data, None
    return data, message if isinstance(message, dict) else None


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return (
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
        % len(body)
        + body
    )


def answer_initialize(stdin: Any, stdout: Any) -> Early:
    """Read the first message from `stdin` (a pipe); when it is `initialize`, answer it on
    `stdout`. Never loses input: whatever was read is in the returned prelude."""
    data, message = _read_message(stdin.fileno())
    if (
        message is None
        or message.get("method") != "initialize"
        or not isinstance(message.get("id"), int | str)
        or isinstance(message.get("id"), bool)
    ):
        return Early(data)
    result = initialize_result(message.get("params"))
    if result is None:
        return Early(data)
    stdout.write(frame({"jsonrpc": "2.0", "id": message["id"], "result": result}))
    stdout.flush()
    return Early(data, message["id"], result)
