"""The VS Code extension's manifest agrees with the server's settings and the extension's code.

Every setting of sql_lsp.config.SETTINGS is contributed as `sqlLsp.<key>` with the same type,
default, description, enum and minimum; the only other settings are the extension's own. After
changing SETTINGS, run `python editors/vscode/scripts/sync_settings.py`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import pytest
from editor_support import REPO

from sql_lsp.config import settings_table

EXTENSION = REPO / "editors" / "vscode"
CLIENT_ONLY = {"sqlLsp.server.command", "sqlLsp.trace.server"}
COMMANDS = {
    "sqlLsp.restartServer",
    "sqlLsp.showLogs",
    "sqlLsp.refreshCatalog",
    "sqlLsp.explainStatement",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def properties(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = manifest["contributes"]["configuration"]["properties"]
    return props


@pytest.mark.parametrize("setting", settings_table(), ids=lambda s: s["key"])
def test_server_setting_is_contributed(
    setting: dict[str, Any], properties: dict[str, dict[str, Any]]
) -> None:
    prop = properties.get(f"sqlLsp.{setting['key']}")
    assert prop is not None, f"package.json lacks sqlLsp.{setting['key']}; run sync_settings.py"
    fields = ("type", "default", "description", "enum", "minimum")
    assert {f: prop.get(f) for f in fields} == {f: setting.get(f) for f in fields}


def test_no_other_settings(properties: dict[str, dict[str, Any]]) -> None:
    server = {f"sqlLsp.{s['key']}" for s in settings_table()}
    assert set(properties) == server | CLIENT_ONLY


def test_client_only_settings(
    manifest: dict[str, Any], properties: dict[str, dict[str, Any]]
) -> None:
    command = properties["sqlLsp.server.command"]
    assert (command["type"], command["default"], command["scope"]) == (
        ["array", "string"],
        [],
        "machine-overridable",
    )
    # an untrusted workspace must not choose the program the editor runs
    assert manifest["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"] == [
        "sqlLsp.server.command"
    ]
    trace = properties["sqlLsp.trace.server"]
    assert (trace["enum"], trace["default"]) == (["off", "messages", "verbose"], "off")
    # the extension keeps exactly these out of what it sends to the server
    source = (EXTENSION / "src" / "extension.ts").read_text(encoding="utf-8")
    m = re.search(r"const CLIENT_ONLY = new Set\(\[([^\]]*)\]\)", source)
    assert m is not None
    sent_keys = {f"sqlLsp.{k}" for k in re.findall(r"'([^']+)'", m.group(1))}
    assert sent_keys == CLIENT_ONLY


def test_commands_are_contributed_and_registered(manifest: dict[str, Any]) -> None:
    contributed = {c["command"] for c in manifest["contributes"]["commands"]}
    assert contributed == COMMANDS
    source = (EXTENSION / "src" / "extension.ts").read_text(encoding="utf-8")
    registered = set(re.findall(r"registerCommand\('([^']+)'", source))
    assert registered == COMMANDS


def test_activation_and_entry_point(manifest: dict[str, Any]) -> None:
    assert manifest["activationEvents"] == ["onLanguage:sql"]
    assert manifest["main"] == "./out/extension.js"
    assert manifest["dependencies"] == {"vscode-languageclient": "9.0.1"}


def test_readme_lists_every_setting(properties: dict[str, dict[str, Any]]) -> None:
    spec = importlib.util.spec_from_file_location(
        "sync_settings", EXTENSION / "scripts" / "sync_settings.py"
    )
    assert spec is not None and spec.loader is not None
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    readme = (EXTENSION / "README.md").read_text(encoding="utf-8")
    assert sync.readme_with_table(readme, properties) == readme, "run sync_settings.py"
    assert sync.expected_properties() == properties, "run sync_settings.py"
