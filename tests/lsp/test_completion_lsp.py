"""Completion through the language server: the shapes each recorded client takes (itemDefaults,
insert/replace edits, snippets), and documentation by completionItem/resolve."""

from __future__ import annotations

import pytest
from lsp_helpers import PROFILES, capabilities, encoding, open_doc, pos, rng, start, uri
from lsprotocol import types as T
from pytest_lsp import LanguageClient

USERS_DOC = "**table** `public.users` — declared in `schema.sql:1`"


async def complete(client: LanguageClient, u: str, text: str, at: int) -> T.CompletionList:
    result = await client.text_document_completion_async(
        T.CompletionParams(
            text_document=T.TextDocumentIdentifier(uri=u), position=pos(text, at, encoding(client))
        )
    )
    assert isinstance(result, T.CompletionList)
    return result


def top(result: T.CompletionList, n: int) -> list[str]:
    ordered = sorted(result.items, key=lambda i: i.sort_text or i.label)
    return [i.label for i in ordered[:n]]


def by_label(result: T.CompletionList, label: str) -> T.CompletionItem:
    return next(i for i in result.items if i.label == label)


@pytest.mark.parametrize("caps", PROFILES)
async def test_columns_after_alias_dot(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    text = "SELECT u.emai FROM users u"
    q = project / "q.sql"
    await open_doc(client, q, text)
    enc = encoding(client)
    at = text.index("emai") + 2  # inside the word: `em|ai`
    result = await complete(client, uri(q), text, at)
    assert top(result, 4) == ["email", "username"]  # the letters typed, `em`, in order
    email = by_label(result, "email")
    assert email.kind == T.CompletionItemKind.Field
    assert email.detail == "text indexed · users"
    s = text.index("emai")
    if caps == "neovim":  # itemDefaults.editRange, no insert/replace support
        assert result.item_defaults == T.CompletionItemDefaults(edit_range=rng(text, s, at, enc))
        assert email.text_edit is None and email.text_edit_text is None
        assert email.documentation is not None  # resolve cannot give it: sent inline
        assert email.documentation.value.startswith("**column** `public.users.email` `text`")
    else:  # VS Code: an insert/replace edit on every item, documentation on resolve
        assert result.item_defaults is None
        assert email.text_edit == T.InsertReplaceEdit(
            new_text="email", insert=rng(text, s, at, enc), replace=rng(text, s, s + 4, enc)
        )
        assert email.documentation is None
        resolved = await client.completion_item_resolve_async(email)
        assert resolved.documentation == T.MarkupContent(
            kind=T.MarkupKind.Markdown,
            value="**column** `public.users.email` `text`\nNOT NULL, declared in `schema.sql:3`"
            "\n\n**Indexed by**\n\n- `users_email_key (UNIQUE) (email)` (leading)\n",
        )


@pytest.mark.parametrize("caps", PROFILES)
async def test_tables_join_condition_and_functions(client: LanguageClient, project, caps) -> None:
    await start(client, project, caps)
    text = (
        "SELECT * FROM us\n;\nSELECT * FROM users u JOIN orders o ON \n;\nSELECT low FROM users;\n"
    )
    q = project / "q.sql"
    await open_doc(client, q, text)
    tables = await complete(client, uri(q), text, text.index("us\n") + 2)
    assert top(tables, 3) == ["users"]  # filtered by what was typed
    assert tables.is_incomplete is False
    users = by_label(tables, "users")
    assert users.kind == T.CompletionItemKind.Class
    assert users.detail == "table (id, email, username, created_at)"
    if caps != "neovim":
        resolved = await client.completion_item_resolve_async(users)
        assert resolved.documentation is not None
        assert resolved.documentation.value.startswith(USERS_DOC)

    join = await complete(client, uri(q), text, text.index("ON \n") + 3)
    assert top(join, 2) == ["o.user_id = u.id", "u.id"]
    # a snippet: Neovim's built-in completion inserts a plain text only up to its first space
    cond = by_label(join, "o.user_id = u.id")
    assert cond.insert_text_format == T.InsertTextFormat.Snippet
    new_text = cond.text_edit.new_text if cond.text_edit else cond.text_edit_text
    assert new_text == "o.user_id = u.id$0"

    funcs = await complete(client, uri(q), text, text.index("low") + 3)
    lower = by_label(funcs, "lower")
    assert lower.insert_text_format == T.InsertTextFormat.Snippet
    new_text = lower.text_edit.new_text if lower.text_edit else lower.text_edit_text
    assert new_text == "lower($1)$0"


async def test_plain_client_gets_plain_edits(client: LanguageClient, project) -> None:
    """A client without snippets, insert/replace or itemDefaults: TextEdits and plain text."""
    caps = capabilities("visual-studio-code")
    item = caps.text_document.completion.completion_item
    item.snippet_support = False
    item.insert_replace_support = False
    item.resolve_support = None
    await start(client, project, caps)
    text = "SELECT low, em FROM users"
    q = project / "q.sql"
    await open_doc(client, q, text)
    enc = encoding(client)
    at = text.index("low") + 3
    result = await complete(client, uri(q), text, at)
    assert result.item_defaults is None
    lower = by_label(result, "lower")
    assert lower.insert_text_format is None
    assert lower.text_edit == T.TextEdit(range=rng(text, at - 3, at, enc), new_text="lower(")
    email = by_label(await complete(client, uri(q), text, text.index("em ") + 2), "email")
    assert email.data is None and email.documentation is not None  # inline documentation
