"""Publishing diagnostics: one debounce task per open document, what was last published, and
the cyclic garbage collection the server does itself once typing pauses."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from sql_lsp.lsp import convert
from sql_lsp.rules.base import Finding

if TYPE_CHECKING:
    from sql_lsp.document import Document
    from sql_lsp.lsp.server import SqlLanguageServer


# Python's cyclic collector rescans every parse tree the server holds (hundreds of thousands of
# objects for a large workspace) whenever enough objects were allocated: seconds added to a cold
# open and 100 ms pauses while typing. The server collects itself instead: when typing pauses
# for GC_IDLE_S, or after GC_EVERY analyses without a pause.
GC_IDLE_S = 2.0
GC_EVERY = 300

# The first publish of a file longer than HEAD_LINES lines carries the findings of its first
# HEAD_LINES lines (a few screens, checked in about HEAD_S at most), so that diagnostics appear
# at once where the editor opens it; the findings of the whole file follow when it is checked.
HEAD_LINES = 500
HEAD_S = 0.3


class Publishing:
    """The debounce and publishing part of `SqlLanguageServer`."""

    tasks: dict[str, asyncio.Task]
    published: dict[str, int | None]
    unstored: set[str]  # documents whose findings go to the persistent cache once linted
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
            # the linter freezes what survives its collections while it drops trees (so each
            # only looks at what is new); a pause in typing collects everything, then freezes
            # what is left, so that the next pause looks only at what came since
            gc.unfreeze()
            gc.collect()
            gc.freeze()

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
        if key not in self.published and (
            self.publish_cached(key, doc) or self.publish_head(key, doc)
        ):
            return
        findings = self._lint(key)
        self._send(key, doc, findings)
        if key in self.unstored:  # opened or saved: keep its findings for the next start
            self.unstored.discard(key)
            self.project.store_findings(key, findings)
        self.worked()

    def _lint(self, key: str) -> list[Finding]:
        try:
            return self.project.lint(key)
        except Exception as e:  # never let an analysis bug take the server down
            self.log(
                f"analysis of {key} failed: {e!r}\n{traceback.format_exc()}", T.MessageType.Error
            )
            return []

    def _send(self, key: str, doc: Document, findings: Sequence[Any]) -> str:
        cache = self.diagnostics.setdefault(key, convert.DiagnosticCache())
        params = cache.publish_params(self.client_uri(key), doc, findings, self.encoding)
        self.protocol.send_raw(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, params)
        self.published[key] = doc.version
        return params

    def publish_cached(self, key: str, doc: Document) -> bool:
        """The first publish of a file whose findings the persistent cache holds for this text
        and catalog: published at once, then the linter computes the real ones (what code
        actions and later edits use) and publishes them only if they differ."""
        try:
            cached = self.project.cached_findings(key)
        except Exception as e:  # a cache problem never stops diagnostics
            self.log(f"reading the cache for {key} failed: {e!r}", T.MessageType.Warning)
            cached = None
        if cached is None:
            return False
        self.unstored.discard(key)
        sent = self._send(key, doc, cached)
        self.spawn(self._complete(key, doc, sent))
        return True

    def publish_head(self, key: str, doc: Document) -> bool:
        """The first publish of a large file: the findings of its first lines at once (see
        HEAD_LINES), then those of the whole file once it is checked."""
        try:
            head = self.project.lint_head(key, HEAD_LINES, HEAD_S)
        except Exception as e:  # the whole check still runs, and says what failed
            self.log(f"checking the start of {key} failed: {e!r}", T.MessageType.Warning)
            head = None
        if head is None:
            return False
        sent = self._send(key, doc, head)
        self.spawn(self._complete(key, doc, sent))
        return True

    async def _complete(self, key: str, doc: Document, sent: str) -> None:
        """The findings of the whole of `doc` after a first publish from the cache or of its
        first lines; published when they differ from it."""
        await asyncio.sleep(0)  # the first diagnostics go out first
        if self.project.open.get(key) is not doc:
            return  # edited (or closed) since: that publishes its own
        findings = self._lint(key)
        if self.project.open.get(key) is not doc:
            return
        cache = self.diagnostics.setdefault(key, convert.DiagnosticCache())
        params = cache.publish_params(self.client_uri(key), doc, findings, self.encoding)
        if params != sent:  # more than the first lines (or an out-of-date cache entry)
            self.protocol.send_raw(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, params)
        if key in self.unstored:
            self.unstored.discard(key)
            self.project.store_findings(key, findings)
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
        self.unstored.discard(key)
