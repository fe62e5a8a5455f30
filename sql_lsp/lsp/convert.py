"""The one place that builds LSP data from core results (findings, fixes, symbols, outlines).

Diagnostics are serialised straight to JSON text (see DiagnosticCache); everything else uses
lsprotocol types.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types as T

from sql_lsp.completion import Completion
from sql_lsp.document import Document, LineIndex
from sql_lsp.navigation import CatalogSymbol, Fold, OutlineItem
from sql_lsp.rules import RULES_BY_ID
from sql_lsp.rules.base import Edit, Finding, Fix
from sql_lsp.signatures import Help

SOURCE = "sql-lsp"
FIX_ALL = "source.fixAll.sql-lsp"
SEVERITY = {"error": 1, "warning": 2, "info": 3, "hint": 4}
SYMBOL_KIND = {
    "table": T.SymbolKind.Struct,
    "view": T.SymbolKind.Interface,
    "index": T.SymbolKind.Key,
    "function": T.SymbolKind.Function,
    "type": T.SymbolKind.Enum,
    "schema": T.SymbolKind.Namespace,
    "query": T.SymbolKind.Event,
    "dml": T.SymbolKind.Operator,
    "other": T.SymbolKind.Object,
}


def position(doc: Document, offset: int, encoding: str) -> T.Position:
    line, char = doc.lines.position(offset, encoding)
    return T.Position(line=line, character=char)


def to_range(doc: Document, start: int, end: int, encoding: str) -> T.Range:
    return T.Range(start=position(doc, start, encoding), end=position(doc, end, encoding))


def to_offsets(doc: Document, rng: T.Range, encoding: str) -> tuple[int, int]:
    lines = doc.lines
    start = lines.offset(rng.start.line, rng.start.character, encoding)
    end = lines.offset(rng.end.line, rng.end.character, encoding)
    return start, max(start, end)


def _high(ch: str) -> bool:
    return "\ud800" <= ch <= "\udbff"


def _low(ch: str) -> bool:
    return "\udc00" <= ch <= "\udfff"


def change_offsets(doc: Document, rng: T.Range, text: str, encoding: str) -> tuple[int, int, str]:
    """A `didChange` content change as (start, end, new text) in character offsets.

    A UTF-16 client may send half of a surrogate pair at a time, as a JSON escape; a fresh open
    of the same text (one JSON string) decodes the two halves into one character. So a half
    that lands next to its other half is joined with it here, and the document stays the text a
    fresh open would give."""
    start, end = to_offsets(doc, rng, encoding)
    old = doc.text
    if start > 0 and _high(old[start - 1]) and _low((text or old[end : end + 1])[:1] or "x"):
        start -= 1
        text = old[start] + text
    if end < len(old) and _low(old[end]) and _high((text or old[start - 1 : start])[-1:] or "x"):
        text += old[end]
        end += 1
    if any(_high(c) or _low(c) for c in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return start, end, text


def _diagnostic_body(f: Finding) -> str:
    """The JSON of a diagnostic after its range, up to the version in its data (left open)."""
    rule = RULES_BY_ID.get(f.rule)
    href = f',"codeDescription":{{"href":{json.dumps(rule.url)}}}' if rule is not None else ""
    return (
        f'"severity":{SEVERITY.get(f.severity, 2)},"code":{json.dumps(f.rule)},'
        f'"source":"{SOURCE}","message":{json.dumps(f.message)}{href},'
        f'"data":{{"fix":{json.dumps(f.fix_safety)},"version":'
    )


def _ascii_position(lines: LineIndex) -> Callable[[int, str], tuple[int, int]]:
    """`LineIndex.position` for an all-ASCII text: a bisect or two, no encoding work."""
    text = lines.text
    size = len(text)
    base, pivots, cum, firsts = lines.layout()
    if not pivots:

        def plain(offset: int, _encoding: str) -> tuple[int, int]:
            offset = 0 if offset < 0 else size if offset > size else offset
            if text[offset - 1 : offset + 1] == "\r\n":  # inside a CRLF: the end of the line
                offset -= 1
            line = bisect_right(base, offset) - 1
            return line, offset - base[line]

        return plain
    head = pivots[0] + 1
    bounds = [(p + 1, q + 1) for p, q in zip(pivots, [*pivots[1:], len(base) - 1], strict=True)]

    def shifted(offset: int, _encoding: str) -> tuple[int, int]:
        offset = 0 if offset < 0 else size if offset > size else offset
        if text[offset - 1 : offset + 1] == "\r\n":
            offset -= 1
        j = bisect_right(firsts, offset) - 1
        if j < 0:
            line = bisect_right(base, offset, 0, head) - 1
            return line, offset - base[line]
        c = cum[j]
        lo, hi = bounds[j]
        line = bisect_right(base, offset - c, lo, hi) - 1
        return line, offset - c - base[line]

    return shifted


class DiagnosticCache:
    """Serialises one document's diagnostics straight to JSON text.

    Diagnostics are sent on every edit and in bulk; building them through lsprotocol and cattrs
    costs more than the analysis. Each diagnostic's JSON (everything but the version) is kept
    between publishes, and the document says what changed since the last one
    (`Document.change`): a diagnostic before the change, or on a line wholly after it when no
    line break was added or removed, has the same range as before, so only the ones around the
    edit are formatted again.
    """

    def __init__(self) -> None:
        self._bodies: dict[tuple, str] = {}
        self._fragments: dict[tuple, str] = {}
        self._encoding = ""

    def publish_params(
        self, uri: str, doc: Document, findings: list[Finding], encoding: str
    ) -> str:
        """`textDocument/publishDiagnostics` params as ASCII JSON text."""
        old = self._bodies
        bodies: dict[tuple, str] = {}
        lines = doc.lines
        position = lines.position
        if lines.text.isascii():  # every encoding counts one unit per character
            position = _ascii_position(lines)
        change = doc.change
        previous = self._fragments if change is not None and encoding == self._encoding else {}
        first, after, delta = -1, len(doc.text) + 1, 0
        if previous and change is not None:
            first, delta = change.first, change.delta
            if change.last < 0:  # nothing changed
                after = 0
            elif not change.breaks:
                line = lines.line_of(change.last) + 1
                after = lines.line_start(line) if line < len(lines) else len(doc.text) + 1
        fragments: dict[tuple, str] = {}
        version = "null" if doc.version is None else str(int(doc.version))
        parts = []
        for f in findings:
            start, end = f.start, f.end
            ident = (f.rule, f.message, f.severity, f.fix_safety)
            fragment = None
            if end <= first:
                fragment = previous.get((*ident, start, end))
            elif start >= after:
                fragment = previous.get((*ident, start - delta, end - delta))
            if fragment is None:
                body = bodies.get(ident) or old.get(ident)
                if body is None:
                    body = _diagnostic_body(f)
                bodies[ident] = body
                sl, sc = position(start, encoding)
                el, ec = position(end, encoding)
                fragment = (
                    f'{{"range":{{"start":{{"line":{sl},"character":{sc}}},'
                    f'"end":{{"line":{el},"character":{ec}}}}},{body}'
                )
            fragments[(*ident, start, end)] = fragment
            parts.append(f"{fragment}{version}}}}}")
        self._bodies = {**old, **bodies} if len(old) < 4096 else bodies
        self._fragments = fragments
        self._encoding = encoding
        doc.mark()
        head = f'{{"uri":{json.dumps(uri)},'
        if doc.version is not None:
            head += f'"version":{version},'
        return f'{head}"diagnostics":[{",".join(parts)}]}}'


def diagnostic(doc: Document, f: Finding, encoding: str) -> T.Diagnostic:
    rule = RULES_BY_ID.get(f.rule)
    return T.Diagnostic(
        range=to_range(doc, f.start, f.end, encoding),
        severity=T.DiagnosticSeverity(SEVERITY.get(f.severity, 2)),
        code=f.rule,
        code_description=T.CodeDescription(href=rule.url) if rule else None,
        source=SOURCE,
        message=f.message,
        data={"version": doc.version, "fix": f.fix_safety},
    )


def text_edits(
    doc: Document, edits: list[Edit] | tuple[Edit, ...], encoding: str
) -> list[T.TextEdit]:
    return [
        T.TextEdit(range=to_range(doc, e.start, e.end, encoding), new_text=e.text) for e in edits
    ]


def workspace_edit(
    doc: Document, edits: list[Edit] | tuple[Edit, ...], encoding: str, versioned: bool
) -> T.WorkspaceEdit:
    lsp_edits = text_edits(doc, edits, encoding)
    if versioned:
        ident = T.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version)
        return T.WorkspaceEdit(
            document_changes=[T.TextDocumentEdit(text_document=ident, edits=lsp_edits)]
        )
    return T.WorkspaceEdit(changes={doc.uri: lsp_edits})


def fix_action(
    doc: Document,
    f: Finding,
    fix: Fix,
    diagnostics: list[T.Diagnostic],
    encoding: str,
    versioned: bool,
) -> T.CodeAction:
    title = fix.title
    if not fix.safe and "unsafe" not in title.lower():
        title += " (unsafe)"
    return T.CodeAction(
        title=title,
        kind=T.CodeActionKind.QuickFix,
        diagnostics=diagnostics,
        is_preferred=True if fix.safe else None,
        edit=workspace_edit(doc, fix.edits, encoding, versioned),
    )


def edit_action(
    doc: Document,
    title: str,
    kind: str,
    edits: list[Edit],
    diagnostics: list[T.Diagnostic] | None,
    encoding: str,
    versioned: bool,
) -> T.CodeAction:
    return T.CodeAction(
        title=title,
        kind=kind,
        diagnostics=diagnostics or None,
        edit=workspace_edit(doc, edits, encoding, versioned),
    )


def hover(
    markdown: str,
    doc: Document | None = None,
    span: tuple[int, int] | None = None,
    encoding: str = "utf-16",
) -> T.Hover:
    rng = (
        to_range(doc, span[0], span[1], encoding) if doc is not None and span is not None else None
    )
    return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=markdown), range=rng)


def location(doc: Document, start: int, end: int, encoding: str) -> T.Location:
    return T.Location(uri=doc.uri, range=to_range(doc, start, end, encoding))


def highlight(
    doc: Document, start: int, end: int, write: bool, encoding: str
) -> T.DocumentHighlight:
    kind = T.DocumentHighlightKind.Write if write else T.DocumentHighlightKind.Read
    return T.DocumentHighlight(range=to_range(doc, start, end, encoding), kind=kind)


def prepare_rename(
    doc: Document, start: int, end: int, encoding: str
) -> T.PrepareRenamePlaceholder:
    return T.PrepareRenamePlaceholder(
        range=to_range(doc, start, end, encoding), placeholder=doc.text[start:end]
    )


def rename_edit(edits: list[tuple[Document, str, list[Edit]]], encoding: str) -> T.WorkspaceEdit:
    """One WorkspaceEdit over several documents: (document, the client's uri, its edits)."""
    return T.WorkspaceEdit(
        changes={uri: text_edits(doc, doc_edits, encoding) for doc, uri, doc_edits in edits}
    )


MIGRATION_ANNOTATIONS = {
    "sql-lsp.newMigration": T.ChangeAnnotation(
        label="New migration",
        needs_confirmation=True,
        description="The ALTER TABLE … RENAME, in a new migration file",
    ),
    "sql-lsp.renamedUses": T.ChangeAnnotation(
        label="Renamed uses outside the migrations",
        needs_confirmation=True,
        description="Old migrations are left as they are",
    ),
}


def migration_edit(
    files: list[tuple[str, str]],
    edits: list[tuple[Document, str, list[Edit]]],
    encoding: str,
    annotate: bool = False,
) -> T.WorkspaceEdit:
    """New files (uri, text), each created then filled, and edits of existing documents
    (document, the client's uri, its edits), as `documentChanges`: the client must announce
    the `create` resource operation. With `annotate` (a client with `changeAnnotationSupport`)
    every change carries an annotation that needs confirmation, so the editor shows the edit
    for review before applying it."""
    new_id, uses_id = MIGRATION_ANNOTATIONS if annotate else (None, None)

    def edit(rng: T.Range, text: str, annotation: str | None) -> T.TextEdit | T.AnnotatedTextEdit:
        if annotation is None:
            return T.TextEdit(range=rng, new_text=text)
        return T.AnnotatedTextEdit(annotation_id=annotation, range=rng, new_text=text)

    changes: list[T.TextDocumentEdit | T.CreateFile] = []
    for uri, text in files:
        changes.append(
            T.CreateFile(
                uri=uri,
                options=T.CreateFileOptions(overwrite=False, ignore_if_exists=False),
                annotation_id=new_id,
            )
        )
        start = T.Position(line=0, character=0)
        changes.append(
            T.TextDocumentEdit(
                text_document=T.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=[edit(T.Range(start=start, end=start), text, new_id)],
            )
        )
    for doc, uri, doc_edits in edits:
        changes.append(
            T.TextDocumentEdit(
                text_document=T.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=doc.version
                ),
                edits=[
                    edit(to_range(doc, e.start, e.end, encoding), e.text, uses_id)
                    for e in doc_edits
                ],
            )
        )
    return T.WorkspaceEdit(
        document_changes=changes,
        change_annotations=dict(MIGRATION_ANNOTATIONS) if annotate else None,
    )


def document_symbol(doc: Document, item: OutlineItem, encoding: str) -> T.DocumentSymbol:
    rng = to_range(doc, item.start, item.end, encoding)
    first_line_end = doc.lines.line_end(doc.lines.line_of(item.start))
    selection = to_range(doc, item.start, min(item.end, max(item.start, first_line_end)), encoding)
    return T.DocumentSymbol(
        name=item.name or "statement",
        kind=SYMBOL_KIND.get(item.kind, T.SymbolKind.Object),
        range=rng,
        selection_range=selection,
    )


def folding_range(fold: Fold) -> T.FoldingRange:
    kind = T.FoldingRangeKind.Comment if fold.kind == "comment" else T.FoldingRangeKind.Region
    return T.FoldingRange(start_line=fold.start_line, end_line=fold.end_line, kind=kind)


def workspace_symbol(
    symbol: CatalogSymbol, doc: Document, start: int, end: int, uri: str, encoding: str
) -> T.SymbolInformation:
    return T.SymbolInformation(
        name=symbol.name,
        kind=SYMBOL_KIND.get(symbol.kind, T.SymbolKind.Object),
        location=T.Location(uri=uri, range=to_range(doc, start, end, encoding)),
        container_name=symbol.container,
    )


# -- completion -----------------------------------------------------------------------------------

COMPLETION_KIND = {
    "column": T.CompletionItemKind.Field,
    "table": T.CompletionItemKind.Class,
    "view": T.CompletionItemKind.Interface,
    "cte": T.CompletionItemKind.Struct,
    "schema": T.CompletionItemKind.Module,
    "function": T.CompletionItemKind.Function,
    "keyword": T.CompletionItemKind.Keyword,
    "join": T.CompletionItemKind.Snippet,
}


@dataclass(frozen=True)
class CompletionSupport:
    """What the client declared it takes in completion answers."""

    snippets: bool = False
    insert_replace: bool = False
    item_defaults: frozenset[str] = frozenset()
    lazy_documentation: bool = False  # documentation may come from completionItem/resolve


def completion_list(
    doc: Document,
    result: Completion,
    encoding: str,
    support: CompletionSupport,
    documentation: Callable[[tuple[str, ...]], str] | None = None,
) -> T.CompletionList:
    """An LSP completion list for `result`: the edit range once in `itemDefaults` when the
    client takes it, else on every item (an insert/replace pair when the client takes those);
    snippets only for clients that take them."""
    insert = to_range(doc, result.start, result.cursor, encoding)
    replace = to_range(doc, result.start, result.end, encoding)
    edit_range: T.Range | T.EditRangeWithInsertReplace = insert
    if support.insert_replace and replace != insert:
        edit_range = T.EditRangeWithInsertReplace(insert=insert, replace=replace)
    defaults = None
    if "editRange" in support.item_defaults:
        defaults = T.CompletionItemDefaults(edit_range=edit_range)
    items = []
    for n, item in enumerate(result.items):
        snippet = support.snippets and item.snippet is not None
        new_text = item.snippet if snippet and item.snippet is not None else item.insert
        ci = T.CompletionItem(
            label=item.label,
            kind=COMPLETION_KIND.get(item.kind, T.CompletionItemKind.Text),
            detail=item.detail or None,
            sort_text=f"{n:05d}",
            filter_text=item.filter or None,
            insert_text_format=T.InsertTextFormat.Snippet if snippet else None,
        )
        if defaults is not None:
            ci.text_edit_text = new_text if new_text != item.label else None
        elif isinstance(edit_range, T.EditRangeWithInsertReplace):
            ci.text_edit = T.InsertReplaceEdit(new_text=new_text, insert=insert, replace=replace)
        else:
            ci.text_edit = T.TextEdit(range=insert, new_text=new_text)
        if item.ref:
            if support.lazy_documentation:
                ci.data = {"ref": list(item.ref)}
            elif documentation is not None:
                text = documentation(item.ref)
                if text:
                    ci.documentation = T.MarkupContent(kind=T.MarkupKind.Markdown, value=text)
        items.append(ci)
    return T.CompletionList(is_incomplete=result.incomplete, items=items, item_defaults=defaults)


def signature_help(help: Help) -> T.SignatureHelp:
    """Signature help: the signatures of the call around the cursor, the active argument."""
    active = help.active_parameter
    chosen = next((i for i, s in enumerate(help.signatures) if active < len(s.parameters)), 0)
    return T.SignatureHelp(
        signatures=[
            T.SignatureInformation(
                label=s.label,
                documentation=s.documentation or None,
                parameters=[T.ParameterInformation(label=(a, b)) for a, b in s.parameters],
            )
            for s in help.signatures
        ],
        active_signature=chosen,
        active_parameter=active,
    )
