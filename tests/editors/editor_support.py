"""Helpers shared by the real-editor tests (paths, artifacts, log tails)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "project"
ARTIFACTS = REPO / ".test-artifacts" / "editors"
INSTALL_HINT = f"run {REPO / 'scripts' / 'ensure-editors'} {Path(sys.prefix)}"


def cache_dir() -> Path:
    """Where scripts/ensure-editors keeps its installs (same rule as the script)."""
    if os.environ.get("SQL_LSP_CACHE"):
        return Path(os.environ["SQL_LSP_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sql-lsp"


def artifacts(name: str) -> Path:
    """A fresh folder for one test's artifacts (screenshots, logs), under the git-ignored .test-artifacts/."""
    out = ARTIFACTS / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def tail(path: Path, lines: int = 60) -> str:
    """The end of a log file, for failure messages."""
    if not path.is_file():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def dump(data: Any) -> str:
    """JSON for failure messages."""
    return json.dumps(data, indent=2, ensure_ascii=False)
