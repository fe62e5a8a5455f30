"""Rename a table or column in a new migration: the refactor code action, its command and the
WorkspaceEdit the client is asked to apply."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Union

import pytest
from lsp_helpers import PROFILES, capabilities, encoding, open_doc, pos, rng, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

USERS = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"
INDEX = "CREATE INDEX users_email_idx ON users (email);\n"
QUERIES = "SELECT u.email FROM users u;\nSELECT email FROM users WHERE id = 1;\n"
VIEWS = "CREATE VIEW emails AS SELECT users.email FROM users;\n"
COMMAND = "sql-lsp.renameInMigration"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "sql-lsp.toml").write_text("")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_users.sql").write_text(USERS)
    (tmp_path / "migrations" / "002_email_idx.sql").write_text(INDEX)
    (tmp_path / "views.sql").write_text(VIEWS)  # on disk, not open
    return tmp_path


def applied_edits(client: LanguageClient) -> list[T.ApplyWorkspaceEditParams]:
    """Record the edits the server asks to apply. (Also: read a code action carrying a command
    as a CodeAction; lsprotocol's client-side hook takes any item with a `command` key for a
    Command, whereas an editor tells them apart by the key's type.)"""
    converter = client.protocol._converter

    def command_or_action(item: Any, _: type) -> T.Command | T.CodeAction:
        kind = T.Command if isinstance(item.get("command"), str) else T.CodeAction
        return converter.structure(item, kind)

    converter.register_structure_hook(T.Command | T.CodeAction, command_or_action)
    converter.register_structure_hook(Union[T.Command, T.CodeAction], command_or_action)  # noqa: UP007
    received: list[T.ApplyWorkspaceEditParams] = []

    @client.feature(T.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
        received.append(params)
        return T.ApplyWorkspaceEditResult(applied=True)

    return received


async def actions_at(client, u: str, offset: int, enc: str, only=None) -> list[T.CodeAction]:
    p = pos(QUERIES, offset, enc)
    got = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=u),
            range=T.Range(start=p, end=p),
            context=T.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [a for a in got or [] if isinstance(a, T.CodeAction) and a.kind == "refactor.rewrite"]


def at(needle: str, nth: int = 0) -> int:
    return [m.start() for m in re.finditer(re.escape(needle), QUERIES)][nth] + 1


@pytest.mark.parametrize("caps", PROFILES)
async def test_rename_a_column_in_a_new_migration(
    client: LanguageClient, workspace: Path, caps: str
) -> None:
    received = applied_edits(client)
    await start(client, workspace, caps)
    enc = encoding(client)
    q = workspace / "q.sql"
    await open_doc(client, q, QUERIES, version=3)
    qu = uri(q)

    (action,) = await actions_at(client, qu, at("email"), enc)
    title = "Rename column users.email in a new migration…"
    line, character = 0, at("email")
    assert action == T.CodeAction(
        title=title,
        kind=T.CodeActionKind.RefactorRewrite,
        command=T.Command(
            title=title,
            command=COMMAND,
            arguments=(
                {"uri": qu, "position": {"line": line, "character": character}, "name": "email"},
            ),
        ),
    )
    assert action.command is not None
    argument = {**action.command.arguments[0], "newName": "address"}
    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=COMMAND, arguments=[argument])
    )
    new = uri(workspace / "migrations") + "/003_rename_users_email_to_address.sql"
    assert answer == {"applied": True, "files": [new]}
    (params,) = received
    assert params.label == "Rename email in a new migration"
    assert params.metadata == T.WorkspaceEditMetadata(is_refactoring=True)
    origin = T.Position(line=0, character=0)

    def word(text: str, line: int, column: int, n: int) -> T.Range:
        start = sum(len(x) + 1 for x in text.split("\n")[:line]) + column
        return rng(text, start, start + n, enc)

    as_json = client.protocol._converter.unstructure
    # VS Code announces changeAnnotationSupport: every change needs confirmation (the refactor
    # preview); Neovim does not: plain edits
    annotated = caps == "visual-studio-code"

    def ann(item: dict, annotation: str) -> dict:
        return {**item, "annotationId": annotation} if annotated else item

    def edit(r: T.Range, text: str, annotation: str) -> dict:
        return ann({"range": as_json(r), "newText": text}, annotation)

    def doc_edit(u: str, version: int | None, edits: list[dict]) -> dict:
        return {"textDocument": {"uri": u, "version": version}, "edits": edits}

    new_id, uses_id = "sql-lsp.newMigration", "sql-lsp.renamedUses"
    expected: dict = {
        "documentChanges": [
            ann(
                {
                    "kind": "create",
                    "uri": new,
                    "options": {"overwrite": False, "ignoreIfExists": False},
                },
                new_id,
            ),
            doc_edit(
                new,
                None,
                [
                    edit(
                        T.Range(start=origin, end=origin),
                        "ALTER TABLE users RENAME COLUMN email TO address;\n",
                        new_id,
                    )
                ],
            ),
            # the open query file at its version; the view on disk; not the two migrations
            doc_edit(
                qu,
                3,
                [
                    edit(word(QUERIES, 0, 9, 5), "address", uses_id),
                    edit(word(QUERIES, 1, 7, 5), "address", uses_id),
                ],
            ),
            doc_edit(
                uri(workspace / "views.sql"),
                None,
                [edit(word(VIEWS, 0, 35, 5), "address", uses_id)],
            ),
        ]
    }
    if annotated:
        expected["changeAnnotations"] = {
            new_id: {
                "label": "New migration",
                "needsConfirmation": True,
                "description": "The ALTER TABLE … RENAME, in a new migration file",
            },
            uses_id: {
                "label": "Renamed uses outside the migrations",
                "needsConfirmation": True,
                "description": "Old migrations are left as they are",
            },
        }
    assert as_json(params.edit) == expected


@pytest.mark.parametrize("caps", PROFILES)
async def test_rename_a_table_and_when_it_is_not_offered(
    client: LanguageClient, workspace: Path, caps: str
) -> None:
    received = applied_edits(client)
    await start(client, workspace, caps)
    enc = encoding(client)
    q = workspace / "q.sql"
    await open_doc(client, q, QUERIES)
    qu = uri(q)
    (action,) = await actions_at(client, qu, at("users"), enc, only=[T.CodeActionKind.Refactor])
    assert action.title == "Rename table users in a new migration…"
    assert await actions_at(client, qu, at("users"), enc, only=[T.CodeActionKind.QuickFix]) == []
    assert await actions_at(client, qu, at("SELECT"), enc) == []  # a keyword
    assert action.command is not None
    argument = action.command.arguments[0]

    # PostgreSQL would refuse: the answer says why, nothing is applied
    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=COMMAND, arguments=[{**argument, "newName": "USERS"}])
    )
    assert answer == {"applied": False, "error": "The table is already named USERS."}
    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=COMMAND, arguments=[argument])
    )
    assert answer == {"applied": False, "error": 'The command needs the new name as "newName".'}
    assert received == []

    answer = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=COMMAND, arguments=[{**argument, "newName": "Accounts"}])
    )
    new = uri(workspace / "migrations") + "/003_rename_users_to_accounts.sql"
    assert answer == {"applied": True, "files": [new]}
    (params,) = received
    changes = params.edit.document_changes or []
    assert [type(c).__name__ for c in changes] == ["CreateFile"] + ["TextDocumentEdit"] * 3
    assert changes[1].edits[0].new_text == "ALTER TABLE users RENAME TO Accounts;\n"


async def test_not_offered_to_a_client_that_cannot_create_files(
    client: LanguageClient, workspace: Path
) -> None:
    caps = capabilities("visual-studio-code")
    assert caps.workspace is not None and caps.workspace.workspace_edit is not None
    caps.workspace.workspace_edit.resource_operations = [T.ResourceOperationKind.Rename]
    await start(client, workspace, caps)
    q = workspace / "q.sql"
    await open_doc(client, q, QUERIES)
    assert await actions_at(client, uri(q), at("email"), encoding(client)) == []
