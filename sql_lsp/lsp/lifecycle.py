"""After `initialized`: dynamic registrations and the background workspace scan."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types as T

from sql_lsp.lsp.settings import SECTION
from sql_lsp.lsp.workspace import WATCH_GLOBS, scan

if TYPE_CHECKING:
    from sql_lsp.lsp.server import SqlLanguageServer

SCAN_WAIT_S = 1.0


async def register(ls: SqlLanguageServer) -> None:
    registrations = []
    if ls.capability("workspace.did_change_configuration.dynamic_registration", False):
        registrations.append(
            T.Registration(
                id=str(uuid.uuid4()),
                method=T.WORKSPACE_DID_CHANGE_CONFIGURATION,
                register_options=T.DidChangeConfigurationRegistrationOptions(section=SECTION),
            )
        )
    if ls.capability("workspace.did_change_watched_files.dynamic_registration", False):
        registrations.append(
            T.Registration(
                id=str(uuid.uuid4()),
                method=T.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=T.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[T.FileSystemWatcher(glob_pattern=g) for g in WATCH_GLOBS]
                ),
            )
        )
    if registrations:
        try:
            await asyncio.wait_for(
                ls.client_register_capability_async(
                    T.RegistrationParams(registrations=registrations)
                ),
                timeout=5,
            )
        except Exception as e:
            ls.log(f"client/registerCapability failed: {e!r}", T.MessageType.Warning)


async def scan_workspace(ls: SqlLanguageServer) -> None:
    progress = bool(ls.capability("window.work_done_progress", False))
    try:
        await scan(
            ls,
            ls.project,
            ls.roots,
            ls.project.config.catalog.paths,
            progress,
            lambda changed: ls.catalog_changed(changed),
        )
    finally:
        ls.scanned.set()
        ls.worked()


async def publish_after_scan(ls: SqlLanguageServer, key: str) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(ls.scanned.wait(), timeout=SCAN_WAIT_S)
    ls.tasks.pop(key, None)
    ls.publish(key)
