"""The JSON-RPC side of the server: raw notifications, invalid params answered, the lifecycle
of the spec enforced, and document text kept out of pygls's workspace."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from typing import Any

from lsprotocol import types as T
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("sql_lsp")

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
