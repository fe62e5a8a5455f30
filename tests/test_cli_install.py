"""The built wheel: its distribution name is sql-review-lsp and it installs the sql-lsp command,
whose --version names the project (what the editors check before they start a server)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from sql_lsp import DISTRIBUTION, __version__

REPO = Path(__file__).resolve().parents[1]


def test_wheel_installs_the_sql_lsp_command(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = dist.glob("*.whl")
    assert wheel.name == f"sql_review_lsp-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        metadata = z.read(f"sql_review_lsp-{__version__}.dist-info/METADATA").decode()
        entry_points = z.read(f"sql_review_lsp-{__version__}.dist-info/entry_points.txt").decode()
    assert f"Name: {DISTRIBUTION}\n" in metadata
    assert "sql-lsp = sql_lsp.cli:main" in entry_points
    # installed (without its dependencies, which this interpreter has) into a fresh target
    target = tmp_path / "target"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run(
        [*pip, "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    command = target / "bin" / "sql-lsp"
    assert command.is_file()
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        f"sql-lsp {__version__} (sql-review-lsp; https://github.com/sql-lsp/sql-lsp)\n"
    )
