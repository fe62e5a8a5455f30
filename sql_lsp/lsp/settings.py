"""The layered settings: defaults, sql-lsp.toml / pyproject.toml, initializationOptions and the
editor's `sqlLsp` section (workspace/configuration), applied to the Project."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from sql_lsp.config import Config, ConfigError, load_config, merge
from sql_lsp.rules import RULES_BY_ID

if TYPE_CHECKING:
    pass

SECTION = "sqlLsp"


def cache_folder(config: Config, roots: Sequence[Path]) -> Path | None:
    """Where the server keeps the findings of files (`sql_lsp.cache`): `SQL_LSP_CACHE_DIR`,
    else the `.sql-lsp-cache` that `sql-lsp check` made in the settings file's folder (else in
    the first workspace folder); None when there is none. Opening a folder in an editor never
    creates a folder in it."""
    from sql_lsp.cache import ENV_CACHE_DIR, default_dir

    if os.environ.get(ENV_CACHE_DIR):
        return default_dir(Path.cwd())
    if config.source is not None:
        folder = default_dir(config.source.resolve().parent)
    elif roots:
        folder = default_dir(roots[0])
    else:
        return None
    return folder if folder.is_dir() else None


class Settings:
    """The settings part of `SqlLanguageServer`."""

    init_options: dict[str, Any]
    editor_settings: dict[str, Any]

    def compute_config(self) -> tuple[Config, list[str]]:
        self.redactor.add(self.init_options, self.editor_settings)
        errors: list[str] = []
        config = Config()
        start = self.roots[0] if self.roots else None
        if start is not None:
            try:
                config, errs = load_config(start, known_rules=RULES_BY_ID)
                errors += errs
            except ConfigError as e:
                errors.append(f"{e}; using the defaults")
                config = Config()
        for layer in (self.init_options, self.editor_settings):
            if layer:
                config, errs = merge(config, layer, known_rules=RULES_BY_ID, where=f"{SECTION}.")
                errors += errs
        self.redactor.add(config.database.url)
        return config, errors

    async def load_settings(self) -> None:
        if self.capability("workspace.configuration", False):
            try:
                result = await asyncio.wait_for(
                    self.workspace_configuration_async(
                        T.ConfigurationParams(items=[T.ConfigurationItem(section=SECTION)])
                    ),
                    timeout=5,
                )
                value = result[0] if result else None
                self.editor_settings = value if isinstance(value, dict) else {}
            except Exception as e:  # a client that cannot answer: keep what we have
                self.log(f"workspace/configuration failed: {e!r}", T.MessageType.Warning)
        self.apply_config()

    def apply_config(self) -> None:
        config, errors = self.compute_config()
        for message in errors:
            self.show(f"sql-lsp: {message}")
        if config != self.project.config:
            self.project.set_config(config)
        self.project.use_cache(cache_folder(config, self.roots))
        self.config_ready.set()
        self.configure_database()
