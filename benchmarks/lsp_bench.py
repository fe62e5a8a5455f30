"""Diagnostics latency and memory of the real language server (`python -m sql_lsp` on stdio).

For each size (generated scripts of DDL and queries, see generate.py) a fresh server is started
and driven by a hand-written JSON-RPC client (lspclient.py):

- cold open: `didOpen` of the whole file -> its first `publishDiagnostics` ("first": the
  findings of its first lines, for a file of over 500 lines) and its last one ("all": the
  whole file; the open is over when no other comes for `--settle` seconds);
- edit: a one-character incremental `didChange` at a random place inside a random statement
  (a digit of a numeric literal changed, or a space added after a space) -> the
  `publishDiagnostics` of that version, with `diagnostics.debounceMs: 0`; median and p95;
- peak RSS of the server process (VmHWM in /proc/<pid>/status) after all of it.

    .venv/bin/python benchmarks/lsp_bench.py                         # 100, 1,000, 10,000 statements
    .venv/bin/python benchmarks/lsp_bench.py --sizes 10000 --edits 200
    .venv/bin/python benchmarks/lsp_bench.py --json

Targets: edit median <= 20 ms at 10,000 statements, and the 10,000-statement median within 2x
the 100-statement one (an edit costs what it changes, not the size of the file).
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / ".generated"
sys.path.insert(0, str(HERE))

from generate import statements as generate_statements  # noqa: E402
from lspclient import LspClient  # noqa: E402

TARGET_MEDIAN_MS = 20.0
TARGET_RATIO = 2.0
# a digit that starts a numeric literal (not part of an identifier or a $n parameter)
_NUMBER = re.compile(r"(?<![\w$.])\d+(?![\w.])")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Script:
    """The client's copy of the text: statement spans, line starts, one-character edits."""

    def __init__(self, stmts: list[str]) -> None:
        self.text = "\n".join(stmts) + "\n"
        self.spans = []
        pos = 0
        for s in stmts:
            self.spans.append([pos, pos + len(s)])
            pos += len(s) + 1
        self._lines()

    def _lines(self) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def position(self, offset: int) -> dict:
        line = bisect.bisect_right(self.starts, offset) - 1
        return {"line": line, "character": offset - self.starts[line]}  # ASCII text

    def random_edit(self, rng: random.Random) -> tuple[int, int, str, str]:
        """(start, end, new text, kind) of a one-character edit inside a random statement."""
        while True:
            i = rng.randrange(len(self.spans))
            start, end = self.spans[i]
            body = self.text[start:end]
            if rng.random() < 0.5:
                numbers = list(_NUMBER.finditer(body))
                if numbers:
                    m = rng.choice(numbers)
                    at = start + m.end() - 1  # the last digit: never makes a leading zero
                    old = self.text[at]
                    new = str((int(old) + rng.randrange(1, 10)) % 10)
                    return at, at + 1, new, "literal"
            spaces = [m.end() for m in re.finditer(" ", body)]
            if spaces:
                at = start + rng.choice(spaces)
                return at, at, " ", "space"

    def apply(self, start: int, end: int, new: str) -> None:
        self.text = self.text[:start] + new + self.text[end:]
        delta = len(new) - (end - start)
        if delta:
            for span in self.spans:
                if span[0] >= end:
                    span[0] += delta
                    span[1] += delta
                elif span[1] >= end:
                    span[1] += delta
        self._lines()


def run_size(
    n: int,
    edits: int,
    warmup: int,
    seed: int,
    root: Path,
    options: dict | None = None,
    settle: float = 8.0,
) -> dict:
    stmts = generate_statements(n)
    script = Script(stmts)
    files = OUT / "lsp-files"
    files.mkdir(parents=True, exist_ok=True)
    path = files / f"bench{n}.sql"
    path.write_text(script.text)
    uri = path.as_uri()
    rng = random.Random(seed)

    client = LspClient(cwd=root)
    try:
        client.initialize(root, {**(options or {}), "diagnostics": {"debounceMs": 0}})
        client.drain(0.3)  # let the (empty) workspace scan finish
        version = 1
        t0 = client.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "sql",
                    "version": version,
                    "text": script.text,
                }
            },
        )

        def opened(m: dict) -> bool:
            return (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )

        t1, msg = client.wait(opened, timeout=600)
        cold_ms = (t1 - t0) * 1000
        # the first lines of a large file are published first, then the whole file
        t2, msg = client.settle(opened, (t1, msg), settle)
        all_ms = (t2 - t0) * 1000
        cold_diags = len(msg["params"]["diagnostics"])

        times: list[float] = []
        kinds = {"literal": 0, "space": 0}
        last_diags = cold_diags
        for k in range(warmup + edits):
            start, end, new, kind = script.random_edit(rng)
            rng_json = {"start": script.position(start), "end": script.position(end)}
            version += 1
            want = version
            t0 = client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": rng_json, "text": new}],
                },
            )
            t1, msg = client.wait(
                lambda m, want=want: (
                    m.get("method") == "textDocument/publishDiagnostics"
                    and m["params"]["uri"] == uri
                    and m["params"].get("version") == want
                ),
                timeout=120,
            )
            script.apply(start, end, new)
            last_diags = len(msg["params"]["diagnostics"])
            if k >= warmup:
                times.append((t1 - t0) * 1000)
                kinds[kind] += 1
        memory = client.peak_rss_kb()
    finally:
        client.close()
    return {
        "statements": n,
        "bytes": len(script.text.encode()),
        "cold_open_ms": round(cold_ms, 1),
        "cold_open_all_ms": round(all_ms, 1),
        "diagnostics": cold_diags,
        "diagnostics_after_edits": last_diags,
        "edits": len(times),
        "edit_kinds": kinds,
        "edit_median_ms": round(statistics.median(times), 2),
        "edit_p95_ms": round(percentile(times, 95), 2),
        "edit_min_ms": round(min(times), 2),
        "edit_max_ms": round(max(times), 2),
        "peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
        "rss_end_mb": round(memory.get("VmRSS", 0) / 1024, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        default="100,1000,10000",
        help="comma-separated statement counts (default: 100,1000,10000)",
    )
    p.add_argument("--edits", type=int, default=100, help="timed edits per size (default 100)")
    p.add_argument("--warmup", type=int, default=5, help="untimed edits first (default 5)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--settle",
        type=float,
        default=8.0,
        help="seconds without a further publish after which the open has shown everything",
    )
    p.add_argument(
        "--init-options",
        type=json.loads,
        default=None,
        help='extra initializationOptions as JSON, e.g. \'{"rules": {"select-star": "off"}}\'',
    )
    args = p.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.edits < 1:
        p.error("--edits must be at least 1")

    root = OUT / "lsp-root"  # the workspace: no SQL files, only an empty settings file
    root.mkdir(parents=True, exist_ok=True)
    (root / "sql-lsp.toml").write_text("")
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results = []
    for n in sizes:
        if not args.json:
            print(f"... {n} statements", file=sys.stderr, flush=True)
        results.append(
            run_size(n, args.edits, args.warmup, args.seed, root, args.init_options, args.settle)
        )

    by_size = {r["statements"]: r for r in results}
    checks = []
    if 10_000 in by_size:
        m = by_size[10_000]["edit_median_ms"]
        checks.append(
            {
                "target": f"edit median <= {TARGET_MEDIAN_MS:g} ms at 10,000 statements",
                "value": f"{m:.2f} ms",
                "met": m <= TARGET_MEDIAN_MS,
            }
        )
    if 10_000 in by_size and 100 in by_size:
        ratio = by_size[10_000]["edit_median_ms"] / by_size[100]["edit_median_ms"]
        checks.append(
            {
                "target": f"edit median at 10,000 <= {TARGET_RATIO:g}x the one at 100",
                "value": f"{ratio:.2f}x",
                "met": ratio <= TARGET_RATIO,
            }
        )

    if args.json:
        print(
            json.dumps(
                {
                    "date": started,
                    "python": sys.version.split()[0],
                    "results": results,
                    "targets": checks,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"sql-lsp over stdio, {started}, {args.edits} edits per size after {args.warmup} "
        "untimed, debounceMs 0"
    )
    header = (
        f"{'statements':>10} {'MB':>5} {'diags':>6} {'first':>8} {'all':>8} "
        f"{'edit median':>12} {'edit p95':>9} {'edit max':>9} {'peak RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['statements']:>10,} {r['bytes'] / 1e6:>5.2f} {r['diagnostics']:>6} "
            f"{r['cold_open_ms']:>6.0f}ms {r['cold_open_all_ms']:>6.0f}ms "
            f"{r['edit_median_ms']:>10.2f}ms "
            f"{r['edit_p95_ms']:>7.2f}ms {r['edit_max_ms']:>7.2f}ms {r['peak_rss_mb']:>6.0f} MB"
        )
    for c in checks:
        print(f"target: {c['target']}: {c['value']} ({'met' if c['met'] else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
