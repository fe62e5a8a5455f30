"""A minimal JSON-RPC client for the benchmarks: starts `python -m sql_lsp` on stdio and speaks
LSP to it with nothing but the standard library (no pygls, no pytest), so what is timed is the
server, not a client framework.

Messages are read with `select` + `os.read` on the pipe and stamped with `time.perf_counter()`
the moment their last byte is read, before they are decoded.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class ServerGone(RuntimeError):
    """The server closed its output or did not answer in time."""


class LspClient:
    def __init__(
        self,
        cmd: list[str] | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        preexec_fn: Any = None,
    ) -> None:
        self.cmd = cmd or [sys.executable, "-m", "sql_lsp"]
        self.stderr = open(os.devnull, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=cwd,
            env=env,
            preexec_fn=preexec_fn,
        )
        self.fd = self.proc.stdout.fileno()
        self.buf = bytearray()
        self.next_id = 0
        self.initialized_at = 0.0
        self.backlog: list[tuple[float, dict]] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- sending --------------------------------------------------------------------------------
    def send(self, message: dict) -> float:
        """Write one message; returns the time just before the write."""
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        data = b"Content-Length: %d\r\n\r\n" % len(body) + body
        t0 = time.perf_counter()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return t0

    def notify(self, method: str, params: Any) -> float:
        return self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 60) -> Any:
        return self.request_timed(method, params, timeout)[1]

    def request_timed(self, method: str, params: Any, timeout: float = 60) -> tuple[float, Any]:
        """The result of a request and the time its answer arrived."""
        self.next_id += 1
        ident = self.next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        arrived, msg = self.wait(lambda m: m.get("id") == ident and "method" not in m, timeout)
        if "error" in msg:
            raise RuntimeError(f"{method} failed: {msg['error']}")
        return arrived, msg.get("result")

    # -- receiving ------------------------------------------------------------------------------
    def _read_one(self, deadline: float) -> tuple[float, dict]:
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end >= 0:
                length = None
                for line in bytes(self.buf[:head_end]).split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    raise ServerGone(f"bad header: {bytes(self.buf[:head_end])!r}")
                total = head_end + 4 + length
                if len(self.buf) >= total:
                    arrived = time.perf_counter()  # before decoding: the client's own cost
                    body = bytes(self.buf[head_end + 4 : total])
                    del self.buf[:total]
                    return arrived, json.loads(body)
            left = deadline - time.perf_counter()
            if left <= 0:
                raise ServerGone("timed out waiting for the server")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    raise ServerGone(f"the server exited ({self.proc.poll()})")
                self.buf += chunk

    def _handle(self, msg: dict) -> None:
        """Answer requests from the server (progress tokens, configuration) so it never waits."""
        if "method" in msg and "id" in msg:
            method = msg["method"]
            result: Any = None
            if method == "workspace/configuration":
                result = [None for _ in msg.get("params", {}).get("items", [])]
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})

    def wait(self, match, timeout: float = 60) -> tuple[float, dict]:
        """The first message (earlier unmatched ones first) for which `match` is true, with the
        time it arrived."""
        for i, (t, msg) in enumerate(self.backlog):
            if match(msg):
                del self.backlog[i]
                return t, msg
        deadline = time.perf_counter() + timeout
        while True:
            t, msg = self._read_one(deadline)
            self._handle(msg)
            if match(msg):
                return t, msg
            if msg.get("method") not in ("window/logMessage", "$/progress", "window/showMessage"):
                self.backlog.append((t, msg))
                del self.backlog[:-200]

    def settle(self, match, first: tuple[float, dict], quiet: float) -> tuple[float, dict]:
        """After `first`, a (time, message) matching `match`: the last of the matching messages
        that follow it, each within `quiet` seconds of the one before, and when it arrived (a
        server that publishes the first lines of a file first, then the whole)."""
        last = first
        while True:
            try:
                last = self.wait(match, timeout=quiet)
            except ServerGone:
                if self.proc.poll() is not None:
                    raise
                return last

    def drain(self, seconds: float) -> None:
        """Read (and answer) whatever the server sends during `seconds`."""
        deadline = time.perf_counter() + seconds
        try:
            while True:
                _, msg = self._read_one(deadline)
                self._handle(msg)
                if msg.get("method") not in ("window/logMessage", "$/progress"):
                    self.backlog.append((0.0, msg))
                    del self.backlog[:-200]
        except ServerGone:
            if self.proc.poll() is not None:
                raise

    # -- lifecycle ------------------------------------------------------------------------------
    def initialize(self, root: Path, options: dict | None = None, capabilities: dict | None = None):
        """Initialize; the time the answer arrived is kept in `initialized_at`."""
        self.initialized_at, result = self.request_timed(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": capabilities
                or {
                    "textDocument": {
                        "synchronization": {"didSave": True},
                        "publishDiagnostics": {"versionSupport": True},
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                    },
                    "general": {"positionEncodings": ["utf-16"]},
                },
                "initializationOptions": options or {},
            },
        )
        self.notify("initialized", {})
        return result

    def peak_rss_kb(self) -> dict[str, int]:
        """VmHWM (peak) and VmRSS (now) of the server process, in kB."""
        out = {}
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in ("VmHWM", "VmRSS"):
                    out[name] = int(value.split()[0])
        except OSError:
            pass
        return out

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
                self.proc.wait(timeout=10)
        except (ServerGone, OSError, subprocess.TimeoutExpired, RuntimeError):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.stderr.close()
            for stream in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
