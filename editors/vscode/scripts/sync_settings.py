"""Write the server's settings (sql_lsp.config.settings_table()) into package.json.

Run from the repository root after changing sql_lsp/config.py SETTINGS:

    python editors/vscode/scripts/sync_settings.py          # rewrite package.json
    python editors/vscode/scripts/sync_settings.py --check  # exit 1 when package.json is stale

Every server setting becomes `sqlLsp.<key>` with the same type, default, description, enum and
minimum; the extension's own settings (`sqlLsp.server.command`, `sqlLsp.trace.server`) follow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).resolve().parents[1] / "package.json"
SEVERITIES = ["off", "hint", "info", "warning", "error"]

CLIENT_SETTINGS: dict[str, dict[str, Any]] = {
    "sqlLsp.server.command": {
        "type": ["array", "string"],
        "items": {"type": "string"},
        "default": [],
        "description": (
            "Command that starts the language server, as a list (program and arguments) or one "
            "string. Empty: `sql-lsp` on PATH, else `python -m sql_lsp` with the Python "
            "extension's selected interpreter, else `python3 -m sql_lsp`. `--stdio` is appended. "
            "`${workspaceFolder}` and `~` are expanded."
        ),
        "scope": "machine",
    },
    "sqlLsp.trace.server": {
        "type": "string",
        "enum": ["off", "messages", "verbose"],
        "default": "off",
        "description": "Log the messages between VS Code and the server in the SQL LSP output.",
        "scope": "window",
    },
}


def server_property(setting: dict[str, Any], order: int) -> dict[str, Any]:
    """The package.json property for one entry of settings_table()."""
    prop: dict[str, Any] = {
        "type": setting["type"],
        "default": setting["default"],
        "description": setting["description"],
    }
    if "enum" in setting:
        prop["enum"] = setting["enum"]
    if "minimum" in setting:
        prop["minimum"] = setting["minimum"]
    if setting["type"] == "array":
        prop["items"] = {"type": "string"}
    if setting["key"] == "rules":
        prop["additionalProperties"] = {
            "anyOf": [
                {"type": "string", "enum": SEVERITIES},
                {
                    "type": "object",
                    "properties": {"severity": {"type": "string", "enum": SEVERITIES}},
                },
            ]
        }
    prop["scope"] = "resource"
    prop["order"] = order
    return prop


def expected_properties() -> dict[str, dict[str, Any]]:
    """contributes.configuration.properties as it should be."""
    from sql_lsp.config import settings_table

    props = {
        f"sqlLsp.{s['key']}": server_property(s, i) for i, s in enumerate(settings_table())
    }
    props.update(CLIENT_SETTINGS)
    return props


def main(argv: list[str]) -> int:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    expected = expected_properties()
    current = manifest["contributes"]["configuration"]["properties"]
    if "--check" in argv:
        if current != expected:
            print(f"{MANIFEST} is stale: run python {' '.join(sys.argv[:1])}", file=sys.stderr)
            return 1
        return 0
    manifest["contributes"]["configuration"]["properties"] = expected
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(expected)} settings to {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
