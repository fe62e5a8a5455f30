"""Cold `sql-lsp check` of a generated 10,000-statement file, beside a bare sqlglot parse of the
same text, in one run (both as fresh processes, wall time, best and median of N runs).

    python benchmarks/check_bench.py                    # sql-lsp and bare sqlglot
    python benchmarks/check_bench.py --tools            # also sqlfluff and squawk (installed into
                                                        # their own venv, /tmp/sql-lsp-bench-tools,
                                                        # on first use; never the project's)
    python benchmarks/check_bench.py --statements 1000 --runs 5

Target: sql-lsp within 1.5x the bare parse.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / ".generated"
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

BARE = (
    "import sqlglot, sys, sqlglot.tokens as t; "
    "sqlglot.parse(open(sys.argv[1], encoding='utf-8').read(), read='postgres'); "
    "print('compiled' if getattr(t, 'SQLGLOTC_INSTALLED', False) else 'pure')"
)


def timed(cmd: list[str], runs: int, env: dict | None = None) -> tuple[list[float], str]:
    times = []
    out = ""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t0)
        out = proc.stdout
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    return times, out


TOOLS_VENV = Path(tempfile.gettempdir()) / "sql-lsp-bench-tools"


def tools_venv(venv: Path) -> Path:
    if not (venv / "bin" / "sqlfluff").exists() or not (venv / "bin" / "squawk").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "sqlfluff", "squawk-cli"], check=True
        )
    return venv


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--statements", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tools", action="store_true", help="also time sqlfluff and squawk")
    p.add_argument(
        "--tools-venv",
        type=Path,
        default=TOOLS_VENV,
        help=f"the venv holding sqlfluff and squawk-cli (default {TOOLS_VENV})",
    )
    args = p.parse_args()

    folder = OUT / f"check{args.statements}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sql-lsp.toml").write_text("")  # its own project: nothing else is scanned
    path = folder / "big.sql"
    text = generate(args.statements)
    path.write_text(text)
    print(f"file: {path} ({args.statements} statements, {len(text) / 1e6:.2f} MB)")

    bin_dir = Path(sys.executable).parent
    sql_lsp = str(bin_dir / "sql-lsp") if (bin_dir / "sql-lsp").exists() else "sql-lsp"
    rows = []
    bare, kind = timed([sys.executable, "-c", BARE, str(path)], args.runs)
    rows.append((f"bare sqlglot.parse ({kind.strip()})", bare, ""))
    ours, out = timed([sql_lsp, "check", "--format", "json", str(path)], args.runs)
    findings = json.loads(out)
    rows.append(("sql-lsp check", ours, f"{len(findings)} findings"))
    if args.tools:
        venv = tools_venv(args.tools_venv)
        fluff_config = folder / "sqlfluff.cfg"  # no size limit (by default it skips > 20 kB)
        fluff_config.write_text("[sqlfluff]\ndialect = postgres\nlarge_file_skip_byte_limit = 0\n")
        fluff, _ = timed(
            [
                str(venv / "bin" / "sqlfluff"),
                "lint",
                "--config",
                str(fluff_config),
                "--disable-progress-bar",
                "--processes",
                "1",
                "--nofail",
                str(path),
            ],
            1,
        )
        rows.append(("sqlfluff lint (1 process)", fluff, "1 run"))
        squawk, _ = timed([str(venv / "bin" / "squawk"), str(path)], args.runs)
        rows.append(("squawk", squawk, ""))

    base = min(bare)
    print(f"{'tool':34} {'best':>8} {'median':>8} {'x bare':>7}")
    for name, times, note in rows:
        print(
            f"{name:34} {min(times):7.2f}s {statistics.median(times):7.2f}s "
            f"{min(times) / base:6.2f}x  {note}"
        )
    ratio = min(ours) / base
    print(
        f"target: sql-lsp within 1.5x of the bare parse -> {ratio:.2f}x "
        f"({'met' if ratio <= 1.5 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
