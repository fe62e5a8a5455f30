"""`initialize` answered before the server is imported (sql_lsp/lsp/early.py): the same answer
pygls builds, exactly once, and nothing the client sent is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import SERVER
from lsprotocol import types as T
from pytest_lsp import client_capabilities

from sql_lsp.lsp import early
from sql_lsp.lsp.server import server

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from lspclient import LspClient

CLIENTS = ["visual-studio-code", "neovim", "emacs"]
SHAPES: dict[str, dict[str, Any]] = {
    "bare": {},
    "utf-32 first": {"general": {"positionEncodings": ["utf-32", "utf-16"]}},
    "unknown encodings": {"general": {"positionEncodings": ["utf-7"]}},
    "will save": {"textDocument": {"synchronization": {"willSave": True}}},
    "will not save": {
        "textDocument": {"synchronization": {"willSave": False, "willSaveWaitUntil": False}}
    },
}


def pygls_answer(capabilities: dict[str, Any]) -> dict[str, Any]:
    """What pygls answers to `initialize` for this server's features (its own code, in-process)."""
    proto = server.protocol
    params = proto._converter.structure(
        {"processId": None, "rootUri": None, "capabilities": capabilities}, T.InitializeParams
    )
    steps = proto.lsp_initialize(params)
    next(steps)  # the server's own initialize handler: it declares no capability
    with pytest.raises(StopIteration) as done:
        steps.send(None)
    return json.loads(json.dumps(done.value.value, default=proto._serialize_message))


def recorded(name: str) -> dict[str, Any]:
    return server.protocol._converter.unstructure(client_capabilities(name))


@pytest.mark.parametrize("name", CLIENTS + list(SHAPES))
def test_the_early_answer_is_the_one_pygls_builds(name: str) -> None:
    caps = SHAPES[name] if name in SHAPES else recorded(name)
    expected = pygls_answer(caps)
    params = {"processId": None, "rootUri": None, "capabilities": caps}
    assert early.initialize_result(params) == expected, (
        "the server's capabilities changed: update CAPABILITIES in sql_lsp/lsp/early.py to\n"
        + json.dumps(pygls_answer({})["capabilities"], indent=4)
    )


@pytest.mark.parametrize(
    "params",
    [
        None,
        [],
        {"capabilities": None},
        {"capabilities": {"general": 5}},
        {"capabilities": {"general": {"positionEncodings": "utf-8"}}},
        {"capabilities": {"textDocument": {"synchronization": {"willSave": "yes"}}}},
    ],
)
def test_unusual_params_are_left_to_the_server(params: Any) -> None:
    assert early.initialize_result(params) is None


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_all(data: bytes) -> list[dict[str, Any]]:
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if b"Content-Length" in line
        )
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


class Session:
    """The server on a pipe, fed raw bytes; every message it writes is kept in `seen`."""

    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "server.log"
        env = {k: v for k, v in os.environ.items() if k != "SQL_LSP_DATABASE_URL"}
        self.client = LspClient([*SERVER, "--log-file", str(self.log)], cwd=tmp_path, env=env)
        self.seen: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.client.proc.stdin.write(data)
        self.client.proc.stdin.flush()

    def until(self, done: Any) -> None:
        def match(message: dict[str, Any]) -> bool:
            self.seen.append(message)
            return bool(done(message))

        self.client.wait(match, timeout=120)
        self.client.backlog.clear()  # each message is in `seen` once

    def stop(self) -> None:
        """shutdown (answered) and exit (exit code 0); no mismatch was logged."""
        self.write(frame({"jsonrpc": "2.0", "id": 99, "method": "shutdown"}))
        self.until(lambda m: m.get("id") == 99)
        last = self.seen[-1]
        # a server that never got initialized refuses shutdown (-32002) and exits with 1
        refused = last.get("error", {}).get("code") == -32002
        assert refused or last == {"jsonrpc": "2.0", "id": 99, "result": None}
        self.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        assert self.client.proc.wait(timeout=30) == (1 if refused else 0)
        self.client.close()
        log = self.log.read_text() if self.log.exists() else ""
        assert "answered early with different capabilities" not in log


def test_initialize_is_answered_once_and_what_follows_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    doc = (tmp_path / "q.sql").as_uri()
    caps = recorded("neovim")
    init = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": caps}
    opened = {
        "textDocument": {
            "uri": doc,
            "languageId": "sql",
            "version": 1,
            "text": "SELECT * FROM t;\n",
        }
    }
    s = Session(tmp_path)
    s.write(  # all in one write: the messages after initialize arrive with it
        frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        + frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        + frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": opened})
    )
    s.until(lambda m: m.get("method") == "textDocument/publishDiagnostics")
    s.stop()
    answers = [m for m in s.seen if m.get("id") == 1 and "method" not in m]
    assert answers == [{"jsonrpc": "2.0", "id": 1, "result": pygls_answer(caps)}]
    assert s.seen[0] == answers[0]  # before anything else
    assert answers[0]["result"]["capabilities"]["positionEncoding"] == "utf-8"
    published = [
        m["params"] for m in s.seen if m.get("method") == "textDocument/publishDiagnostics"
    ]
    assert published[-1]["uri"] == doc
    assert [d["code"] for d in published[-1]["diagnostics"]] == ["select-star"]


def test_params_it_does_not_handle_get_the_servers_own_answer(tmp_path: Path) -> None:
    init = {"processId": None, "rootUri": None, "capabilities": {"general": 5}}
    s = Session(tmp_path)
    s.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}))
    s.until(lambda m: m.get("id") == 1)
    s.stop()
    answers = [m for m in s.seen if m.get("id") == 1]
    assert len(answers) == 1
    assert answers[0]["error"]["code"] == -32602


def test_a_first_message_that_is_not_initialize_reaches_the_server(tmp_path: Path) -> None:
    """Also a header written apart from its body: whatever was read is handed over."""
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {}})
    s = Session(tmp_path)
    s.write(b"Content-Length: %d\r\n" % len(body))
    s.write(b"\r\n" + body.encode())
    s.until(lambda m: m.get("id") == 7)
    s.stop()
    answers = [m for m in s.seen if m.get("id") == 7]
    assert len(answers) == 1 and answers[0]["error"]["code"] == -32602


def test_garbage_first_is_not_answered_and_the_server_stops(tmp_path: Path) -> None:
    proc = subprocess.run(
        SERVER, input=b"Content-Length: x\r\n\r\n", capture_output=True, timeout=120
    )
    assert proc.stdout == b""


def test_stdin_that_is_not_a_pipe_is_served_as_before(tmp_path: Path) -> None:
    init = {"processId": None, "rootUri": None, "capabilities": {}}
    data = frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
    data += frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    data += frame({"jsonrpc": "2.0", "method": "exit"})
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    with source.open("rb") as stdin:
        proc = subprocess.run(SERVER, stdin=stdin, capture_output=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0
    out = read_all(proc.stdout)
    assert [m["id"] for m in out if "id" in m] == [1, 2]
    assert out[0]["result"] == early.initialize_result(init)
