"""Commands and code lenses: refresh the catalog, explain the statement at a position, rename a
table or column in a new migration."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from sql_lsp.database import Failure
from sql_lsp.document import Document
from sql_lsp.explain.render import plan_document, plan_json, plan_view
from sql_lsp.explain.whatif import what_if_view
from sql_lsp.lsp import convert, plans
from sql_lsp.lsp.workspace import scan
from sql_lsp.references import RenameError, migration_rename, target_at

if TYPE_CHECKING:
    from sql_lsp.lsp.server import SqlLanguageServer

CMD_REFRESH_CATALOG = "sql-lsp.refreshCatalog"


async def refresh_catalog(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    """Re-read the workspace files (and the database, when configured); re-publish."""
    count = await scan(
        ls, ls.project, ls.roots, ls.project.config.catalog.paths, False, lambda _changed: None
    )
    ls.project.forget_layout()
    result: dict[str, Any] = {"files": count}
    live = ls.live
    if live is not None:
        await ls.refresh_database(live)
        result["database"] = (
            f"unavailable: {live.failure}" if live.failure is not None else "loaded"
        )
    ls.publish_all()
    catalog = ls.project.catalog
    result["tables"] = len(catalog.tables)
    result["indexes"] = sum(1 for _ in catalog.indexes())
    return result


def code_lenses(ls: SqlLanguageServer, params: T.CodeLensParams) -> list[T.CodeLens]:
    """An "Explain" lens (and "Explain analyze" when allowed) above each query or DML."""
    config = ls.project.config
    if ls.live is None or not config.explain.code_lens:
        return []
    key = ls.key(params.text_document.uri)
    doc = ls.project.document(key)
    if doc is None:
        return []
    enc = ls.encoding
    lenses: list[T.CodeLens] = []
    for stmt in doc.statements:
        if not plans.explainable(stmt):
            continue
        rng = convert.to_range(doc, stmt.start, stmt.start, enc)
        arg = {
            "uri": params.text_document.uri,
            "position": {"line": rng.start.line, "character": rng.start.character},
        }
        lenses.append(
            T.CodeLens(
                range=rng,
                command=T.Command(
                    title="Explain", command=plans.CMD_EXPLAIN, arguments=[{**arg, "open": True}]
                ),
            )
        )
        if config.explain.analyze and plans.analyzable(stmt, config.dialect):
            lenses.append(
                T.CodeLens(
                    range=rng,
                    command=T.Command(
                        title="Explain analyze",
                        command=plans.CMD_EXPLAIN,
                        arguments=[{**arg, "analyze": True, "open": True}],
                    ),
                )
            )
    return lenses


async def explain(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    """Plan the statement at `{"uri", "position"}`; answer `{"markdown", "json"}` and, with
    `"open": true` (code lenses), show the plan as a markdown document when the client can
    (written to a private directory, see `plans.plan_file`). EXPLAIN ANALYZE only with
    `"analyze": true` (the "Explain analyze" lens) and `explain.analyze` on."""
    arg = args[0] if args and isinstance(args[0], dict) else {}
    uri = str(arg.get("uri") or "")
    pos = arg.get("position") or {}
    doc = ls.project.document(ls.key(uri)) if uri else None
    if doc is None:
        return {"markdown": "sql-lsp: no such document"}
    line, char = int(pos.get("line", 0)), int(pos.get("character", 0))
    stmt = doc.statement_at(doc.lines.offset(line, char, ls.encoding))
    if not plans.explainable(stmt):
        return {"markdown": "sql-lsp: no query or DML statement here to explain"}
    assert stmt is not None
    if ls.live is None:
        return {"markdown": "sql-lsp: no database configured (set `database.url`)"}
    analyze = bool(arg.get("analyze")) and ls.project.config.explain.analyze
    explained = await ls.live.explain(stmt.text, analyze=analyze)
    if isinstance(explained, Failure):
        markdown = ls.redactor(plans.plan_markdown(explained, 10_000))
        answer: dict[str, Any] = {"markdown": markdown}
    else:
        markdown = ls.redactor(plan_document(explained, statement=stmt.text))
        answer = {
            "markdown": markdown,
            "json": json.loads(plan_json(explained)),
            "view": plan_view(explained, statement=stmt.text),
            "whatIf": await _what_if_at(ls, ls.key(uri), doc, stmt.start, stmt.end),
        }
    if arg.get("open") and ls.capability("window.show_document.support", False):
        try:
            path = plans.plan_file(uri, doc.lines.line_of(stmt.start), markdown)
        except OSError as e:  # the answer still carries the plan
            ls.log(f"sql-lsp: cannot write the plan document: {e}", T.MessageType.Warning)
            return answer
        with contextlib.suppress(Exception):
            await ls.window_show_document_async(
                T.ShowDocumentParams(uri=path.as_uri(), take_focus=True)
            )
    return answer


async def _what_if_at(
    ls: SqlLanguageServer, key: str, doc: Document, start: int, end: int
) -> dict[str, Any] | None:
    """The first index fix of a finding in [start, end) that HypoPG priced as worth it, as
    plain data with the plans before and after (for the VS Code plan view), or None."""
    for f in ls.findings_for(key):
        if not start <= f.start < end:
            continue
        for fix in f.fixes:
            result, _ = await ls.what_if(doc, f, fix)
            if result is not None:
                return what_if_view(result, fix.title)
    return None


async def rename_in_migration(ls: SqlLanguageServer, *args: Any) -> dict[str, Any]:
    """Rename the table or column at `{"uri", "position", "newName"}` in a new migration (see
    `references.rename_in_migration`): ask the client to apply the edit (new migration files,
    the uses outside old migrations) and answer `{"applied", "files"}`, or `{"applied": false,
    "error"}` (also shown) when it cannot be done."""
    arg = args[0] if args and isinstance(args[0], dict) else {}
    uri = str(arg.get("uri") or "")
    pos = arg.get("position") or {}
    new_name = arg.get("newName")
    doc = ls.project.document(ls.key(uri)) if uri else None
    target = None
    if doc is not None and isinstance(pos, dict):
        offset = doc.lines.offset(
            int(pos.get("line", 0)), int(pos.get("character", 0)), ls.encoding
        )
        target = target_at(doc, offset, ls.project.catalog)
    try:
        if doc is None or target is None:
            raise RenameError("No table or column to rename here.")
        if not isinstance(new_name, str):
            raise RenameError('The command needs the new name as "newName".')
        edit = migration_rename(
            target,
            doc,
            ls.project.documents(),
            ls.project.catalog,
            new_name,
            datetime.now(UTC),
        )
    except RenameError as e:
        ls.show(f"sql-lsp: {e}")
        return {"applied": False, "error": str(e)}
    parts = []
    for key, doc_edits in edit.edits.items():
        at = ls.project.document(key)
        if at is not None:
            parts.append((at, ls.client_uri(key), doc_edits))
    annotate = ls.capability("workspace.workspace_edit.change_annotation_support", None)
    workspace_edit = convert.migration_edit(edit.files, parts, ls.encoding, annotate is not None)
    label = f"Rename {target.name} in a new migration"
    result = await ls.workspace_apply_edit_async(
        T.ApplyWorkspaceEditParams(
            edit=workspace_edit, label=label, metadata=T.WorkspaceEditMetadata(is_refactoring=True)
        )
    )
    answer: dict[str, Any] = {"applied": bool(result.applied), "files": [u for u, _ in edit.files]}
    if result.failure_reason:
        answer["error"] = result.failure_reason
    return answer
