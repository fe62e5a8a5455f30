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
import asyncio
import dataclasses
import gc
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sql_lsp import __version__
from sql_lsp.catalog.model import Catalog
from sql_lsp.config import ENV_DATABASE_URL, Config, ConfigError, find_project_root, load_config
from sql_lsp.document import Document
from sql_lsp.fixes import apply_edits, decode_source, encode_source, existing_relations
from sql_lsp.lint import Linter
from sql_lsp.project import (
    SkippedFile,
    anchors,
    build_catalog,
    catalog_order,
    glob_files,
    is_regular,
    read_sql,
    sql_files,
    uri_of,
)
from sql_lsp.redaction import RedactingStream, Redactor
from sql_lsp.rules import ALL_RULES, RULES_BY_ID
from sql_lsp.rules.base import Finding, Rule

if TYPE_CHECKING:
    from sql_lsp.live import DatabaseFacts

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FAILING = ("warning", "error")
MAX_FIX_PASSES = 10


class UsageError(Exception):
    """Something the user must correct; printed as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
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
    p = argparse.ArgumentParser(
        prog="sql-lsp",
        description="SQL language server and linter. With no command, serves LSP on stdio.",
    )
    p.add_argument("--version", action="version", version=f"sql-lsp {__version__}")
    sub = p.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="serve the Language Server Protocol (default)")
    serve.add_argument("--stdio", action="store_true", help="serve on stdin/stdout (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="serve on a TCP socket instead")
    serve.add_argument("--log-file", metavar="PATH", help="also write the server log to PATH")
    serve.add_argument("--version", action="version", version=f"sql-lsp {__version__}")

    check = sub.add_parser("check", help="lint SQL files and folders")
    check.add_argument(
        "paths", nargs="*", default=[], metavar="PATH", help="files or folders (- for stdin)"
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--config", metavar="FILE", help="settings file (default: found from the paths)"
    )
    check.add_argument("--dialect", choices=("postgres", "mysql", "sqlite"))
    check.add_argument("--database-url", metavar="URL", help="also use this PostgreSQL database")
    check.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    check.add_argument(
        "--unsafe-fixes", action="store_true", help="with --fix, apply unsafe fixes too"
    )
    check.add_argument("--stdin-filename", metavar="PATH", help="name to report for stdin")

    sub.add_parser("rules", help="list the rules")
    rule = sub.add_parser("rule", help="print one rule's documentation")
    rule.add_argument("id")
    return p


# -- check ------------------------------------------------------------------------------------


def _check(ns: argparse.Namespace) -> int:
    # a short-lived process that builds millions of parse-tree objects and frees none of them:
    # the cyclic garbage collector would only rescan them over and over
    gc.disable()
    paths = ns.paths or ["."]
    config = _config(ns, paths)
    targets = _targets(paths)
    use_stdin = "-" in paths
    # bytes, as files are read: the text keeps its line endings and `--fix` writes it back as is
    stdin_bytes = sys.stdin.buffer.read() if use_stdin else None
    roots = _roots(paths)
    catalog_files = _catalog_files(targets, roots, config)
    docs: dict[str, Document] = {}
    shown: dict[str, str] = {}
    for path in catalog_files:
        uri = uri_of(path)
        try:
            text = read_sql(path)
        except SkippedFile as e:
            _note(f"{_display(path)}: {e}; skipped")
            continue
        except OSError as e:
            if path in targets:
                raise UsageError(f"{path}: cannot read: {e.strerror or e}") from e
            continue
        docs[uri] = Document(uri, text, dialect=config.dialect)
    for path in targets:
        shown[uri_of(path)] = _display(path)
    stdin_uri = None
    if stdin_bytes is not None:
        name = ns.stdin_filename or "-"
        stdin_uri = uri_of(Path(name)) if ns.stdin_filename else "stdin:-"
        stdin_text = stdin_bytes.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
        docs[stdin_uri] = Document(stdin_uri, stdin_text, dialect=config.dialect)
        shown[stdin_uri] = name
    order = [d.uri for d in catalog_order(docs.values(), config.catalog, anchors(config, roots))]
    live = _database(config)
    try:
        database_catalog = live.load() if live is not None else None
        linter = Linter(config)

        fixed: dict[str, list[str]] = {}
        if ns.fix:
            fixed = _apply_fixes(
                ns, docs, order, shown, linter, database_catalog, live, stdin_uri, stdin_bytes
            )

        catalog = _catalog(docs, order, database_catalog)
        facts = live.facts([docs[u] for u in shown if u in docs]) if live is not None else None
        results: list[tuple[str, Document, Finding]] = []
        for uri in sorted(shown, key=lambda u: shown[u]):
            doc = docs.get(uri)
            if doc is None:
                continue
            results.extend((shown[uri], doc, f) for f in linter.lint(doc, catalog, facts))
    finally:
        if live is not None:
            live.close()
    fixed_stdin = ns.fix and stdin_uri in fixed
    _report(ns, results, fixed, sys.stderr if fixed_stdin else sys.stdout)
    failing = any(f.severity in FAILING for _, _, f in results)
    return EXIT_FINDINGS if failing else EXIT_OK


def _config(ns: argparse.Namespace, paths: list[str]) -> Config:
    known = list(RULES_BY_ID)
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
    if errors:
        raise UsageError(errors[0])
    if ns.dialect:
        config = dataclasses.replace(config, dialect=ns.dialect)
    if ns.database_url:
        config = dataclasses.replace(
            config, database=dataclasses.replace(config.database, url=ns.database_url)
        )
    return config


def _targets(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p == "-":
            continue
        path = Path(p)
        if not path.exists():
            raise UsageError(f"{p}: no such file or directory")
        if path.is_dir():
            out.extend(sql_files(path))
        elif not os.access(path, os.R_OK):
            raise UsageError(f"{p}: permission denied")
        elif not is_regular(path):  # a FIFO, a device: opening it could block
            _note(f"{p}: not a regular file; skipped (use - to read standard input)")
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for path in out:
        r = path.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(path)
    return unique


def _note(message: str) -> None:
    print(f"sql-lsp: note: {message}", file=sys.stderr)


def _roots(paths: list[str]) -> list[Path]:
    """The project roots of the paths (or their folders when there is no project root): where
    the catalog's files are found."""
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
    catalog = build_catalog(docs[u] for u in order)
    if database_catalog is not None:
        catalog = catalog.merge(database_catalog)
    return catalog


class _Database:
    """The database during one `check`: a LiveState driven by one event loop."""

    def __init__(self, config: Config) -> None:
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


def _path_of(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path)


# -- output -----------------------------------------------------------------------------------


def _report(
    ns: argparse.Namespace,
    results: list[tuple[str, Document, Finding]],
    fixed: dict[str, list[str]],
    out,
) -> None:
    if ns.format == "json":
        items = []
        for path, doc, f in results:
            line, col = doc.lines.line_col(f.start)
            end_line, end_col = doc.lines.line_col(f.end)
            items.append(
                {
                    "path": path,
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                    "line": line + 1,
                    "column": col + 1,
                    "end_line": end_line + 1,
                    "end_column": end_col + 1,
                    "fix": {"title": f.fix.title, "safety": f.fix.safety} if f.fix else None,
                }
            )
        json.dump(items, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    for path, doc, f in results:
        line, col = doc.lines.line_col(f.start)
        message = " ".join(f.message.split())
        out.write(f"{path}:{line + 1}:{col + 1}: {f.severity} {f.rule} {message}\n")
    if fixed:
        for uri, rules in fixed.items():
            counts: dict[str, int] = {}
            for r in rules:
                counts[r] = counts.get(r, 0) + 1
            what = ", ".join(f"{r} x{n}" if n > 1 else r for r, n in counts.items())
            name = next((p for p, d, _ in results if d.uri == uri), None) or _display(
                Path(_path_of(uri))
            )
            print(f"fixed {len(rules)} in {name}: {what}", file=sys.stderr)


# -- rules ------------------------------------------------------------------------------------


def _rules(ns: argparse.Namespace) -> int:
    width = max(len(r.id) for r in ALL_RULES)
    for r in ALL_RULES:
        fix = r.fix or "-"
        print(f"{r.id:<{width}}  {r.severity:<7}  {r.needs:<8}  fix:{fix:<9}  {r.summary}")
    return EXIT_OK


def _rule(ns: argparse.Namespace) -> int:
    rule: Rule | None = RULES_BY_ID.get(ns.id)
    if rule is None:
        raise UsageError(f"unknown rule {ns.id!r} (see `sql-lsp rules`)")
    sys.stdout.write(rule.markdown())
    return EXIT_OK


# -- serve ------------------------------------------------------------------------------------


def _serve(ns: argparse.Namespace) -> int:
    from sql_lsp.lsp.server import serve

    return serve(tcp=getattr(ns, "tcp", None), log_file=getattr(ns, "log_file", None))


if __name__ == "__main__":
    sys.exit(main())
