"""Hostile clients: out-of-range positions and ranges, malformed params, unknown methods, random
edits. The server must answer every request (a result or an error), keep its text in step with the
client's, and end cleanly.

The differential fuzzer (fuzzing.py) checks that incremental state equals a fresh open after every
edit: in the core (many edits) and through the real server (fewer, in each position encoding).
Its length comes from SQL_LSP_FUZZ_EDITS and SQL_LSP_FUZZ_SERVER_EDITS (`scripts/fuzz` sets them
for the long run); the defaults keep it to a few seconds."""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest
from fuzzing import (
    SCHEMA,
    SEEDS,
    URI,
    CoreRun,
    Divergence,
    Edits,
    Reference,
    fresh_diagnostics,
    join_surrogates,
    runs,
)
from lsp_helpers import change, encoding, mark, open_doc, published, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from lspclient import LspClient  # the benchmarks' raw JSON-RPC client: it can send anything

CORE_EDITS = int(os.environ.get("SQL_LSP_FUZZ_EDITS", "3000"))
SERVER_EDITS = int(os.environ.get("SQL_LSP_FUZZ_SERVER_EDITS", "150"))
SEED = int(os.environ.get("SQL_LSP_FUZZ_SEED", "20261201"))


def _report(what: str, edits: int, seconds: float) -> None:
    """One line for `scripts/fuzz` (shown with pytest -s)."""
    per = 1000 * seconds / max(edits, 1)
    print(f"\nfuzz {what}: {edits} edits in {seconds:.1f} s ({per:.2f} s per 1,000 edits)")


def test_core_incremental_state_equals_a_fresh_open() -> None:
    began = time.perf_counter()
    done = sum(run.count for run in runs(SEED, CORE_EDITS))
    _report("core (utf-8, utf-16, utf-32)", done, time.perf_counter() - began)
    assert done >= CORE_EDITS


def _range_dict(r: T.Range) -> dict:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


@pytest.mark.parametrize("enc", ["utf-8", "utf-16", "utf-32"])
async def test_server_incremental_diagnostics_equal_a_fresh_open(
    client: LanguageClient, tmp_path: Path, enc: str
) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    schema = tmp_path / "0_schema.sql"
    schema.write_text(SCHEMA)
    await start(client, tmp_path, encodings=[enc])
    assert encoding(client) == enc
    path = tmp_path / "q.sql"
    u = uri(path)
    rng = random.Random(f"{SEED}-{enc}")
    began = time.perf_counter()
    done = 0
    version = 1
    while done < SERVER_EDITS:
        edits = Edits(random.Random(rng.random()), rng.choice(SEEDS))
        version += 1
        await open_doc(client, path, edits.text, version)
        for _ in range(min(40, SERVER_EDITS - done)):
            text = edits.text
            changes = []
            for c in edits.batch():  # each change in the positions of the text before it
                changes.append((Reference(text).range(c.start, c.end, enc), c.text))
                text = join_surrogates(text[: c.start] + c.text + text[c.end :])
                done += 1
            version += 1
            at = mark(client)
            change(client, u, version, *changes)
            got = await published(client, u, version, after=at, timeout=30)
            want = fresh_diagnostics(edits.text, enc, u, uri(schema))
            have = [
                (d.code, _range_dict(d.range), int(d.severity or 0), d.message)
                for d in got.diagnostics
            ]
            assert have == want, f"{enc}, version {version}, text {edits.text!r}"
        client.text_document_did_close(
            T.DidCloseTextDocumentParams(T.TextDocumentIdentifier(uri=u))
        )
    _report(f"server ({enc})", done, time.perf_counter() - began)


def test_the_fuzzer_reports_a_divergence() -> None:
    run = CoreRun(1, "SELECT * FROM users;\n")
    run.run(5)
    # the server's document moves away from the client's text: the next check must say so
    run.project.edit_document(URI, [(0, 0, "\n")], 99)
    with pytest.raises(Divergence, match="not the client's"):
        run.check()
    run = CoreRun(2, "SELECT * FROM users;\n")
    run.check()
    run.project.lint = lambda uri: []  # type: ignore[method-assign]  # stale: nothing found
    with pytest.raises(Divergence, match="findings differ"):
        run.check()


TEXT = """CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
SELECT * FROM users WHERE lower(email) = 'é🙂';
-- sql-lsp: ignore select-star
SELECT * FROM orders;
"""
PIECES = ["", "x", " ", "\n", "\r\n", ";", "'", "$$", "/*", "*/", "é", "🙂", "\x00", "SELECT *"]


def _position(rng: random.Random) -> dict:
    return {
        "line": rng.choice([0, 1, 3, 7, 10_000, 2**31 - 1]),
        "character": rng.choice([0, 1, 5, 40, 10_000, 2**31 - 1]),
    }


def _range(rng: random.Random) -> dict:
    return {"start": _position(rng), "end": _position(rng)}


def _apply(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


@pytest.mark.parametrize("seed", [17, 3, 2024])
def test_hostile_client_does_not_break_the_server(tmp_path: Path, seed: int) -> None:
    (tmp_path / "sql-lsp.toml").write_text("")
    rng = random.Random(seed)
    client = LspClient(cwd=tmp_path)
    try:
        client.initialize(tmp_path, {"diagnostics": {"debounceMs": 0}})
        uri = (tmp_path / "q.sql").as_uri()
        text = TEXT
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "sql", "version": 1, "text": text}},
        )
        doc = {"uri": uri}
        for version in range(2, 200):
            kind = rng.randrange(8)
            if kind < 3:  # an edit at a valid place, in UTF-16 units on a line
                lines = text.split("\n")
                line = rng.randrange(len(lines))
                units = len(lines[line].encode("utf-16-le")) // 2
                a = rng.randrange(units + 1)
                # keep to whole characters: the client would never split a surrogate pair
                prefix = lines[line].encode("utf-16-le")[: a * 2].decode("utf-16-le", "ignore")
                a = len(prefix.encode("utf-16-le")) // 2
                new = rng.choice(PIECES)
                offset = sum(len(x) + 1 for x in lines[:line]) + len(prefix)
                client.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [
                            {
                                "range": {
                                    "start": {"line": line, "character": a},
                                    "end": {"line": line, "character": a},
                                },
                                "text": new,
                            }
                        ],
                    },
                )
                text = _apply(text, offset, offset, new)
            elif kind == 3:
                method = rng.choice(
                    [
                        "textDocument/hover",
                        "textDocument/definition",
                        "textDocument/codeAction",
                        "textDocument/documentSymbol",
                        "textDocument/codeLens",
                    ]
                )
                params: dict = {"textDocument": doc, "position": _position(rng)}
                if method == "textDocument/codeAction":
                    params = {
                        "textDocument": doc,
                        "range": _range(rng),
                        "context": {"diagnostics": []},
                    }
                client.request(method, params, timeout=30)
            elif kind == 4:  # malformed params: an error answer, not a crash
                client.next_id += 1
                ident = client.next_id
                client.send(
                    {
                        "jsonrpc": "2.0",
                        "id": ident,
                        "method": "textDocument/hover",
                        "params": rng.choice(
                            [
                                {"textDocument": {}, "position": "nowhere"},
                                {"textDocument": doc, "position": {"line": -1, "character": 0}},
                                None,
                            ]
                        ),
                    }
                )
                _, msg = client.wait(lambda m, i=ident: m.get("id") == i, 30)
                assert "error" in msg or msg.get("result") is None
            elif kind == 5:  # a method nobody knows
                client.next_id += 1
                ident = client.next_id
                client.send({"jsonrpc": "2.0", "id": ident, "method": "sql/nonsense", "params": {}})
                _, msg = client.wait(lambda m, i=ident: m.get("id") == i, 30)
                assert msg["error"]["code"] == -32601
            elif kind == 6:  # requests about a document that was never opened
                client.request(
                    "textDocument/hover",
                    {"textDocument": {"uri": "file:///nowhere.sql"}, "position": _position(rng)},
                    timeout=30,
                )
            else:  # notifications with junk
                client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
                client.notify("$/cancelRequest", {"id": 999_999})
                client.notify("workspace/didChangeConfiguration", {"settings": "junk"})

        # the server's text is the client's: a fresh open of the same text gives the same findings
        last = client.request("textDocument/documentSymbol", {"textDocument": doc}, timeout=30)
        assert isinstance(last, list)
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 500},
                "contentChanges": [{"text": text}],
            },
        )
        _, incremental = client.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"].get("version") == 500
            ),
            30,
        )
        other = (tmp_path / "copy.sql").as_uri()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": other, "languageId": "sql", "version": 1, "text": text}},
        )
        _, fresh = client.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == other
            ),
            30,
        )

        def without_version(diagnostics: list[dict]) -> list[dict]:
            return [{**d, "data": {**d["data"], "version": None}} for d in diagnostics]

        assert without_version(incremental["params"]["diagnostics"]) == without_version(
            fresh["params"]["diagnostics"]
        )
        assert incremental["params"]["diagnostics"]
        assert client.proc.poll() is None
    finally:
        client.close()
    assert client.proc.returncode == 0
