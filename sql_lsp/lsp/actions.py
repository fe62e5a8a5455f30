"""Code actions: each finding's fixes (priced by HypoPG when a database is configured), the
"ignore" suppressions, "fix all safe findings", and "rename … in a new migration" (a refactor
whose command asks for the new name, see `commands.rename_in_migration`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as T

from sql_lsp import suppressions
from sql_lsp.document import Document
from sql_lsp.fixes import existing_relations, select_fixes
from sql_lsp.lsp import convert
from sql_lsp.references import migration_folder, target_at
from sql_lsp.rules.base import Finding

CMD_RENAME_IN_MIGRATION = "sql-lsp.renameInMigration"
REFACTOR_KINDS = ("refactor", "refactor.rewrite")

if TYPE_CHECKING:
    from sql_lsp.lsp.server import SqlLanguageServer


async def code_actions(ls: SqlLanguageServer, params: T.CodeActionParams) -> list[T.CodeAction]:
    key = ls.key(params.text_document.uri)
    doc = ls.project.open.get(key)
    if doc is None:
        return []
    ours = [d for d in params.context.diagnostics if d.source == convert.SOURCE]
    for d in ours:
        data = d.data if isinstance(d.data, dict) else {}
        if "version" in data and data["version"] != doc.version:
            return []  # the client acts on diagnostics of another version
    enc = ls.encoding
    versioned = bool(ls.capability("workspace.workspace_edit.document_changes", False))
    only = params.context.only
    start, end = convert.to_offsets(doc, params.range, enc)
    findings = ls.findings_for(key)
    actions: list[T.CodeAction] = []
    want_quickfix = only is None or any(k in (T.CodeActionKind.QuickFix, "quickfix") for k in only)
    want_fix_all = only is None or any(
        convert.FIX_ALL.startswith(str(k)) or str(k).startswith(convert.FIX_ALL) for k in only
    )
    if want_quickfix:
        for f in findings:
            if not _intersects(f, start, end, doc):
                continue
            diags = [
                d
                for d in ours
                if d.code == f.rule and convert.to_offsets(doc, d.range, enc) == (f.start, f.end)
            ]
            diags = diags or [convert.diagnostic(doc, f, enc)]
            for fix in f.fixes:
                priced = await ls.price_fix(doc, f, fix)
                if priced is None:
                    continue  # the index would not pay for itself
                actions.append(
                    _client(ls, convert.fix_action(doc, f, priced, diags, enc, versioned), doc)
                )
        for f in findings:
            if not _intersects(f, start, end, doc):
                continue
            diags = [convert.diagnostic(doc, f, enc)]
            stmt = doc.statement_at(f.start)
            if stmt is not None:
                edit = suppressions.ignore_statement_edit(doc, stmt, f.rule)
                actions.append(
                    _client(
                        ls,
                        convert.edit_action(
                            doc,
                            f"Ignore {f.rule} for this statement",
                            T.CodeActionKind.QuickFix,
                            [edit],
                            diags,
                            enc,
                            versioned,
                        ),
                        doc,
                    )
                )
            edit = suppressions.ignore_file_edit(doc, f.rule)
            actions.append(
                _client(
                    ls,
                    convert.edit_action(
                        doc,
                        f"Ignore {f.rule} in this file",
                        T.CodeActionKind.QuickFix,
                        [edit],
                        diags,
                        enc,
                        versioned,
                    ),
                    doc,
                )
            )
        actions = _dedupe(actions)
    if want_fix_all:
        safe = [(f.rule, f.fix) for f in findings if f.fix is not None and f.fix.safe]
        if safe:
            # a fix creating a relation that exists was computed before it existed: left out
            taken = select_fixes(safe, existing_relations(ls.project.catalog))
            edits = [e for _, fix in taken for e in fix.edits]
            actions.append(
                _client(
                    ls,
                    convert.edit_action(
                        doc,
                        f"Fix all safe sql-lsp findings ({len(taken)})",
                        convert.FIX_ALL,
                        edits,
                        None,
                        enc,
                        versioned,
                    ),
                    doc,
                )
            )
    if only is None or any(str(k) in REFACTOR_KINDS for k in only):
        actions.extend(_rename_in_migration(ls, params, doc, start))
    return actions


def _rename_in_migration(
    ls: SqlLanguageServer, params: T.CodeActionParams, doc: Document, offset: int
) -> list[T.CodeAction]:
    """ "Rename table/column … in a new migration…" when the cursor is on a table or column
    declared in a migration folder and the client can create files; its command carries the
    position, and the client adds `newName` (asked from the user) before running it."""
    operations = ls.capability("workspace.workspace_edit.resource_operations", None) or []
    if T.ResourceOperationKind.Create not in operations and "create" not in operations:
        return []
    catalog = ls.project.catalog
    target = target_at(doc, offset, catalog)
    if target is None or migration_folder(target, catalog) is None:
        return []
    if target.kind == "table":
        title = f"Rename table {target.name} in a new migration…"
    else:
        title = f"Rename column {target.key[1]}.{target.name} in a new migration…"
    line, character = doc.lines.position(offset, ls.encoding)
    argument = {
        "uri": params.text_document.uri,
        "position": {"line": line, "character": character},
        "name": doc.text[target.start : target.end],  # what the client offers to edit
    }
    return [
        T.CodeAction(
            title=title,
            kind=T.CodeActionKind.RefactorRewrite,
            command=T.Command(title=title, command=CMD_RENAME_IN_MIGRATION, arguments=[argument]),
        )
    ]


def _intersects(f: Finding, start: int, end: int, doc: Document) -> bool:
    if start == end:  # a cursor: anything on its line
        lines = doc.lines
        line = lines.line_of(start)
        start, end = lines.line_start(line), lines.line_end(line)
    return f.start <= end and start <= f.end


def _dedupe(actions: list[T.CodeAction]) -> list[T.CodeAction]:
    seen: set[str] = set()
    out = []
    for a in actions:
        if a.title in seen:
            continue
        seen.add(a.title)
        out.append(a)
    return out


def _client(ls: SqlLanguageServer, action: T.CodeAction, doc: Document) -> T.CodeAction:
    """Point a code action's edit at the URI the client uses for the document."""
    uri = ls.client_uri(doc.uri)
    edit = action.edit
    if edit is None or uri == doc.uri:
        return action
    if edit.changes:
        edit.changes = {uri: edit.changes[doc.uri]}
    for change in edit.document_changes or []:
        if isinstance(change, T.TextDocumentEdit):
            change.text_document.uri = uri
    return action
