"""Completion for the server: the core's items converted for what the client supports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as T

from sql_lsp.completion import complete, documentation
from sql_lsp.lsp import convert

if TYPE_CHECKING:
    from sql_lsp.lsp.server import SqlLanguageServer

# completion items carry their documentation inline (clients that do not resolve it) up to this many
INLINE_DOCS_MAX = 100


def complete_at(ls: SqlLanguageServer, params: T.CompletionParams) -> T.CompletionList | None:
    doc = ls.project.document(ls.key(params.text_document.uri))
    if doc is None:
        return None
    enc = ls.encoding
    offset = doc.lines.offset(params.position.line, params.position.character, enc)
    catalog = ls.project.catalog
    result = complete(doc, offset, catalog, ls.completion_cache)
    support = convert.CompletionSupport(
        snippets=bool(ls.capability("text_document.completion.completion_item.snippet_support")),
        insert_replace=bool(
            ls.capability("text_document.completion.completion_item.insert_replace_support")
        ),
        item_defaults=frozenset(
            ls.capability("text_document.completion.completion_list.item_defaults") or ()
        ),
        lazy_documentation="documentation"
        in (
            ls.capability("text_document.completion.completion_item.resolve_support.properties")
            or ()
        ),
    )
    inline = (
        None
        if len(result.items) > INLINE_DOCS_MAX
        else (lambda ref: ls.redactor(documentation(ref, catalog, ls.project.locate)))
    )
    return convert.completion_list(doc, result, enc, support, inline)


def resolve(ls: SqlLanguageServer, item: T.CompletionItem) -> T.CompletionItem:
    """The documentation of a table or column item (what its hover shows)."""
    ref = item.data.get("ref") if isinstance(item.data, dict) else None
    if isinstance(ref, list) and all(isinstance(r, str) for r in ref):
        text = documentation(tuple(ref), ls.project.catalog, ls.project.locate)
        if text:
            item.documentation = T.MarkupContent(
                kind=T.MarkupKind.Markdown, value=ls.redactor(text)
            )
    return item
