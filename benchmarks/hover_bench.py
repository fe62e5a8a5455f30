"""Hover-with-plan latency of the real language server against a real PostgreSQL on loopback.

A throwaway cluster is created and started (tests/live/pg_cluster.py: initdb + pg_ctl in a
temporary directory, as the `postgres` user when run as root) and loaded with the shop schema
and data of the live tests (tests/live/shop.sql, HypoPG, a read-only role that logs in with a
password). With `--database-url URL` (a superuser URL) a throwaway database and role are made
there instead, and dropped at the end.

The server (`python -m sql_lsp` on stdio, driven by lspclient.py) is initialised with
`database.url` set to the read-only role, a file of queries is opened, and each statement is
hovered several times at distinct positions. The first hover of a statement is "cold" (the
statement was just edited); the later ones are "warm". Every hover asks the database afresh.

    .venv/bin/python benchmarks/hover_bench.py
    .venv/bin/python benchmarks/hover_bench.py --rounds 10 --json
    .venv/bin/python benchmarks/hover_bench.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Target: warm median <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / ".generated"
LIVE = HERE.parent / "tests" / "live"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(LIVE))

from lspclient import LspClient, ServerGone  # noqa: E402

TARGET_MEDIAN_MS = 10.0
PLAN = re.compile(r"\(cost=\d")

# queries on the shop schema of the live tests (tests/live/shop.sql); no DML: the read-only
# role may not EXPLAIN what it may not run
QUERIES = [
    "SELECT id, email FROM users WHERE lower(email) = 'user42@example.com';",
    "SELECT o.id, o.total, u.email FROM orders o JOIN users u ON u.id = o.user_id\n"
    "WHERE o.status = 'paid' ORDER BY o.created_at DESC LIMIT 20;",
    "SELECT user_id, count(*) AS n, sum(total) AS spent FROM orders\n"
    "WHERE created_at >= now() - interval '30 days' GROUP BY user_id ORDER BY spent DESC LIMIT 10;",
    "SELECT p.sku, p.title, sum(i.quantity) AS sold FROM order_items i\n"
    "JOIN products p ON p.id = i.product_id GROUP BY p.sku, p.title ORDER BY sold DESC LIMIT 5;",
    "SELECT id, username FROM users WHERE created_at BETWEEN '2024-01-02' AND '2024-01-03';",
    "SELECT id, total FROM orders WHERE user_id = $1 AND status <> 'done' ORDER BY created_at DESC;",
    "SELECT count(*) FROM order_items WHERE product_id = 17 AND quantity > 10;",
    "SELECT id, status FROM orders WHERE id = 42 AND status = 'paid';",
    "SELECT order_id, line, quantity FROM order_items WHERE order_id = 7 AND line = 2;",
    "SELECT s.id, i.quantity FROM shipments s\n"
    "JOIN order_items i ON (i.order_id, i.line) = (s.order_id, s.line) WHERE s.id = 3;",
    "SELECT u.id, u.email FROM users u\n"
    "WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id) LIMIT 50;",
    "WITH recent AS (\n  SELECT user_id, max(created_at) AS last FROM orders GROUP BY user_id\n)\n"
    "SELECT u.email, r.last FROM recent r JOIN users u ON u.id = r.user_id\n"
    "ORDER BY r.last DESC LIMIT 10;",
    "SELECT country, count(*) FROM users WHERE deleted_at IS NULL GROUP BY country;",
    "SELECT * FROM products WHERE sku LIKE 'SKU-1%';",
    "SELECT id FROM users WHERE username = 'user7';",
    "SELECT order_id, sum(quantity) FROM order_items GROUP BY order_id HAVING sum(quantity) > 30;",
    "SELECT id, total FROM big_orders WHERE user_id = :uid;",
    "SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id\n"
    "WHERE i.product_id = %(product)s;",
    "SELECT id, email FROM users ORDER BY created_at DESC LIMIT 100 OFFSET 200;",
    "SELECT date_trunc('day', created_at) AS day, count(*) FROM orders GROUP BY 1 ORDER BY 1;",
]
PRIMER = "SELECT 1;"  # hovered until a plan shows: the pool and the live catalog are ready


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "min_ms": round(min(values), 2),
        "max_ms": round(max(values), 2),
    }


def positions(text: str, start: int, rounds: int) -> list[int]:
    """`rounds` distinct offsets inside the statement at `start`: the start of each word (its
    first keyword first), wrapping onto the second character of words when it runs out."""
    words = [start + m.start() for m in re.finditer(r"[A-Za-z_*][\w.]*", text)]
    out = list(words)
    out += [w + 1 for w in words if text[w - start + 1 : w - start + 2].isalnum()]
    while len(out) < rounds:
        out += out
    return out[:rounds]


def setup_database(url: str | None) -> tuple[dict, callable]:
    """The shop database: (urls, cleanup)."""
    from live_support import drop_databases, load_databases, url_with
    from pg_cluster import Cluster
    from psycopg.conninfo import conninfo_to_dict

    suffix = secrets.token_hex(4)
    role = f"lsp_bench_{suffix}"
    password = f"Bench-{secrets.token_hex(6)}"
    cluster = None
    if url:
        base, dbname = url, f"sql_lsp_bench_{suffix}"
    else:
        cluster = Cluster.create()
        cluster.start()
        base, dbname = cluster.url("postgres"), "shop"
    try:
        shop, _ = load_databases(base, dbname, role, password)
    except BaseException:
        if cluster is not None:
            cluster.destroy()
        raise
    params = conninfo_to_dict(shop)
    ro = url_with(shop, user=role, password=password)

    def cleanup() -> None:
        if cluster is not None:
            cluster.destroy()
        else:
            drop_databases(base, dbname, role)

    where = "throwaway cluster" if cluster else "given server"
    return {"ro_url": ro, "where": f"{where} {params.get('host')}:{params.get('port')}"}, cleanup


def hover(client: LspClient, uri: str, pos: dict) -> tuple[float, str]:
    client.next_id += 1
    ident = client.next_id
    t0 = client.send(
        {
            "jsonrpc": "2.0",
            "id": ident,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": pos},
        }
    )
    t1, msg = client.wait(lambda m: m.get("id") == ident and "method" not in m, timeout=60)
    result = msg.get("result") or {}
    contents = result.get("contents") if isinstance(result, dict) else None
    text = contents.get("value", "") if isinstance(contents, dict) else str(contents or "")
    return (t1 - t0) * 1000, text


def run(ro_url: str, rounds: int, prime_s: float) -> dict:
    stmts = [PRIMER, *QUERIES]
    text = "\n\n".join(stmts) + "\n"
    root = OUT / "hover-root"
    root.mkdir(parents=True, exist_ok=True)
    (root / "sql-lsp.toml").write_text("")
    path = root / "queries.sql"
    path.write_text(text)
    uri = path.as_uri()
    starts, pos = [], 0
    for s in stmts:
        starts.append(pos)
        pos += len(s) + 2
    offsets = [positions(s, start, rounds) for s, start in zip(QUERIES, starts[1:], strict=True)]
    version = 1

    def lsp_position(offset: int) -> dict:
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        line = max(i for i, s in enumerate(line_starts) if s <= offset)
        return {"line": line, "character": offset - line_starts[line]}

    client = LspClient(cwd=root)
    try:
        client.initialize(root, {"database": {"url": ro_url}, "diagnostics": {"debounceMs": 0}})
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "sql", "version": version, "text": text}},
        )
        client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics", timeout=60)
        # wait until the server answers with a plan (pool open, live catalog read)
        deadline = time.perf_counter() + prime_s
        primed = False
        prime_times = []
        while time.perf_counter() < deadline:
            ms, md = hover(client, uri, lsp_position(starts[0]))
            prime_times.append(ms)
            if PLAN.search(md):
                primed = True
                break
            time.sleep(0.2)
        cold, warm, with_plan, total, missing = [], [], 0, 0, []
        cold_plan, warm_plan = [], []
        for r in range(rounds):
            for i, stmt_offsets in enumerate(offsets):
                if r == 0:
                    # the server plans the statements of a file when it is opened: change the
                    # text (a space after the first word) so that this hover finds no plan
                    at = stmt_offsets[0] + QUERIES[i].index(" ")
                    version += 1
                    change = {
                        "range": {"start": lsp_position(at), "end": lsp_position(at)},
                        "text": " ",
                    }
                    client.notify(
                        "textDocument/didChange",
                        {
                            "textDocument": {"uri": uri, "version": version},
                            "contentChanges": [change],
                        },
                    )
                    text = text[:at] + " " + text[at:]
                    for lst in offsets:
                        lst[:] = [o + 1 if o > at else o for o in lst]
                    client.wait(
                        lambda m, v=version: (
                            m.get("method") == "textDocument/publishDiagnostics"
                            and m["params"].get("version") == v
                        ),
                        timeout=60,
                    )
                ms, md = hover(client, uri, lsp_position(stmt_offsets[r]))
                (cold if r == 0 else warm).append(ms)
                total += 1
                if PLAN.search(md):
                    with_plan += 1
                    (cold_plan if r == 0 else warm_plan).append(ms)
                else:
                    o = stmt_offsets[r]
                    said = md.strip().splitlines()[-1] if md.strip() else "(no hover)"
                    missing.append(f"{text[o : o + 12].splitlines()[0]!r}: {said[:120]}")
        memory = client.peak_rss_kb()
    finally:
        client.close()
    return {
        "statements": len(QUERIES),
        "rounds": rounds,
        "plan_in_hover": f"{with_plan}/{total}",
        "no_plan_at": missing,
        "primed": primed,
        "first_hover_ms": round(prime_times[0], 2) if prime_times else None,
        "cold": summary(cold),
        "warm": summary(warm),
        "cold_with_plan": summary(cold_plan),
        "warm_with_plan": summary(warm_plan),
        "peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help="a superuser URL: use this server, not a new cluster")
    p.add_argument("--rounds", type=int, default=8, help="hovers per statement (default 8)")
    p.add_argument(
        "--prime-seconds",
        type=float,
        default=15.0,
        help="how long to wait for the first plan (default 15)",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.rounds < 2:
        p.error("--rounds must be at least 2 (one cold, then warm)")
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    db, cleanup = setup_database(args.database_url)
    try:
        result = run(db["ro_url"], args.rounds, args.prime_seconds)
    except ServerGone as e:
        print(f"hover_bench: {e}", file=sys.stderr)
        return 1
    finally:
        cleanup()
    result["database"] = db["where"]
    warm = result["warm_with_plan"].get("median_ms")
    result["target"] = {
        "target": f"warm hover-with-plan median <= {TARGET_MEDIAN_MS:g} ms",
        "met": warm is not None and warm <= TARGET_MEDIAN_MS,
    }
    if args.json:
        print(json.dumps({"date": started, **result}, indent=2))
        return 0
    print(f"sql-lsp hover through stdio, PostgreSQL on loopback ({result['database']}), {started}")
    print(
        f"{result['statements']} statements x {args.rounds} hovers at distinct positions; "
        f"hovers showing a plan: {result['plan_in_hover']}"
        + ("" if result["primed"] else "  (no plan ever shown: plan hover not available)")
    )
    print(f"first hover of the session (pool opening): {result['first_hover_ms']} ms")
    print(f"{'hovers':15} {'n':>4} {'median':>9} {'p95':>9} {'min':>9} {'max':>9}")
    rows = ["cold", "warm"]
    if result["cold_with_plan"] != result["cold"] or result["warm_with_plan"] != result["warm"]:
        rows += ["cold_with_plan", "warm_with_plan"]
    for name in rows:
        s = result[name]
        if not s["n"]:
            print(f"{name:15} {0:>4}")
            continue
        print(
            f"{name:15} {s['n']:>4} {s['median_ms']:>7.2f}ms {s['p95_ms']:>7.2f}ms "
            f"{s['min_ms']:>7.2f}ms {s['max_ms']:>7.2f}ms"
        )
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB")
    shown = "no plan was shown" if warm is None else f"{warm:.2f} ms"
    print(
        f"target: {result['target']['target']}: {shown} "
        f"({'met' if result['target']['met'] else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
