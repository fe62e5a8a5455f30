"""How the server talks to its client process: stdio pipes read by the event loop, and the
allocator settings that keep typing in a large file cheap."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import json
import logging
import sys
import threading
from typing import Any

from pygls.io_ import StdoutWriter, run_async
from pygls.server import JsonRPCServer

from sql_lsp.lsp.early import Early, is_pipe

__all__ = ["PipeReader", "is_pipe", "keep_large_blocks_on_the_heap", "serve_pipe"]

log = logging.getLogger("sql_lsp")


class PipeReader:
    """stdin as an asyncio stream. pygls reads stdin in a thread pool, one hand-off per header
    line and per body; on a pipe the event loop can read it directly."""

    def __init__(self, stdin: Any, prelude: bytes = b"") -> None:
        self.stdin = stdin
        self.prelude = prelude  # read from the pipe before the server started
        self._stream: asyncio.StreamReader | None = None

    async def _reader(self) -> asyncio.StreamReader:
        if self._stream is None:
            stream = asyncio.StreamReader()
            if self.prelude:
                stream.feed_data(self.prelude)
            loop = asyncio.get_running_loop()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), self.stdin)
            self._stream = stream
        return self._stream

    async def readline(self) -> bytes:
        return await (await self._reader()).readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            return await (await self._reader()).readexactly(n)
        except asyncio.IncompleteReadError as e:
            return e.partial


class SkipAnswered(StdoutWriter):
    """stdout, less the server's answer to the request `early` answered already."""

    def __init__(self, stdout: Any, early: Early) -> None:
        super().__init__(stdout)
        self.early: Early | None = early

    def write(self, data: bytes) -> None:
        early = self.early
        if early is not None:
            try:
                message = json.loads(data.partition(b"\r\n\r\n")[2])
            except ValueError:
                message = None
            if (
                isinstance(message, dict)
                and "method" not in message
                and message.get("id") == early.answered
            ):
                self.early = None
                if message.get("result") != early.result:
                    log.warning("initialize was answered early with different capabilities")
                return
        super().write(data)


def serve_pipe(server: JsonRPCServer, stdin: Any, stdout: Any, early: Early | None = None) -> None:
    """pygls's stdio loop, with stdin read through `PipeReader` (after what `early` read)."""
    server._stop_event = threading.Event()
    answered = early is not None and early.answered is not None
    server.protocol.set_writer(SkipAnswered(stdout, early) if answered else StdoutWriter(stdout))
    try:
        asyncio.run(
            run_async(
                stop_event=server._stop_event,
                reader=PipeReader(stdin, early.prelude if early is not None else b""),
                protocol=server.protocol,
                logger=logging.getLogger("pygls.server"),
                error_handler=server.report_server_error,
            )
        )
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def keep_large_blocks_on_the_heap() -> None:
    """Every keystroke re-allocates the document's text (megabytes for a large file). glibc
    serves blocks that big with mmap and unmaps them when freed, so each edit paid page faults
    over the whole text (about 1.5 ms per MB here); keep them on the heap for reuse."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 64 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass
