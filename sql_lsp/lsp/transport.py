"""How the server talks to its client process: stdio read by the event loop, the base protocol's
framing (recovering from framing errors), and the allocator settings that keep typing in a large
file cheap."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import json
import logging
import re
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pygls.exceptions import JsonRpcException, JsonRpcParseError
from pygls.io_ import StdoutWriter
from pygls.server import JsonRPCServer

from sql_lsp.lsp.early import Early, is_pipe

__all__ = ["Framing", "PipeReader", "is_pipe", "keep_large_blocks_on_the_heap", "serve_stdio"]

log = logging.getLogger("sql_lsp")

_NAME = re.compile(rb"content-length", re.IGNORECASE)
_HEADER = re.compile(rb"content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?\n", re.IGNORECASE)
_NAME_SIZE = len(b"content-length")
MAX_MESSAGE = 1 << 30  # a larger Content-Length is a framing error
_CHUNK = 1 << 16


def _is_json(data: bytes | bytearray) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


class Framing:
    """The bodies of base-protocol messages (`Content-Length: N` headers, a blank line, N bytes)
    read from a byte stream, recovering from framing errors instead of going deaf:

    - bytes before a header (the rest of a body whose Content-Length was too short, or garbage)
      are skipped up to the next `Content-Length` header, wherever it starts on its line;
    - a body whose Content-Length was too long ends where the next header starts right after a
      complete JSON value (the next message is not swallowed);
    - an unreadable header or an absurd length is skipped the same way.

    Each recovery is logged (one line); `read(n)` returns up to n bytes, b"" at the end."""

    def __init__(self, read: Callable[[int], Awaitable[bytes]]) -> None:
        self._read_some = read
        self.buffer = bytearray()
        self.eof = False
        self.skipped = 0  # bytes dropped since the last header

    async def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = await self._read_some(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    async def _line(self) -> bytes | None:
        """The next line (with its LF); a long run without one is dropped but for its end."""
        buf = self.buffer
        searched = 0
        while True:
            i = buf.find(b"\n", searched)
            if i >= 0:
                line = bytes(buf[: i + 1])
                del buf[: i + 1]
                return line
            searched = len(buf)
            if searched > _CHUNK and _NAME.search(buf) is None:
                keep = _NAME_SIZE  # a header may start in the last bytes
                self.skipped += searched - keep
                del buf[: searched - keep]
                searched = keep
            if not await self._fill():
                if buf:
                    self.skipped += len(buf)
                    buf.clear()
                return None

    async def _body(self, length: int) -> bytes | None:
        buf = self.buffer
        searched = 0
        while len(buf) < length:  # waiting for more: is the next message already here?
            m = _NAME.search(buf, max(0, searched - _NAME_SIZE))
            if m is not None and _is_json(buf[: m.start()]):
                return self._cut(m.start(), length)
            searched = len(buf)
            if not await self._fill():
                return None
        body = bytes(buf[:length])
        del buf[:length]
        return body

    def _cut(self, at: int, length: int) -> bytes:
        log.error("a message was %d bytes shorter than its Content-Length", length - at)
        body = bytes(self.buffer[:at])
        del self.buffer[:at]
        return body

    def salvage(self, body: bytes) -> bytes | None:
        """The JSON value a body that is not JSON starts with, when the rest of it is the start
        of the next message (its Content-Length was too long): the rest is read again."""
        m = _NAME.search(body)
        if m is not None and _is_json(body[: m.start()]):
            at = m.start()
        else:  # the next header's name is cut by the end of the body
            at = next(
                (
                    len(body) - k
                    for k in range(1, _NAME_SIZE)
                    if body[-k:].lower() == b"content-length"[:k] and _is_json(body[:-k])
                ),
                -1,
            )
            if at < 0:
                return None
        self.buffer[:0] = body[at:]
        log.error("a message was %d bytes shorter than its Content-Length", len(body) - at)
        return body[:at]

    def _resync(self, line: bytes) -> bytes | None:
        """`line` from its Content-Length header on (None: no header in it)."""
        m = _NAME.search(line)
        if m is None:
            return None
        self.skipped += m.start()
        return line[m.start() :]

    async def messages(self) -> AsyncIterator[bytes]:
        length: int | None = None
        while True:
            line = await self._line()
            if line is None:
                if length is not None or self.skipped:
                    log.error("the client closed the connection in the middle of a message")
                return
            header = self._resync(line)
            if header is not None:
                if self.skipped:
                    log.error("skipped %d bytes that were not a message", self.skipped)
                    self.skipped = 0
                m = _HEADER.fullmatch(header)
                length = int(m.group(1)) if m else None
                if length is None or length > MAX_MESSAGE:
                    log.error("skipped an unreadable header: %r", header[:80])
                    length = None
                continue
            if line.strip():
                if length is None or b":" not in line:  # not another header: garbage
                    self.skipped += len(line)
                continue
            if length is None:
                continue  # a blank line between messages
            body = await self._body(length)
            length = None
            if body is None:
                log.error("the client closed the connection in the middle of a message")
                return
            yield body


def _decode(server: JsonRPCServer, body: bytes) -> Any:
    return json.loads(body, object_hook=server.protocol.structure_message)


async def serve_stream(
    server: JsonRPCServer, read: Callable[[int], Awaitable[bytes]], stop: threading.Event
) -> None:
    """Serve the messages read with `read` until the end of the stream or `stop`. A body that
    is not JSON is answered with a JSON-RPC parse error (id null) and logged."""
    framing = Framing(read)
    protocol = server.protocol
    async for body in framing.messages():
        if stop.is_set():
            break
        try:
            try:
                message = _decode(server, body)
            except ValueError as error:
                part = framing.salvage(body)
                if part is None:
                    log.error("a message is not JSON (%d bytes): %s", len(body), error)
                    response = JsonRpcParseError(str(error)).to_response_error()
                    protocol._send_response(None, error=response)  # type: ignore[arg-type]
                    continue
                message = _decode(server, part)
        except JsonRpcException as error:  # answered by the protocol when it can be
            log.error("unreadable message: %s", error)
            continue
        except Exception as error:
            log.exception("unable to read a message")
            server.report_server_error(error, JsonRpcException)
            continue
        try:
            protocol.handle_message(message)
        except Exception as error:
            log.exception("unable to handle a message")
            server.report_server_error(error, JsonRpcException)
        if stop.is_set():
            break


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

    async def read(self, n: int) -> bytes:
        return await (await self._reader()).read(n)


class ThreadReader:
    """stdin that is not a pipe (a file, a terminal): read in a worker thread."""

    def __init__(self, stdin: Any) -> None:
        self.stdin = stdin
        self._read = getattr(stdin, "read1", stdin.read)

    async def read(self, n: int) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(None, self._read, n)


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


def serve_stdio(server: JsonRPCServer, stdin: Any, stdout: Any, early: Early | None = None) -> None:
    """Serve on stdio: a pipe is read by the event loop (`PipeReader`, after what `early` read
    and answered), anything else in a thread; messages are framed by `Framing`."""
    server._stop_event = stop = threading.Event()
    answered = early is not None and early.answered is not None
    server.protocol.set_writer(SkipAnswered(stdout, early) if answered else StdoutWriter(stdout))
    if is_pipe(stdin):
        reader: PipeReader | ThreadReader = PipeReader(
            stdin, early.prelude if early is not None else b""
        )
    else:
        reader = ThreadReader(stdin)
    try:
        asyncio.run(serve_stream(server, reader.read, stop))
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
