"""The live database seen from the server: started, reconfigured and stopped with the settings,
refreshed in the background, its state sent to the client, HypoPG pricing of index fixes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import TYPE_CHECKING

from lsprotocol import types as T

from sql_lsp.config import Config
from sql_lsp.document import Document
from sql_lsp.explain.whatif import WhatIf, with_cost
from sql_lsp.live import LiveState
from sql_lsp.lsp import plans
from sql_lsp.rules.base import Finding, Fix

if TYPE_CHECKING:
    pass

DATABASE_STATE = "sql-lsp/databaseState"


class LiveDatabase:
    """The database part of `SqlLanguageServer`."""

    live: LiveState | None
    live_loop: asyncio.Task | None
    database_state_sent: dict[str, str] | None

    def configure_database(self) -> None:
        """Start, reconfigure or stop the live database after a settings change."""
        if not self.initialized:
            return
        config = self.project.config
        wanted = config.database.effective_url() is not None
        if not wanted:
            if self.live is not None:
                self.stop_database()
                self.project.set_database(None)
                self.publish_all()
            self.send_database_state()
            return
        if self.live is None:
            self.live = LiveState(config)
            self.project.set_database(self.live.facts())
            self.restart_live_loop()
            self.send_database_state()
        else:
            self.spawn(self._reconfigure(self.live, config))

    async def _reconfigure(self, live: LiveState, config: Config) -> None:
        if await live.apply_config(config) and self.live is live:
            self.project.set_database(live.facts())
            self.restart_live_loop()

    def restart_live_loop(self) -> None:
        if self.live_loop is not None:
            self.live_loop.cancel()
        if self.live is not None:
            self.live_loop = self.spawn(self._live_loop(self.live))

    def stop_database(self) -> None:
        if self.live_loop is not None:
            self.live_loop.cancel()
            self.live_loop = None
        live, self.live = self.live, None
        if live is not None:
            self.spawn(live.close())

    async def _live_loop(self, live: LiveState) -> None:
        """Load the live catalog now and then every `database.refreshIntervalSeconds`; retry
        sooner while the database cannot be reached (the pool backs off on its own)."""
        while self.live is live:
            await self.refresh_database(live)
            interval = self.project.config.database.refresh_interval_seconds
            if live.failure is not None:
                interval = min(interval, 30) if interval else 30
            elif interval <= 0:
                return
            await asyncio.sleep(interval)

    async def refresh_database(self, live: LiveState) -> None:
        changed = await live.refresh()
        if live.failure is not None:
            self.log(f"sql-lsp: database: {live.failure}", T.MessageType.Warning)
        if self.live is live:
            self.send_database_state()
        if changed and self.live is live:  # the project merges the new live catalog by itself
            self.publish_all()
            if self.capability("workspace.code_lens.refresh_support", False):
                self.spawn(self._refresh_code_lenses())
            for key in list(self.project.open):
                self.spawn(self.plan_document(key))

    def send_database_state(self) -> None:
        """Tell the client, when it changed, whether the database is `connected`, `unreachable`
        (with the password-free reason) or `off`: the `sql-lsp/databaseState` notification,
        which the VS Code extension shows in its status-bar item; other clients ignore it."""
        live = self.live
        if live is None:
            state = {"state": "off", "message": "no database configured"}
        elif live.failure is not None:
            state = {"state": "unreachable", "message": live.failure.message}
        elif live.catalog is not None:
            state = {"state": "connected", "message": "live catalog loaded"}
        else:
            state = {"state": "connecting", "message": "connecting"}
        if state != self.database_state_sent:
            self.database_state_sent = state
            with contextlib.suppress(Exception):  # the client has gone
                self.protocol.notify(DATABASE_STATE, state)

    async def _refresh_code_lenses(self) -> None:
        with contextlib.suppress(Exception):  # a client that does not answer it after all
            await asyncio.wait_for(self.workspace_code_lens_refresh_async(None), timeout=5)

    async def plan_document(self, key: str) -> None:
        """Plan the document's statements for the plan-based rules (on open and save only)."""
        live = self.live
        doc = self.project.open.get(key)
        if live is None or doc is None or live.catalog is None:
            return
        if self.project.config.rule("seq-scan-on-large-table").severity == "off":
            return
        texts = [s.text for s in doc.statements if plans.explainable(s)][: plans.MAX_PLANNED]
        if texts and await live.plan_statements(texts) and self.live is live:
            self.schedule(key, 0)

    async def what_if(self, doc: Document, f: Finding, fix: Fix) -> tuple[WhatIf | None, bool]:
        """The HypoPG cost of an index-creating fix when it is worth offering, and whether the
        database priced it and found it wanting (cost cut below explain.minImprovementPercent,
        or the plan would not use it)."""
        live = self.live
        found = plans.index_fix(doc, f, fix) if live is not None else None
        if live is None or found is None:
            return None, False
        result = await live.what_if(found.target_sql, found.create_index)
        if result is not None:
            return result, False
        facts = live.facts()
        raw = facts.what_if(found.target_sql, found.create_index) if facts else None
        return None, isinstance(raw, WhatIf)

    async def price_fix(self, doc: Document, f: Finding, fix: Fix) -> Fix | None:
        """The fix with the cost change in its title; None when the database says the index
        does not pay for itself; unchanged when no database or HypoPG can tell."""
        if " — cost " in fix.title:
            return fix  # the rule priced it already (from the cached what-if)
        result, wanting = await self.what_if(doc, f, fix)
        if wanting:
            return None
        if result is None:
            return fix
        return dataclasses.replace(fix, title=with_cost(fix.title, result))
