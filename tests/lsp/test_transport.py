"""`sql-lsp --tcp HOST:PORT --log-file PATH`: the server on a socket, logging to a file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read(sock: socket.socket) -> dict:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.startswith(b"Content-Length")
    )
    while len(rest) < length:
        rest += sock.recv(4096)
    return json.loads(rest[:length])


def test_tcp_and_log_file(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sql_lsp", "--tcp", f"127.0.0.1:{port}", "--log-file", str(log)]
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen"
                time.sleep(0.1)
        with sock:
            init = {"processId": None, "rootUri": None, "capabilities": {}}
            sock.sendall(
                _message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
            )
            answer = _read(sock)
            assert answer["id"] == 1
            assert answer["result"]["serverInfo"]["name"] == "sql-lsp"
            sock.sendall(_message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
            assert _read(sock)["id"] == 2
            sock.sendall(_message({"jsonrpc": "2.0", "method": "exit"}))
        assert proc.wait(timeout=5) == 0
        assert log.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_tcp_needs_host_and_port() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sql_lsp", "--tcp", "nonsense"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "sql-lsp: --tcp expects HOST:PORT, got 'nonsense'"
