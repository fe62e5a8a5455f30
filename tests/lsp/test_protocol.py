"""The base protocol and the lifecycle by the spec, over real pipes with raw bytes.

Framing errors (a Content-Length too short or too long, a garbage header, a body that is not
JSON) are recovered from: the server reads on from the next `Content-Length` header and logs one
line. Requests before `initialize` fail with ServerNotInitialized (-32002), requests after
`shutdown` with InvalidRequest (-32600); `exit` ends the process with 0 after `shutdown`, 1
without."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from lspclient import LspClient  # the benchmarks' raw JSON-RPC client

NOT_INITIALIZED, INVALID_REQUEST, PARSE_ERROR = -32002, -32600, -32700


class RawClient(LspClient):
    """The server on pipes, its stderr kept in a file, raw bytes written as they are given."""

    def __init__(self, root: Path) -> None:
        self.log = root / "stderr.log"
        self.stderr = open(self.log, "wb")  # noqa: SIM115 - closed in close()
        self.cmd = [sys.executable, "-m", "sql_lsp"]
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, cwd=root
        )
        self.fd = self.proc.stdout.fileno()
        self.buf = bytearray()
        self.next_id = 0
        self.backlog = []

    def raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def answer(self, ident: int | None, timeout: float = 30) -> dict:
        _, msg = self.wait(lambda m: m.get("id") == ident and "method" not in m, timeout)
        return msg

    def exit_code(self, timeout: float = 20) -> int:
        return self.proc.wait(timeout=timeout)

    def stderr_text(self) -> str:
        self.stderr.flush()
        return self.log.read_text(errors="replace")


def _body(ident: int | None, method: str, params: object = None) -> bytes:
    message: dict = {"jsonrpc": "2.0", "method": method}
    if ident is not None:
        message["id"] = ident
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def _framed(body: bytes, length: int | None = None) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body) if length is None else length, body)


SYMBOLS = {"textDocument": {"uri": "file:///nowhere/q.sql"}}


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "sql-lsp.toml").write_text("")
    client = RawClient(tmp_path)
    yield client
    client.close()


def test_requests_before_initialize_fail_and_notifications_are_dropped(
    server: RawClient, tmp_path: Path
) -> None:
    server.raw(_framed(_body(1, "textDocument/documentSymbol", SYMBOLS)))
    assert server.answer(1)["error"]["code"] == NOT_INITIALIZED
    # shutdown before initialize is refused too: initialize still works afterwards
    server.raw(_framed(_body(2, "shutdown")))
    assert server.answer(2)["error"]["code"] == NOT_INITIALIZED
    uri = (tmp_path / "early.sql").as_uri()
    text = "CREATE TABLE t (a int);\n"
    item = {"uri": uri, "languageId": "sql", "version": 1, "text": text}
    server.notify("textDocument/didOpen", {"textDocument": item})  # dropped
    result = server.initialize(tmp_path)
    assert result["serverInfo"]["name"] == "sql-lsp"
    # the early didOpen was dropped: the document is not open (opened now, it has a symbol)
    assert not server.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    server.notify("textDocument/didOpen", {"textDocument": item})
    symbols = server.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [s["name"] for s in symbols] == ["CREATE TABLE t"]
    # a second initialize is an invalid request
    server.raw(_framed(_body(9, "initialize", {"processId": None, "capabilities": {}})))
    assert server.answer(9)["error"]["code"] == INVALID_REQUEST
    assert server.request("shutdown", None) is None
    server.notify("exit", None)
    assert server.exit_code() == 0


def test_requests_after_shutdown_fail_with_invalid_request(
    server: RawClient, tmp_path: Path
) -> None:
    server.initialize(tmp_path)
    assert server.request("shutdown", None) is None
    for ident, method in [(20, "textDocument/documentSymbol"), (21, "shutdown")]:
        server.raw(_framed(_body(ident, method, SYMBOLS if ident == 20 else None)))
        assert server.answer(ident)["error"]["code"] == INVALID_REQUEST
    server.notify("textDocument/didSave", {"textDocument": {"uri": "file:///x.sql"}})  # dropped
    server.notify("exit", None)
    assert server.exit_code() == 0


def test_exit_without_shutdown_exits_with_1(server: RawClient, tmp_path: Path) -> None:
    server.initialize(tmp_path)
    server.notify("exit", None)
    assert server.exit_code() == 1


def test_exit_before_initialize_exits_with_1(server: RawClient) -> None:
    server.notify("exit", None)
    assert server.exit_code() == 1


def test_end_of_input_without_shutdown_exits_with_1(server: RawClient, tmp_path: Path) -> None:
    server.initialize(tmp_path)
    server.proc.stdin.close()
    assert server.exit_code() == 1


def _logged(server: RawClient, line: str) -> int:
    return server.stderr_text().count(line)


def test_a_wrong_content_length_is_recovered_from(server: RawClient, tmp_path: Path) -> None:
    # one server through every case: each recovery leaves it ready for the next
    server.initialize(tmp_path)
    ident = 10
    for delta in [-5, -1, -40, 1, 5, 13, 14, 40]:
        broken = _body(ident, "textDocument/documentSymbol", SYMBOLS)
        server.raw(_framed(broken, len(broken) + delta))
        if delta < 0:  # the body was cut short: it is not JSON, and its rest is skipped
            line = f"skipped {-delta} bytes that were not a message"
            before = _logged(server, line)
            assert server.answer(None)["error"]["code"] == PARSE_ERROR
            server.raw(_framed(_body(ident + 1, "textDocument/documentSymbol", SYMBOLS)))
            assert server.answer(ident + 1)["result"] == []
            assert _logged(server, line) == before + 1
        else:  # the body ends where the next header starts: both messages are answered
            line = f"a message was {delta} bytes shorter than its Content-Length"
            before = _logged(server, line)
            server.raw(_framed(_body(ident + 1, "textDocument/documentSymbol", SYMBOLS)))
            assert server.answer(ident)["result"] == []
            assert server.answer(ident + 1)["result"] == []
            assert _logged(server, line) == before + 1
        ident += 2
    assert server.request("shutdown", None) is None
    server.notify("exit", None)
    assert server.exit_code() == 0


def test_exit_after_a_short_content_length_is_heard(server: RawClient, tmp_path: Path) -> None:
    # the case that left the server deaf for good: 5 bytes short, then exit
    server.initialize(tmp_path)
    broken = _body(2, "textDocument/documentSymbol", SYMBOLS)
    server.raw(_framed(broken, len(broken) - 5))
    server.notify("exit", None)
    assert server.exit_code() == 1


def test_a_garbage_header_is_skipped(server: RawClient, tmp_path: Path) -> None:
    server.initialize(tmp_path)
    cases = [
        (b"Garbage\r\n", "skipped 9 bytes that were not a message"),
        (b"Content-Length: many\r\n\r\n{}", "skipped an unreadable header: b'Content-Length: many"),
        (
            b"Content-Length: 99999999999\r\n\r\n",
            "skipped an unreadable header: b'Content-Length: 9",
        ),
        (b"\x00\xff\xfe binary \x00", "skipped 12 bytes that were not a message"),
    ]
    for ident, (junk, logged) in enumerate(cases, 5):
        server.raw(junk + _framed(_body(ident, "textDocument/documentSymbol", SYMBOLS)))
        assert server.answer(ident)["result"] == []
        assert _logged(server, logged) == 1
    assert server.request("shutdown", None) is None
    server.notify("exit", None)
    assert server.exit_code() == 0


def test_a_body_that_is_not_json_is_answered_with_a_parse_error(
    server: RawClient, tmp_path: Path
) -> None:
    server.initialize(tmp_path)
    bodies = [b"this is not JSON", b'{"jsonrpc": "2.0", "id": 4,', b"\xff\xfe"]
    for ident, body in enumerate(bodies, 6):
        server.raw(_framed(body))
        assert server.answer(None)["error"]["code"] == PARSE_ERROR
        server.raw(_framed(_body(ident, "textDocument/documentSymbol", SYMBOLS)))
        assert server.answer(ident)["result"] == []
        assert _logged(server, f"a message is not JSON ({len(body)} bytes)") == 1
    assert server.request("shutdown", None) is None
    server.notify("exit", None)
    assert server.exit_code() == 0


def test_end_of_input_in_the_middle_of_a_message_ends_the_process(
    server: RawClient, tmp_path: Path
) -> None:
    server.initialize(tmp_path)
    server.raw(b"Content-Length: 500\r\n\r\n{")
    os.close(server.proc.stdin.fileno())
    assert server.exit_code() == 1
    assert "the client closed the connection in the middle of a message" in server.stderr_text()
