"""Helpers for the end-to-end language server tests.

Positions are computed here independently of the server (from the text and the negotiated
encoding), so a test states offsets into its own text and checks the exact LSP ranges.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pytest_lsp import LanguageClient, client_capabilities

SERVER = [sys.executable, "-m", "sql_lsp"]
SCHEMA = """CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    username text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_lower_username_idx ON users (lower(username));
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    status text NOT NULL
);
"""
# the two recorded client profiles every behaviour is checked with
PROFILES = ["visual-studio-code", "neovim"]
DOCS = "https://github.com/sql-lsp/sql-lsp/blob/main/docs/rules/{}.md"
TIMEOUT = 10.0


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def capabilities(caps: str | T.ClientCapabilities, encodings: list[str] | None = None):
    value = client_capabilities(caps) if isinstance(caps, str) else caps
    if encodings is not None:
        general = value.general or T.GeneralClientCapabilities()
        general.position_encodings = [T.PositionEncodingKind(e) for e in encodings]
        value.general = general
    return value


async def start(
    client: LanguageClient,
    root: Path,
    caps: str | T.ClientCapabilities = "visual-studio-code",
    *,
    encodings: list[str] | None = None,
    **options: Any,
) -> T.InitializeResult:
    """Initialize the server on `root`; keyword arguments are initializationOptions."""
    options.setdefault("diagnostics", {"debounceMs": 0})
    result = await client.initialize_session(
        T.InitializeParams(
            capabilities=capabilities(caps, encodings),
            root_uri=uri(root),
            workspace_folders=[T.WorkspaceFolder(uri=uri(root), name="project")],
            initialization_options=options,
        )
    )
    enc = result.capabilities.position_encoding
    client.encoding = str(getattr(enc, "value", enc) or "utf-16")  # type: ignore[attr-defined]
    return result


def encoding(client: LanguageClient) -> str:
    return client.encoding  # type: ignore[attr-defined]


# -- positions ----------------------------------------------------------------------------------


def units(s: str, enc: str) -> int:
    if enc == "utf-8":
        return len(s.encode("utf-8"))
    if enc == "utf-16":
        return len(s.encode("utf-16-le")) // 2
    return len(s)


def pos(text: str, offset: int, enc: str = "utf-16") -> T.Position:
    line = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    return T.Position(line=line, character=units(text[line_start:offset], enc))


def rng(text: str, start: int, end: int, enc: str = "utf-16") -> T.Range:
    return T.Range(start=pos(text, start, enc), end=pos(text, end, enc))


def span(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """Offsets of the `nth` occurrence of `needle` in `text`."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return at, at + len(needle)


def range_of(text: str, needle: str, enc: str = "utf-16", nth: int = 0) -> T.Range:
    return rng(text, *span(text, needle, nth), enc)


def offset(text: str, position: T.Position, enc: str = "utf-16") -> int:
    lines = text.split("\n")
    base = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line]
    count = 0
    for i, ch in enumerate(line):
        if count >= position.character:
            return base + i
        count += units(ch, enc)
    return base + len(line)


def apply_edits(text: str, edits: list[T.TextEdit], enc: str = "utf-16") -> str:
    """Apply non-overlapping LSP text edits, all relative to `text`."""
    for start, end, e in _backwards(text, edits, enc):
        text = text[:start] + e.new_text + text[end:]
    return text


def _backwards(text: str, edits: list[T.TextEdit], enc: str):
    """Edits from the end of the text to its start; inserts at one position keep their order."""
    spans = [
        (offset(text, e.range.start, enc), offset(text, e.range.end, enc), i, e)
        for i, e in enumerate(edits)
    ]
    ordered = sorted(spans, key=lambda s: (s[0], s[1], s[2]), reverse=True)
    for (s1, e1, _, _), (s2, _e2, _, _) in zip(ordered[1:], ordered, strict=False):
        assert e1 <= s2 or (s1 == e1 == s2), f"overlapping edits {edits}"
    return [(s, e, x) for s, e, _, x in ordered]


def send_edits(
    client: LanguageClient, uri_: str, version: int, text: str, edits: list[T.TextEdit], enc: str
) -> str:
    """Apply a code action's edits the way an editor does: one didChange whose changes go from
    the end of the document to its start. Returns the new text."""
    changes = []
    for start, end, e in _backwards(text, edits, enc):
        changes.append((rng(text, start, end, enc), e.new_text))
    change(client, uri_, version, *changes)
    return apply_edits(text, edits, enc)


def edits_of(edit: T.WorkspaceEdit | None, uri_: str) -> list[T.TextEdit]:
    """The text edits of a workspace edit for one document, whichever form the server used."""
    assert edit is not None
    out: list[T.TextEdit] = []
    if edit.changes:
        assert set(edit.changes) == {uri_}
        out += list(edit.changes[uri_])
    for change in edit.document_changes or []:
        assert isinstance(change, T.TextDocumentEdit)
        assert change.text_document.uri == uri_
        out += [e for e in change.edits if isinstance(e, T.TextEdit)]
    return out


def edit_version(edit: T.WorkspaceEdit) -> int | None:
    """The document version a versioned edit is pinned to (None for plain `changes`)."""
    for change in edit.document_changes or []:
        return change.text_document.version
    return None


# -- diagnostics --------------------------------------------------------------------------------


def diag(
    text: str,
    start: int,
    end: int,
    rule: str,
    message: str,
    enc: str,
    version: int,
    severity: T.DiagnosticSeverity = T.DiagnosticSeverity.Warning,
    fix: str | None = None,
) -> T.Diagnostic:
    """The diagnostic a user expects for a finding at text[start:end]."""
    return T.Diagnostic(
        range=rng(text, start, end, enc),
        severity=severity,
        code=rule,
        code_description=T.CodeDescription(href=DOCS.format(rule)),
        source="sql-lsp",
        message=message,
        data={"fix": fix, "version": version},
    )


async def published(
    client: LanguageClient,
    uri_: str,
    version: int | None = None,
    after: int = 0,
    timeout: float = TIMEOUT,
) -> T.PublishDiagnosticsParams:
    """The first publishDiagnostics for `uri_` (of `version`, when given) at index >= `after`."""
    log: list[T.PublishDiagnosticsParams] = client.publishes  # type: ignore[attr-defined]
    cond: asyncio.Condition = client.publish_cond  # type: ignore[attr-defined]

    def find() -> T.PublishDiagnosticsParams | None:
        for p in log[after:]:
            if p.uri == uri_ and (version is None or p.version == version):
                return p
        return None

    async def wait() -> T.PublishDiagnosticsParams:
        async with cond:
            await cond.wait_for(lambda: find() is not None)
        found = find()
        assert found is not None
        return found

    return await asyncio.wait_for(wait(), timeout)


def mark(client: LanguageClient) -> int:
    """The index of the next publish (to wait for what comes after an action)."""
    return len(client.publishes)  # type: ignore[attr-defined]


def publishes_for(client: LanguageClient, uri_: str, after: int = 0):
    return [p for p in client.publishes[after:] if p.uri == uri_]  # type: ignore[attr-defined]


async def open_doc(
    client: LanguageClient, path: Path, text: str, version: int = 1, write: bool = False
) -> T.PublishDiagnosticsParams:
    """didOpen a document and return its first publish."""
    if write:
        path.write_text(text, encoding="utf-8")
    at = mark(client)
    client.text_document_did_open(
        T.DidOpenTextDocumentParams(
            T.TextDocumentItem(uri=uri(path), language_id="sql", version=version, text=text)
        )
    )
    return await published(client, uri(path), version, after=at)


def change(
    client: LanguageClient,
    uri_: str,
    version: int,
    *changes: tuple[T.Range, str] | str,
) -> None:
    """didChange with incremental (range, text) changes, or whole-text strings."""
    content: list[Any] = []
    for c in changes:
        if isinstance(c, str):
            content.append(T.TextDocumentContentChangeWholeDocument(text=c))
        else:
            content.append(T.TextDocumentContentChangePartial(range=c[0], text=c[1]))
    client.text_document_did_change(
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri_, version=version),
            content_changes=content,
        )
    )


async def hover(client: LanguageClient, uri_: str, position: T.Position) -> T.Hover | None:
    return await client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri=uri_), position=position)
    )


async def code_actions(
    client: LanguageClient,
    uri_: str,
    range_: T.Range,
    diagnostics: list[T.Diagnostic],
    only: list[str] | None = None,
) -> list[T.CodeAction]:
    result = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=uri_),
            range=range_,
            context=T.CodeActionContext(
                diagnostics=diagnostics,
                only=[T.CodeActionKind(k) if _known(k) else k for k in only] if only else None,
            ),
        )
    )
    out = []
    for item in result or []:
        assert isinstance(item, T.CodeAction)
        out.append(item)
    return out


def _known(kind: str) -> bool:
    return kind in {k.value for k in T.CodeActionKind}
