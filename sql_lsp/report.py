"""What `sql-lsp check` prints: findings in each output format, statistics, diffs and progress.

The command line collects `Reported` findings (1-based lines and columns, columns counted in
characters) and hands them to `write_report` in one of `FORMATS`:

- `text`: `path:line:col: severity rule-id message`, one line per finding;
- `json`: one array of objects (`path`, `rule`, `severity`, `message`, `line`, `column`,
  `end_line`, `end_column`, `fix`);
- `sarif`: a SARIF 2.1.0 log (code scanning), with every rule's metadata and help URI;
- `github`: GitHub Actions workflow commands (`::warning file=…,line=…::message`), which show
  as annotations on the pull request.

`statistics(...)` counts findings per rule (`--statistics`); `format_statistics` prints them as
ruff does. Other counts (statements that were not analysed, say) are extra `Statistic` rows.
`unified_diff` renders what `--fix` would write, for `--diff`. `Progress` draws a progress bar on
a terminal's stderr once a check takes long.
"""

from __future__ import annotations

import difflib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from sql_lsp import HOMEPAGE, __version__

if TYPE_CHECKING:  # annotations only: `sql-lsp --help` reads FORMATS without the parser
    from sql_lsp.document import Document
    from sql_lsp.rules.base import Finding, Rule

FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}
_GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice", "hint": "notice"}


@dataclass(frozen=True)
class Reported:
    """One finding as the command line reports it: 1-based lines and columns (characters);
    `end_column` is the column just after the last character, as in SARIF."""

    path: str  # as shown: relative to the current folder when below it, `-` for stdin
    rule: str
    severity: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix_title: str | None = None
    fix_safety: str | None = None
    fixable: bool = False  # `--fix` would apply its fix (with --unsafe-fixes: unsafe ones too)


def reported(path: str, doc: Document, finding: Finding, *, unsafe_fixes: bool = False) -> Reported:
    """A finding of `doc`, placed for the report."""
    line, col = doc.lines.line_col(finding.start)
    end_line, end_col = doc.lines.line_col(finding.end)
    fix = finding.fix
    return Reported(
        path=path,
        rule=finding.rule,
        severity=finding.severity,
        message=finding.message,
        line=line + 1,
        column=col + 1,
        end_line=end_line + 1,
        end_column=end_col + 1,
        fix_title=fix.title if fix else None,
        fix_safety=fix.safety if fix else None,
        fixable=fix is not None and (fix.safe or unsafe_fixes),
    )


def write_report(
    fmt: str, items: Sequence[Reported], out: IO[str], *, rules: Sequence[Rule] = ()
) -> None:
    """Write `items` in the output format `fmt` (one of FORMATS)."""
    if fmt == "json":
        json.dump([_json_item(r) for r in items], out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "sarif":
        json.dump(sarif_log(items, rules), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "github":
        for r in items:
            out.write(github_annotation(r) + "\n")
    elif fmt == "text":
        for r in items:
            out.write(text_line(r) + "\n")
    else:
        raise ValueError(f"unknown output format {fmt!r}")


def text_line(r: Reported) -> str:
    """`path:line:col: severity rule-id message` (the message on one line)."""
    return f"{r.path}:{r.line}:{r.column}: {r.severity} {r.rule} {' '.join(r.message.split())}"


def _json_item(r: Reported) -> dict[str, Any]:
    return {
        "path": r.path,
        "rule": r.rule,
        "severity": r.severity,
        "message": r.message,
        "line": r.line,
        "column": r.column,
        "end_line": r.end_line,
        "end_column": r.end_column,
        "fix": {"title": r.fix_title, "safety": r.fix_safety} if r.fix_title else None,
    }


# -- GitHub Actions -----------------------------------------------------------------------------


def _github_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """Escape a workflow command's property value (`,` and `:` separate properties)."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(r: Reported) -> str:
    """`::warning file=q.sql,line=1,col=8,endLine=1,endColumn=9,title=sql-lsp (select-star)::…`"""
    command = _GITHUB_COMMAND.get(r.severity, "warning")
    props = [
        ("file", r.path),
        ("line", str(r.line)),
        ("col", str(r.column)),
        ("endLine", str(r.end_line)),
        ("endColumn", str(r.end_column)),
        ("title", f"sql-lsp ({r.rule})"),
    ]
    head = ",".join(f"{k}={_github_property(v)}" for k, v in props)
    return f"::{command} {head}::{_github_data(r.message)}"


# -- SARIF --------------------------------------------------------------------------------------


def artifact_uri(path: str) -> str:
    """A SARIF artifact URI for a reported path: relative paths stay relative (to the folder
    the check ran in, `%SRCROOT%`), absolute ones become file URIs."""
    if os.path.isabs(path):
        return "file://" + quote(path.replace(os.sep, "/"))
    return quote(path.replace(os.sep, "/"))


def sarif_rule(rule: Rule) -> dict[str, Any]:
    """A SARIF reportingDescriptor: the rule's id, summary, documentation and help URI."""
    docs = rule.doc_sections
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(docs.get("What it does", rule.summary).split())},
        "help": {"text": f"{rule.summary}. See {rule.url}", "markdown": rule.markdown()},
        "helpUri": rule.url,
        "defaultConfiguration": {"level": _SARIF_LEVEL.get(rule.severity, "warning")},
        "properties": {
            "tags": ["sql", rule.needs],
            "fix": rule.fix or "none",
            "needs": rule.needs,
        },
    }


def sarif_log(
    items: Sequence[Reported], rules: Sequence[Rule], *, root: str | None = None
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: every rule as metadata, every finding as a result."""
    index = {rule.id: i for i, rule in enumerate(rules)}
    base = (root or os.getcwd()).replace(os.sep, "/").rstrip("/") + "/"
    results = []
    for r in items:
        location = {
            "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(r.path)}
                | ({} if os.path.isabs(r.path) else {"uriBaseId": "%SRCROOT%"}),
                "region": {
                    "startLine": r.line,
                    "startColumn": r.column,
                    "endLine": r.end_line,
                    "endColumn": r.end_column,
                },
            }
        }
        result: dict[str, Any] = {
            "ruleId": r.rule,
            "level": _SARIF_LEVEL.get(r.severity, "warning"),
            "message": {"text": r.message},
            "locations": [location],
        }
        if r.rule in index:
            result["ruleIndex"] = index[r.rule]
        if r.fix_title:
            result["properties"] = {"fix": {"title": r.fix_title, "safety": r.fix_safety}}
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sql-lsp",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": HOMEPAGE,
                        "rules": [sarif_rule(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + quote(base)}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


# -- statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistic:
    """One row of `--statistics`: how many, of what (`code`, `name`), and whether `--fix`
    would fix them all (None: the question does not apply)."""

    count: int
    code: str
    name: str
    fixable: bool | None = None


def statistics(items: Iterable[Reported], rules: Sequence[Rule] = ()) -> list[Statistic]:
    """Findings per rule, most frequent first (ties by rule id)."""
    names = {rule.id: rule.summary for rule in rules}
    counts: dict[str, int] = {}
    fixable: dict[str, bool] = {}
    for r in items:
        counts[r.rule] = counts.get(r.rule, 0) + 1
        fixable[r.rule] = fixable.get(r.rule, True) and r.fixable
    rows = [Statistic(n, rule, names.get(rule, rule), fixable[rule]) for rule, n in counts.items()]
    return sorted(rows, key=lambda s: (-s.count, s.code))


def format_statistics(rows: Sequence[Statistic], fmt: str = "text") -> str:
    """ruff's `--statistics` layout: `count<TAB>code<TAB>[*] name`, `[*]` marking the rows
    `--fix` fixes; with fmt `json`, an array of `{count, code, name, fixable}`."""
    if fmt == "json":
        data = [
            {"count": s.count, "code": s.code, "name": s.name, "fixable": s.fixable} for s in rows
        ]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if not rows:
        return ""
    count_width = max(len(str(s.count)) for s in rows)
    code_width = max(len(s.code) for s in rows)
    marks = any(s.fixable for s in rows)
    lines = []
    for s in rows:
        mark = ("[*] " if s.fixable else "[ ] ") if marks else ""
        lines.append(f"{s.count:>{count_width}}\t{s.code:<{code_width}}\t{mark}{s.name}")
    return "\n".join(lines) + "\n"


# -- diffs --------------------------------------------------------------------------------------


def unified_diff(path: str, before: str, after: str) -> str:
    """`--- a/path` / `+++ b/path` unified diff of one file, for `patch -p1` (empty when the
    texts are equal). A last line without a newline is marked as `diff` marks it."""
    if before == after:
        return ""
    name = path.replace(os.sep, "/")
    a_lines = before.splitlines(keepends=True)
    b_lines = after.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(a_lines, b_lines, f"a/{name}", f"b/{name}", n=3):
        if line.endswith("\n"):
            out.append(line)
        else:  # the last line of a file without a final newline
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


# -- progress -----------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal and the work has taken
    longer than `delay_s`; `done()` erases it. Output to a file or a pipe never sees it."""

    WIDTH = 30

    def __init__(self, total: int, stream: IO[str], *, delay_s: float = 1.0) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.delay_s = delay_s
        self.start = time.monotonic()
        self.shown = False
        self.enabled = _is_terminal(stream)
        self._last = 0.0

    def step(self, done: int, label: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.delay_s or (self.shown and now - self._last < 0.1):
            return
        self._last = now
        self.shown = True
        filled = int(self.WIDTH * min(done, self.total) / self.total)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        text = f"\rchecking [{bar}] {done}/{self.total} {label}"
        width = _terminal_width(self.stream)
        self.stream.write(text[:width].ljust(width - 1)[: width - 1])
        self.stream.flush()

    def done(self) -> None:
        if self.shown:
            width = _terminal_width(self.stream)
            self.stream.write("\r" + " " * (width - 1) + "\r")
            self.stream.flush()
            self.shown = False


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width(stream: IO[str]) -> int:
    try:
        return max(20, os.get_terminal_size(stream.fileno()).columns)
    except (AttributeError, OSError, ValueError):
        return 80
