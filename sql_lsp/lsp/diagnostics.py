"""Publishing diagnostics: one debounce task per open document, what was last published, and
the cyclic garbage collection the server does itself once typing pauses."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import traceback
from typing import TYPE_CHECKING

from lsprotocol import types as T

from sql_lsp.lsp import convert
from sql_lsp.rules.base import Finding

if TYPE_CHECKING:
    from sql_lsp.lsp.server import SqlLanguageServer


# Python's cyclic collector rescans every parse tree the server holds (hundreds of thousands of
# objects for a large workspace) whenever enough objects were allocated: seconds added to a cold
# open and 100 ms pauses while typing. The server collects itself instead: when typing pauses
# for GC_IDLE_S, or after GC_EVERY analyses without a pause.
GC_IDLE_S = 2.0
GC_EVERY = 300


class Publishing:
    """The debounce and publishing part of `SqlLanguageServer`."""

    tasks: dict[str, asyncio.Task]
    published: dict[str, int | None]
    diagnostics: dict[str, convert.DiagnosticCache]
    garbage: int
    collect_later: asyncio.TimerHandle | None

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

    def findings_for(self, key: str) -> list[Finding]:
        return self.project.lint(key) if key in self.project.open else []

    def forget(self: SqlLanguageServer, key: str, uri: str) -> None:
        """Clear what was published for a closed document."""
        self.protocol.send_raw(
            T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
            json.dumps({"uri": uri, "diagnostics": []}),
        )
        self.diagnostics.pop(key, None)
        self.project.linter.forget(key)
        self.published.pop(key, None)
