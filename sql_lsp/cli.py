"""The command line: `sql-lsp [serve]`, `sql-lsp check PATH…`, `sql-lsp rules`, `sql-lsp rule ID`.

`check` prints one line per finding (`path:line:col: severity rule-id message`) or a JSON array,
and exits 0 when nothing at warning or above was found, 1 when something was, 2 on a usage,
configuration or I/O error (with one line on stderr).

With a database (`--database-url`, `database.url` in the settings file or `SQL_LSP_DATABASE_URL`;
libpq's `PG*` variables alone do not turn it on here) `check` also loads the live catalog, merges
it with the workspace's, plans the statements of the checked files and runs the database rules.
A database that cannot be reached is not an error of the command: one `sql-lsp: warning:` line on
stderr, and the files are checked with the offline rules (exit 0 or 1 as usual). An unparseable
connection string is a configuration error (exit 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import gc
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sql_lsp import version_line

# the settings, the linter, the rules and what they parse with are imported by the commands that
# use them: `sql-lsp --version`, `--help` and the server's start do not pay for them
if TYPE_CHECKING:
    from sql_lsp.cache import Cache
    from sql_lsp.catalog.model import Catalog
    from sql_lsp.config import (
        Config,
    )
    from sql_lsp.document import Document
    from sql_lsp.lint import Linter
    from sql_lsp.live import DatabaseFacts
    from sql_lsp.report import (
        Reported,
    )
    from sql_lsp.rules.base import Rule

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FAILING = ("warning", "error")
MAX_FIX_PASSES = 10
BOM = b"\xef\xbb\xbf"


class UsageError(Exception):
    """Something the user must correct; printed as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    from sql_lsp.redaction import RedactingStream, Redactor

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help", "--version")):
        args = ["serve", *args]
    redactor = Redactor()  # no password in any output, whatever the shape of the URL
    redactor.add_environment()
    redactor.add(*(a.split("=", 1)[-1] for a in args))
    if not redactor.secrets:
        return _main(args)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(stdout, redactor)  # type: ignore[assignment]
    sys.stderr = RedactingStream(stderr, redactor)  # type: ignore[assignment]
    try:
        return _main(args)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _main(args: list[str]) -> int:
    parser = _parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as e:  # argparse already printed its message
        return EXIT_ERROR if e.code else EXIT_OK
    return _run(ns)


def _run(ns: argparse.Namespace) -> int:
    try:
        if ns.command == "check":
            return _check(ns)
        if ns.command == "rules":
            return _rules(ns)
        if ns.command == "rule":
            return _rule(ns)
        return _serve(ns)
    except UsageError as e:
        print(f"sql-lsp: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # the reader went away (`sql-lsp check … | head`): stop quietly, as cat and grep do;
        # stdout now points at /dev/null so the interpreter's final flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    from sql_lsp.report import FORMATS

    p = argparse.ArgumentParser(
        prog="sql-lsp",
        description=(
            "SQL language server and linter. With no command (or `serve`), serves the Language "
            "Server Protocol on stdio; `sql-lsp --tcp HOST:PORT` listens on a socket instead."
        ),
        epilog="`sql-lsp COMMAND --help` describes each command's options.",
    )
    p.add_argument("--version", action="version", version=version_line())
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="serve the Language Server Protocol (the default; --stdio, --tcp HOST:PORT, "
        "--log-file PATH)",
        description="Serve the Language Server Protocol, on stdin/stdout unless --tcp is given.",
    )
    _serve_options(serve)
    # `sql-lsp --tcp …` / `sql-lsp --log-file …` (no command) mean `sql-lsp serve …`: list them
    options = p.add_argument_group("language server options (the same as `sql-lsp serve …`)")
    _serve_options(options, top=True)

    check = sub.add_parser(
        "check",
        help="lint SQL files and folders",
        description="Lint SQL files and folders (every *.sql below a folder; - for stdin).",
    )
    check.add_argument(
        "paths", nargs="*", default=[], metavar="PATH", help="files or folders (- for stdin)"
    )
    out = check.add_argument_group("output")
    out.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=FORMATS,
        default="text",
        help="text (default), json, sarif (SARIF 2.1.0 for code scanning) or github "
        "(GitHub Actions annotations); --format is the same",
    )
    out.add_argument("--output-file", "-o", metavar="PATH", help="write the report to PATH")
    out.add_argument(
        "--statistics", action="store_true", help="print the number of findings per rule"
    )
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    rules = check.add_argument_group("rule selection (comma-separated rule ids; ALL: every rule)")
    for flag, what in (
        ("--select", "run only these rules (replaces `select` of the settings file)"),
        ("--extend-select", "run these rules in addition to the selected ones"),
        ("--ignore", "turn these rules off"),
    ):
        rules.add_argument(flag, metavar="RULES", action="append", default=[], help=what)
    files = check.add_argument_group("file selection (glob patterns, comma-separated)")
    files.add_argument(
        "--exclude",
        metavar="PATTERNS",
        action="append",
        default=None,
        help="files and folders not to check (replaces `exclude` of the settings file)",
    )
    files.add_argument(
        "--extend-exclude",
        metavar="PATTERNS",
        action="append",
        default=[],
        help="files and folders not to check, in addition to `exclude`",
    )
    files.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply the exclusions to paths named on the command line too (pre-commit)",
    )
    fixes = check.add_argument_group("fixes")
    fixes.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    fixes.add_argument(
        "--unsafe-fixes", action="store_true", help="with --fix or --diff, unsafe fixes too"
    )
    fixes.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff (patch -p1) instead of writing them; "
        "exit 1 when there is one",
    )
    config = check.add_argument_group("configuration")
    config.add_argument(
        "--config", metavar="FILE", help="settings file (default: found from the paths)"
    )
    config.add_argument("--dialect", choices=("postgres", "mysql", "sqlite"))
    config.add_argument("--database-url", metavar="URL", help="also use this PostgreSQL database")
    config.add_argument("--stdin-filename", metavar="PATH", help="name to report for stdin")
    caching = check.add_argument_group("cache")
    caching.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the cache of unchanged files' findings",
    )
    caching.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the cache folder (default: $SQL_LSP_CACHE_DIR, else .sql-lsp-cache in the "
        "folder of the settings file, or the current folder)",
    )

    sub.add_parser("rules", help="list the rules", description="List the rules.")
    rule = sub.add_parser(
        "rule", help="print one rule's documentation", description="Print a rule's documentation."
    )
    rule.add_argument("id")
    return p


def _serve_options(group: Any, *, top: bool = False) -> None:
    """The options of `serve`, also listed (and accepted) without the command."""
    group.add_argument("--stdio", action="store_true", help="serve on stdin/stdout (the default)")
    group.add_argument("--tcp", metavar="HOST:PORT", help="serve on a TCP socket instead")
    group.add_argument(
        "--log-file", metavar="PATH", help="also write the server log to PATH (nothing else does)"
    )
    if not top:
        group.add_argument("--version", action="version", version=version_line())


# -- check ------------------------------------------------------------------------------------


def _check(ns: argparse.Namespace) -> int:
    # a short-lived process that builds millions of parse-tree objects and frees none of them:
    # the cyclic garbage collector would only rescan them over and over
    gc.disable()
    if ns.fix and ns.diff:
        raise UsageError("--fix and --diff cannot be used together (--diff writes nothing)")
    groups = _projects(ns, ns.paths or ["."])
    if len(groups) == 1:
        checked = _check_paths(ns, groups[0])
        return checked if isinstance(checked, int) else _finish(ns, *checked)
    # several projects: each with its own settings and catalog, one report
    results: list[Reported] = []
    fixed: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    unanalysed = 0
    codes = []
    for paths in groups:
        checked = _check_paths(ns, paths)
        if isinstance(checked, int):
            codes.append(checked)
            continue
        results.extend(checked[0])
        fixed.update(checked[1])
        shown.update(checked[2])
        unanalysed += checked[4]
    if ns.diff:
        return max(codes, default=EXIT_OK)
    return _finish(ns, results, fixed, shown, None, unanalysed)


def _projects(ns: argparse.Namespace, paths: list[str]) -> list[list[str]]:
    """The paths, split by project: a folder named that holds projects of its own (folders
    with their own settings file) is checked as those projects, each with its own settings
    and catalog (two unrelated schemas are not one catalog), then the rest of its files with
    the folder's settings. One group when there is one project (or --config, or stdin)."""
    from sql_lsp.config import find_config_file
    from sql_lsp.project import sql_files

    if ns.config or "-" in paths:
        return [paths]
    groups: dict[Path | None, list[str]] = {}
    for p in paths:
        path = Path(p)
        if not path.is_dir():
            groups.setdefault(_config_of(path), []).append(p)
            continue
        own = _config_of(path)
        config_of: dict[Path, Path | None] = {}
        nested: dict[Path, Path] = {}  # settings file -> its project folder below `path`
        rest: list[Path] = []
        for f in sql_files(path):
            folder = f.parent
            if folder not in config_of:
                config_of[folder] = find_config_file(folder)
            config = config_of[folder]
            if config is not None and config != own and path.resolve() in config.parents:
                nested.setdefault(config, config.parent)
            else:
                rest.append(f)
        if not nested:
            groups.setdefault(own, []).append(p)
            continue
        for config, folder in sorted(nested.items()):
            groups.setdefault(config, []).append(str(folder))
        if rest:  # the folder's own files, with its settings
            excluded_here = _excluded_by(own, rest)
            groups.setdefault(own, []).extend(str(f) for f in rest if f not in excluded_here)
    return [g for g in groups.values() if g]


def _config_of(path: Path) -> Path | None:
    from sql_lsp.config import find_config_file

    found = find_config_file(path)
    return found.resolve() if found is not None else None


def _excluded_by(config_file: Path | None, files: list[Path]) -> set[Path]:
    """Which of `files` the settings file excludes (`exclude`, `extend-exclude`)."""
    from sql_lsp.config import load_config

    if config_file is None:
        return set()
    try:
        config, _ = load_config(file=config_file)
    except Exception:  # its errors are reported when its files are checked
        return set()
    return {f for f in files if excluded(f, config.excluded)}


def _check_paths(
    ns: argparse.Namespace, paths: list[str]
) -> int | tuple[list[Reported], dict[str, list[str]], dict[str, str], str | None, int]:
    """Check one project's `paths`: what `_finish` reports, or the exit code of --diff."""
    from sql_lsp.project import SkippedFile, anchors, catalog_uris, read_sql, uri_of
    from sql_lsp.report import Progress

    ns.cache_root = None if ns.no_cache else _cache_root(ns, paths)
    config = _selection(ns, _config(ns, paths))
    targets = _targets(paths, config, force_exclude=ns.force_exclude)
    use_stdin = "-" in paths
    # bytes, as files are read: the text keeps its line endings and `--fix` writes it back as is
    stdin_bytes = sys.stdin.buffer.read() if use_stdin else None
    roots = _roots(paths)
    catalog_files = _catalog_files(targets, roots, config)
    progress = Progress(len(catalog_files) + len(targets), sys.stderr)
    texts: dict[str, str] = {}
    shown: dict[str, str] = {}
    for n, path in enumerate(catalog_files):
        progress.step(n, "reading")
        uri = uri_of(path)
        try:
            texts[uri] = read_sql(path)
        except SkippedFile as e:
            _note(f"{_display(path)}: {e}; skipped")
            continue
        except OSError as e:
            if path in targets:
                raise UsageError(f"{path}: cannot read: {e.strerror or e}") from e
            continue
    for path in targets:
        shown[uri_of(path)] = _display(path)
    stdin_uri = None
    if stdin_bytes is not None:
        name = ns.stdin_filename or "-"
        stdin_uri = uri_of(Path(name)) if ns.stdin_filename else "stdin:-"
        stdin_text = stdin_bytes.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
        texts[stdin_uri] = stdin_text
        shown[stdin_uri] = name
    order = catalog_uris(texts, config.catalog, anchors(config, roots))
    live = _database(config)
    # the cache is for plain checks of files: --fix and --diff rewrite them, stdin has no
    # file, and a database's catalog and plans are not the files' alone
    cache = _cache(ns, config) if not (ns.fix or ns.diff or live or stdin_uri) else None
    if cache is not None:
        try:
            results, unanalysed = _check_cached(ns, cache, config, texts, order, shown, progress)
        finally:
            progress.done()
        return results, {}, shown, None, unanalysed
    from sql_lsp.document import Document
    from sql_lsp.lint import Linter

    # a plain check lints each statement once: parse each when first read, drop its tree after
    plain = not (ns.fix or ns.diff)
    docs = {u: Document(u, t, dialect=config.dialect, lazy=plain) for u, t in texts.items()}
    del texts
    originals = {u: docs[u].text for u in shown if u in docs}
    try:
        database_catalog = live.load() if live is not None else None
        # ... and a large file's second half is checked by a child process meanwhile
        linter = Linter(config, release=plain, split=plain and live is None)

        fixed: dict[str, list[str]] = {}
        if ns.fix or ns.diff:
            fixed = _apply_fixes(
                ns, docs, order, shown, linter, database_catalog, live, stdin_uri, stdin_bytes
            )
            if ns.diff:
                progress.done()
                return _print_diff(ns, docs, originals, shown, fixed)

        catalog = _catalog(docs, order, database_catalog)
        facts = live.facts([docs[u] for u in shown if u in docs]) if live is not None else None
        results: list[Reported] = []
        uris = [u for u in sorted(shown, key=lambda u: shown[u]) if u in docs]
        work = _Work(linter, docs.__getitem__, catalog, facts, shown, ns.unsafe_fixes)
        done = len(catalog_files)
        unanalysed = 0
        for found, count in _lint_files(work, uris, progress, done):
            results.extend(found)
            unanalysed += count
    finally:
        progress.done()
        if live is not None:
            live.close()
    return results, fixed, shown, stdin_uri, unanalysed


class _Work:
    """What linting one file of a check needs; a worker process inherits it (fork)."""

    def __init__(
        self,
        linter: Linter,
        document: Any,
        catalog: Catalog | None,
        facts: DatabaseFacts | None,
        shown: dict[str, str],
        unsafe_fixes: bool,
    ) -> None:
        self.linter = linter
        self.document = document  # uri -> Document
        self.catalog = catalog
        self.facts = facts
        self.shown = shown
        self.unsafe_fixes = unsafe_fixes

    def lint(self, uri: str) -> tuple[list[Reported], int]:
        """The findings of one file as reported, and how many of its statements no tree rule
        could read."""
        from sql_lsp.report import reported

        doc = self.document(uri)
        found = [
            reported(self.shown[uri], doc, f, unsafe_fixes=self.unsafe_fixes)
            for f in self.linter.lint(doc, self.catalog, self.facts)
        ]
        return found, _unanalysed(doc)


# files are linted in two processes when there are several and enough text to pay for them
PARALLEL_WORKERS = 2
PARALLEL_BYTES = 1_000_000
_WORK: _Work | None = None  # what a worker process lints with (set before the fork)


def _lint_in_worker(uri: str) -> tuple[list[Reported], int]:
    assert _WORK is not None
    _WORK.linter.split = False  # the workers already use every core
    return _WORK.lint(uri)


def _parallel(work: _Work, uris: list[str], size: int) -> bool:
    """Whether to lint `uris` in worker processes: several files, enough text, a fork (the
    catalog is inherited, not sent) and no database connection (not shared with a child)."""
    if len(uris) < 2 or size < PARALLEL_BYTES or work.facts is not None:
        return False
    import multiprocessing  # only now: importing it costs a one-file check a few ms

    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


def _lint_files(
    work: _Work, uris: list[str], progress: Any, done: int, size: int | None = None
) -> list[tuple[list[Reported], int]]:
    """`work.lint` of each of `uris`, in their order; in two processes when it pays."""
    global _WORK
    if size is None:
        size = sum(len(work.document(u).text) for u in uris)
    if not _parallel(work, uris, size):
        out = []
        for n, uri in enumerate(uris):
            progress.step(done + n + 1, work.shown[uri])
            out.append(work.lint(uri))
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORK = work
    gc.freeze()  # what the children inherit stays shared: no collection touches its pages
    try:
        context = multiprocessing.get_context("fork")
        workers = min(PARALLEL_WORKERS, len(uris))
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            out = []
            for n, (uri, result) in enumerate(
                zip(uris, pool.map(_lint_in_worker, uris), strict=True)
            ):
                progress.step(done + n + 1, work.shown[uri])
                out.append(result)
            return out
    finally:
        _WORK = None


def _finish(
    ns: argparse.Namespace,
    results: list[Reported],
    fixed: dict[str, list[str]],
    shown: dict[str, str],
    stdin_uri: str | None,
    unanalysed: int,
) -> int:
    """Report what was fixed and found; the exit code."""
    fixed_stdin = ns.fix and stdin_uri in fixed
    _report_fixes(fixed, shown, "fixed")
    _output(ns, results, sys.stderr if fixed_stdin else sys.stdout)
    if ns.statistics:
        _note_unanalysed(unanalysed)
    failing = any(r.severity in FAILING for r in results)
    return EXIT_FINDINGS if failing and not ns.exit_zero else EXIT_OK


def _cache_root(ns: argparse.Namespace, paths: list[str]) -> Path:
    """The cache folder: --cache-dir, else $SQL_LSP_CACHE_DIR, else .sql-lsp-cache in the
    folder of the settings file (the one `_config` reads), else in the current folder."""
    from sql_lsp.cache import default_dir
    from sql_lsp.config import find_config_file

    if ns.cache_dir:
        return Path(ns.cache_dir)
    if ns.config:
        source: Path | None = Path(ns.config)
    else:
        start = next((Path(p) for p in paths if p != "-" and Path(p).exists()), Path.cwd())
        source = find_config_file(start)
    return default_dir(source.resolve().parent if source is not None else Path.cwd())


def _known_rules(ns: argparse.Namespace) -> list[str]:
    """The ids of the rules (what settings and options are checked against). A check answered
    from the cache reads them there: importing the rules would cost most of its time."""
    known: list[str] | None = getattr(ns, "known_rules", None)
    if known is None:
        root = getattr(ns, "cache_root", None)
        if root is not None:
            from sql_lsp.cache import read_rule_ids

            known = read_rule_ids(root)
        ns.rules_stored = known is not None
        if known is None:
            from sql_lsp.rules import RULES_BY_ID

            known = list(RULES_BY_ID)
        ns.known_rules = known
    return known


def _cache(ns: argparse.Namespace, config: Config) -> Cache | None:
    """The persistent cache of this check (see `sql_lsp.cache`), or None with --no-cache."""
    from sql_lsp.cache import Cache, settings_key

    if ns.cache_root is None:
        return None
    key = settings_key(config.key, config.catalog, config.dialect, ns.unsafe_fixes)
    explicit = bool(ns.cache_dir or os.environ.get("SQL_LSP_CACHE_DIR"))
    return Cache(ns.cache_root, key, explicit=explicit)


def _check_cached(
    ns: argparse.Namespace,
    cache: Cache,
    config: Config,
    texts: dict[str, str],
    order: list[str],
    shown: dict[str, str],
    progress: Any,
) -> tuple[list[Reported], int]:
    """The findings of the files in `shown`, from the cache where their text and the catalog
    generation are those of the entry; the others are linted (and stored)."""
    from sql_lsp.cache import Entry, ddl_fingerprint, generation, text_hash
    from sql_lsp.report import Reported

    docs: dict[str, Document] = {}

    def document(uri: str) -> Document:
        doc = docs.get(uri)
        if doc is None:
            from sql_lsp.document import Document

            doc = docs[uri] = Document(uri, texts[uri], dialect=config.dialect, lazy=True)
        return doc

    def fingerprint(uri: str) -> str:
        from sql_lsp.project import applied_statements

        doc = document(uri)
        return ddl_fingerprint((s.catalog_ordinal, s.text) for s in applied_statements(doc))

    paths = {u: _path_of(u) for u in texts}
    hashes = {u: text_hash(t) for u, t in texts.items()}
    entries: dict[str, Entry | None] = {}
    for uri in texts:
        entry = cache.get(paths[uri])
        entries[uri] = entry if entry is not None and entry.text == hashes[uri] else None
    ddl: dict[str, str] = {}
    for uri in order:
        entry = entries[uri]
        ddl[uri] = entry.ddl if entry is not None else fingerprint(uri)
    current = generation([(u, ddl[u]) for u in order])

    checked = [u for u in sorted(shown, key=lambda u: shown[u]) if u in texts]
    stale = [
        u
        for u in checked
        if (e := entries[u]) is None or e.generation != current or e.findings is None
    ]
    linted: dict[str, tuple[list[Reported], int]] = {}
    if stale:
        from sql_lsp.lint import Linter

        linter = Linter(config, release=True, split=True)
        catalog = _catalog({u: document(u) for u in order}, order)
        work = _Work(linter, document, catalog, None, shown, ns.unsafe_fixes)
        size = sum(len(texts[u]) for u in stale)
        found = _lint_files(work, stale, progress, len(texts) + len(checked) - len(stale), size)
        linted = dict(zip(stale, found, strict=True))
    results: list[Reported] = []
    unanalysed = 0
    for n, uri in enumerate(checked):
        if uri not in linted:
            progress.step(len(texts) + n + 1, shown[uri])
            entry = entries[uri]
            assert entry is not None and entry.findings is not None
            results.extend(Reported(shown[uri], *row) for row in entry.findings)
            unanalysed += entry.unanalysed
            cache.touch(paths[uri])
            continue
        reported_, count = linted[uri]
        results.extend(reported_)
        unanalysed += count
        rows = [list(dataclasses.astuple(r)[1:]) for r in reported_]
        fp = ddl[uri] if uri in ddl else fingerprint(uri)
        cache.put(paths[uri], Entry(hashes[uri], fp, current, rows, count))
    for uri in order:  # catalog files that are not checked: their DDL fingerprint
        if uri not in shown and entries[uri] is None:
            cache.put(paths[uri], Entry(hashes[uri], ddl[uri]))
    cache.save()
    if not getattr(ns, "rules_stored", True):
        from sql_lsp.cache import write_rule_ids

        write_rule_ids(cache.root, _known_rules(ns))
    return results, unanalysed


def _output(ns: argparse.Namespace, results: list[Reported], out: IO[str]) -> None:
    """The report (or the statistics) on `out`, or in --output-file."""
    if ns.output_file:
        try:
            with open(ns.output_file, "w", encoding="utf-8", newline="\n") as f:
                _write(ns, results, f)
        except OSError as e:
            raise UsageError(f"{ns.output_file}: cannot write: {e.strerror or e}") from e
        return
    _write(ns, results, out)


def _write(ns: argparse.Namespace, results: list[Reported], out: IO[str]) -> None:
    from sql_lsp.report import format_statistics, statistics, write_report

    if ns.statistics:
        from sql_lsp.rules import ALL_RULES

        fmt = "json" if ns.format in ("json", "sarif") else "text"
        out.write(format_statistics(statistics(results, ALL_RULES), fmt))
        return
    if ns.format == "sarif":  # the only format that describes the rules
        from sql_lsp.rules import ALL_RULES

        write_report(ns.format, results, out, rules=ALL_RULES)
        return
    write_report(ns.format, results, out)


def _rule_ids(ns: argparse.Namespace, values: list[str], flag: str) -> tuple[str, ...]:
    """Comma-separated rule ids of a repeatable option; an unknown one is a usage error."""
    from sql_lsp.config import ALL

    known = set(_known_rules(ns))
    ids = tuple(i.strip() for v in values for i in v.split(",") if i.strip())
    for i in ids:
        if i != ALL and i not in known:
            raise UsageError(f"{flag}: unknown rule {i!r} (see `sql-lsp rules`)")
    return ids


def _patterns(values: list[str]) -> tuple[str, ...]:
    return tuple(p.strip() for v in values for p in v.split(",") if p.strip())


def _selection(ns: argparse.Namespace, config: Config) -> Config:
    """The settings file's rule and file selection with the command line's on top."""
    changes: dict[str, Any] = {}
    if ns.select:
        changes["select"] = _rule_ids(ns, ns.select, "--select")
    if ns.extend_select:
        changes["extend_select"] = (
            *config.extend_select,
            *_rule_ids(ns, ns.extend_select, "--extend-select"),
        )
    if ns.ignore:
        changes["ignore"] = (*config.ignore, *_rule_ids(ns, ns.ignore, "--ignore"))
    if ns.exclude is not None:
        changes["exclude"] = _patterns(ns.exclude)
    if ns.extend_exclude:
        changes["extend_exclude"] = (*config.extend_exclude, *_patterns(ns.extend_exclude))
    return dataclasses.replace(config, **changes) if changes else config


def _unanalysed(doc: Document) -> int:
    """How many statements of `doc` PostgreSQL accepts that no tree rule could read
    (statements sqlglot cannot build a tree for, or over the analysis budget)."""
    return sum(
        1
        for s in doc.statements
        if s.kind == "sql" and s.parsed is not None and s.parsed.unanalysed
    )


def _note_unanalysed(n: int) -> None:
    """With --statistics: the count of `_unanalysed` statements of the checked files."""
    if n:
        print(
            f"sql-lsp: note: {n} valid statement{'s' if n != 1 else ''} not analysed by the"
            " rules that read a parse tree (only their syntax and the catalog were checked)",
            file=sys.stderr,
        )


def _config(ns: argparse.Namespace, paths: list[str]) -> Config:
    from sql_lsp.config import ConfigError, load_config

    known = _known_rules(ns)
    try:
        if ns.config:
            file = Path(ns.config)
            if not file.is_file():
                raise UsageError(f"{ns.config}: no such configuration file")
            config, errors = load_config(file=file, known_rules=known)
        else:
            start = next((Path(p) for p in paths if p != "-" and Path(p).exists()), Path.cwd())
            config, errors = load_config(start, known_rules=known)
    except ConfigError as e:
        raise UsageError(str(e)) from e
    for message in errors:  # the key keeps its default; the check goes on
        print(f"sql-lsp: warning: {message}", file=sys.stderr)
    if ns.dialect:
        config = dataclasses.replace(config, dialect=ns.dialect)
    if ns.database_url:
        config = dataclasses.replace(
            config, database=dataclasses.replace(config.database, url=ns.database_url)
        )
    return config


def _targets(paths: list[str], config: Config, *, force_exclude: bool = False) -> list[Path]:
    """The files to check: each file named, and every *.sql below each folder named, minus
    the excluded ones (`exclude`, `extend-exclude`; named files only with --force-exclude)."""
    from sql_lsp.project import is_regular, sql_files

    patterns = config.excluded
    out: list[Path] = []
    for p in paths:
        if p == "-":
            continue
        path = Path(p)
        if not path.exists():
            raise UsageError(f"{p}: no such file or directory")
        if path.is_dir():
            out.extend(f for f in sql_files(path) if not excluded(f, patterns))
        elif not os.access(path, os.R_OK):
            raise UsageError(f"{p}: permission denied")
        elif not is_regular(path):  # a FIFO, a device: opening it could block
            _note(f"{p}: not a regular file; skipped (use - to read standard input)")
        elif not (force_exclude and excluded(path, patterns)):
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for path in out:
        r = path.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(path)
    return unique


def excluded(path: Path, patterns: Sequence[str]) -> bool:
    """Whether an exclusion pattern matches the file: its path relative to its project root
    (or the current folder), one of its folders' paths, or its own or a folder's name."""
    from sql_lsp.config import find_project_root

    if not patterns:
        return False
    resolved = path.resolve()
    root = find_project_root(resolved) or Path.cwd().resolve()
    try:
        parts = resolved.relative_to(root).parts
    except ValueError:
        parts = resolved.parts[1:]
    candidates = {"/".join(parts[: i + 1]) for i in range(len(parts))} | set(parts)
    return any(fnmatch.fnmatchcase(c, p.strip("/")) for c in candidates for p in patterns)


def _note(message: str) -> None:
    print(f"sql-lsp: note: {message}", file=sys.stderr)


def _roots(paths: list[str]) -> list[Path]:
    """The project roots of the paths (or their folders when there is no project root): where
    the catalog's files are found."""
    from sql_lsp.config import find_project_root

    roots: list[Path] = []
    starts = [Path(p) for p in paths if p != "-"] or [Path.cwd()]
    for start in starts:
        root = find_project_root(start)
        if root is None:
            root = start.resolve() if start.is_dir() else start.resolve().parent
        if root not in roots:
            roots.append(root)
    return roots


def _catalog_files(targets: list[Path], roots: list[Path], config: Config) -> list[Path]:
    """The files whose DDL makes the catalog: the targets, every *.sql of the project roots,
    and `catalog.paths`."""
    from sql_lsp.project import glob_files, sql_files

    files: dict[Path, Path] = {t.resolve(): t for t in targets}
    for root in sorted(roots):
        for f in sql_files(root):
            files.setdefault(f.resolve(), f)
        for f in glob_files(root, config.catalog.paths):
            files.setdefault(f.resolve(), f)
    return [files[k] for k in sorted(files)]


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path.resolve())


def _catalog(
    docs: dict[str, Document], order: list[str], database_catalog: Catalog | None = None
) -> Catalog:
    from sql_lsp.project import build_catalog

    catalog = build_catalog(docs[u] for u in order)
    if database_catalog is not None:
        catalog = catalog.merge(database_catalog)
    return catalog


class _Database:
    """The database during one `check`: a LiveState driven by one event loop."""

    def __init__(self, config: Config) -> None:
        import asyncio  # only with a database: `--version` and offline checks skip it

        from sql_lsp.live import LiveState

        self.runner = asyncio.Runner()
        self.state = LiveState(config)
        self.available = False

    def load(self) -> Catalog | None:
        """The live catalog, or None (with one warning line) when the database is down."""
        failure = self.state.db.failure
        if failure is not None:  # a connection string that cannot be parsed
            raise UsageError(failure.message)
        self.runner.run(self.state.refresh())
        if self.state.catalog is None:
            reason = self.state.failure.message if self.state.failure else "no catalog"
            reason = re.sub(r" \(next try in \d+ s\)$", "", reason)  # there is no next try
            print(
                f"sql-lsp: warning: {reason}; checking without the database rules",
                file=sys.stderr,
            )
            return None
        self.available = True
        return self.state.catalog

    def facts(self, documents: list[Document]) -> DatabaseFacts | None:
        """Facts for the database rules, with every statement of `documents` planned."""
        if not self.available:
            return None
        texts = [
            s.text
            for d in documents
            for s in d.statements
            if s.kind == "sql" and s.error is None and s.parsed is not None
        ]
        self.runner.run(self.state.plan_statements(texts))
        return self.state.facts()

    def close(self) -> None:
        try:
            self.runner.run(self.state.close())
        finally:
            self.runner.close()


def _database(config: Config) -> _Database | None:
    """The database to check against: only when asked for explicitly (option, settings file or
    SQL_LSP_DATABASE_URL), never just because libpq's PG* variables are set."""
    from sql_lsp.config import ENV_DATABASE_URL

    if not config.database.url and not os.environ.get(ENV_DATABASE_URL):
        return None
    # the connection layer logs its retries; the command says it once, on stderr
    for name in ("sql_lsp", "psycopg"):
        logging.getLogger(name).addHandler(logging.NullHandler())
    return _Database(config)


# -- fixes ------------------------------------------------------------------------------------


def _apply_fixes(
    ns: argparse.Namespace,
    docs: dict[str, Document],
    order: list[str],
    shown: dict[str, str],
    linter: Linter,
    database_catalog: Catalog | None,
    live: _Database | None = None,
    stdin_uri: str | None = None,
    stdin_bytes: bytes | None = None,
) -> dict[str, list[str]]:
    """Apply fixes to the target files until none is left (or MAX_FIX_PASSES); write them.

    Only the bytes of the edits change: a file is read as bytes and decoded strictly, and the
    fixed text is written back with the file's BOM (its line endings are in the text). A file
    that is not valid UTF-8 is not rewritten (one warning line on stderr); it is still checked.
    """
    from sql_lsp.document import Document
    from sql_lsp.fixes import apply_edits, decode_source, encode_source, existing_relations
    from sql_lsp.lint import Linter

    prefixes: dict[str, bytes] = {}
    for uri in shown:
        if uri not in docs:
            continue
        try:
            data = stdin_bytes if uri == stdin_uri else Path(_path_of(uri)).read_bytes()
            assert data is not None
            text, prefixes[uri] = decode_source(data)
        except OSError as e:
            raise UsageError(f"{shown[uri]}: cannot read: {e.strerror or e}") from e
        except UnicodeDecodeError as e:
            at = e.start + (len(data) - len(e.object))
            print(
                f"sql-lsp: warning: {shown[uri]}: not valid UTF-8 (byte 0x{e.object[e.start]:02x}"
                f" at offset {at}); not rewritten",
                file=sys.stderr,
            )
            continue
        if text != docs[uri].text:
            docs[uri] = Document(uri, text, dialect=docs[uri].dialect)
    fixed: dict[str, list[str]] = {}
    fresh = False
    for _ in range(MAX_FIX_PASSES):
        catalog = _catalog(docs, order, database_catalog)
        facts = live.facts([docs[u] for u in shown if u in docs]) if live is not None else None
        changed = stale = False
        existing = existing_relations(catalog)
        created = set(existing)  # and, as the files are fixed, the relations their fixes create
        for uri in prefixes:
            doc = docs[uri]
            findings = linter.lint(doc, catalog, facts)
            fixes = [
                (f.rule, f.fix)
                for f in findings
                if f.fix is not None and (f.fix.safe or ns.unsafe_fixes)
            ]
            # a fix that creates a relation that exists was computed before it existed (the
            # linter's cache keeps a statement's findings while the tables it names are
            # unchanged): left out, and the next pass lints afresh
            stale = stale or any(existing.intersection(fix.creates) for _, fix in fixes)
            new_text, applied = apply_edits(doc.text, fixes, created)
            if not applied:
                continue
            docs[uri] = Document(uri, new_text, dialect=doc.dialect)
            fixed.setdefault(uri, []).extend(applied)
            changed = True
        if not changed and (not stale or fresh):
            break
        fresh = stale
        if stale:
            linter = Linter(linter.config)
    if ns.diff:
        return fixed
    for uri in fixed:
        if uri == stdin_uri:  # through the text stream, which keeps "\r" and scrubs secrets
            sys.stdout.write(("\ufeff" if prefixes[uri] else "") + docs[uri].text)
            continue
        data = encode_source(docs[uri].text, prefixes[uri])
        try:
            Path(_path_of(uri)).write_bytes(data)
        except OSError as e:
            raise UsageError(f"{shown[uri]}: cannot write: {e.strerror or e}") from e
    return fixed


def _print_diff(
    ns: argparse.Namespace,
    docs: dict[str, Document],
    originals: dict[str, str],
    shown: dict[str, str],
    fixed: dict[str, list[str]],
) -> int:
    """`--diff`: what `--fix` would write, as one unified diff; exit 1 when there is any."""
    from sql_lsp.report import unified_diff

    text = "".join(
        unified_diff(shown[uri], originals[uri], docs[uri].text)
        for uri in sorted(fixed, key=lambda u: shown[u])
    )
    if ns.output_file:
        try:
            with open(ns.output_file, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        except OSError as e:
            raise UsageError(f"{ns.output_file}: cannot write: {e.strerror or e}") from e
    else:
        sys.stdout.write(text)
    _report_fixes(fixed, shown, "would fix")
    return EXIT_FINDINGS if text and not ns.exit_zero else EXIT_OK


def _path_of(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path)


# -- output -----------------------------------------------------------------------------------


def _report_fixes(fixed: dict[str, list[str]], shown: dict[str, str], verb: str) -> None:
    """`fixed 2 in q.sql: select-star x2` (or `would fix …`) on stderr, one line per file."""
    for uri in sorted(fixed, key=lambda u: shown.get(u, u)):
        rules = fixed[uri]
        counts: dict[str, int] = {}
        for r in rules:
            counts[r] = counts.get(r, 0) + 1
        what = ", ".join(f"{r} x{n}" if n > 1 else r for r, n in counts.items())
        name = shown.get(uri) or _display(Path(_path_of(uri)))
        print(f"{verb} {len(rules)} in {name}: {what}", file=sys.stderr)


# -- rules ------------------------------------------------------------------------------------


def _rules(ns: argparse.Namespace) -> int:
    from sql_lsp.rules import ALL_RULES

    width = max(len(r.id) for r in ALL_RULES)
    for r in ALL_RULES:
        fix = r.fix or "-"
        print(f"{r.id:<{width}}  {r.severity:<7}  {r.needs:<8}  fix:{fix:<9}  {r.summary}")
    return EXIT_OK


def _rule(ns: argparse.Namespace) -> int:
    from sql_lsp.rules import RULES_BY_ID

    rule: Rule | None = RULES_BY_ID.get(ns.id)
    if rule is None:
        raise UsageError(f"unknown rule {ns.id!r} (see `sql-lsp rules`)")
    sys.stdout.write(rule.markdown())
    return EXIT_OK


# -- serve ------------------------------------------------------------------------------------


def _serve(ns: argparse.Namespace) -> int:
    from sql_lsp.lsp import early

    tcp = getattr(ns, "tcp", None)
    first = None
    if not tcp and early.is_pipe(sys.stdin.buffer):
        # the editor waits for this answer: give it before the server's imports
        first = early.answer_initialize(sys.stdin.buffer, sys.stdout.buffer)

    from sql_lsp.lsp.server import serve

    return serve(tcp=tcp, log_file=getattr(ns, "log_file", None), early=first)


if __name__ == "__main__":
    sys.exit(main())
