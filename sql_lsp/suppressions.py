"""`-- sql-lsp: ignore …` comments: which findings they silence, and the edits that add them.

* `-- sql-lsp: ignore a, b` on its own line silences rules a and b for the statement that starts
  on the next line (other comment lines may come between, blank lines may not).
* The same comment at the end of any line of a statement — also after its semicolon on the same
  line — silences them for that statement.
* `-- sql-lsp: ignore` without ids silences every rule; `-- sql-lsp: ignore-file ids` anywhere
  silences those rules (or all) in the whole file.
* Inside a dollar-quoted function body (`$$ … $$`), where one statement holds many, the
  comment works on lines: on its own line it silences the findings that start on the next line
  (other comment lines may come between); at the end of a line it silences the findings whose
  lines include that line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlglot.tokens import TokenType

from sql_lsp.document import Directive, Document, Statement
from sql_lsp.rules.base import Edit, Finding

ALL = "*"


@dataclass
class Suppressions:
    file: set[str] = field(default_factory=set)  # rule ids, or {ALL}
    statements: dict[int, set[str]] = field(default_factory=dict)  # statement index -> ids
    # inside function bodies: (line, ids, own line) of each directive
    lines: list[tuple[int, set[str], bool]] = field(default_factory=list)

    def silenced(self, rule: str, statement: Statement | None) -> bool:
        if ALL in self.file or rule in self.file:
            return True
        if statement is None:
            return False
        ids = self.statements.get(statement.index)
        return bool(ids) and (ALL in ids or rule in ids)

    def silenced_lines(self, rule: str, first: int, last: int) -> bool:
        """Does a directive inside a body silence `rule` for a finding on lines first..last?"""
        for line, ids, own in self.lines:
            if not (ALL in ids or rule in ids):
                continue
            if (own and line == first) or (not own and first <= line <= last):
                return True
        return False


def collect(document: Document) -> Suppressions:
    sup = Suppressions()
    directives = []
    lines = document.lines
    for d in document.directives():
        where = _in_string(document, d)
        if where == _BODY and not d.file:
            target = _line_after_comments(document, d) if d.own_line else lines.line_of(d.start)
            sup.lines.append((target, set(d.rules) or {ALL}, d.own_line))
        elif not where:
            directives.append(d)
    if not directives:
        return sup
    stmts = [s for s in document.statements if s.kind == "sql"]
    for d in directives:
        ids = set(d.rules) or {ALL}
        if d.file:
            sup.file |= ids
            continue
        line = lines.line_of(d.start)
        targets = _statements_on_line(document, stmts, line)
        if not targets and d.own_line:
            nxt = _next_statement(document, stmts, d)
            if nxt is not None:
                targets = [nxt]
        for s in targets:
            sup.statements.setdefault(s.index, set()).update(ids)
    return sup


def apply(findings: Iterable[Finding], document: Document, sup: Suppressions) -> list[Finding]:
    if not sup.file and not sup.statements and not sup.lines:
        return list(findings)
    out = [f for f in findings if not sup.silenced(f.rule, document.statement_at(f.start))]
    if sup.lines:
        line_of = document.lines.line_of
        out = [
            f
            for f in out
            if not sup.silenced_lines(f.rule, line_of(f.start), line_of(max(f.start, f.end - 1)))
        ]
    return out


def _line_after_comments(document: Document, d: Directive) -> int:
    """The line an own-line directive inside a body is about: the next line that is not a
    comment."""
    lines = document.lines
    line = lines.line_of(d.start) + 1
    text = document.text
    while line < len(lines):
        content = text[lines.line_start(line) : lines.line_end(line)]
        if not _COMMENT_LINE.fullmatch(content):
            break
        line += 1
    return line


def _statement_lines(document: Document, s: Statement) -> tuple[int, int]:
    lines = document.lines
    end = s.semicolon if s.semicolon >= 0 else max(s.start, s.end - 1)
    return lines.line_of(s.start), lines.line_of(end)


def _statements_on_line(document: Document, stmts: list[Statement], line: int) -> list[Statement]:
    """The statements one of whose lines (semicolon included) is `line`."""
    i = bisect_right([s.start for s in stmts], document.lines.line_end(line)) - 1
    out = []
    while i >= 0:
        first, last = _statement_lines(document, stmts[i])
        if first <= line <= last:
            out.append(stmts[i])
        elif last < line:
            break
        i -= 1
    return out[::-1]


_COMMENT_LINE = re.compile(r"[ \t]*--[^\r\n]*")


def _next_statement(document: Document, stmts: list[Statement], d: Directive) -> Statement | None:
    nxt = next((s for s in stmts if s.start >= d.end), None)
    if nxt is None:
        return None
    between = document.text[d.end : nxt.start]
    parts = re.split(r"\r\n|\r|\n", between)
    if len(parts) < 2 or parts[0].strip():
        return None
    for mid in parts[1:-1]:
        if not _COMMENT_LINE.fullmatch(mid):
            return None
    return nxt if not parts[-1].strip() else None


_BODY = "body"


def _in_string(document: Document, d: Directive) -> str | None:
    """Where the `--` of a directive sits when it is inside a literal of a statement: `_BODY`
    for a dollar-quoted string (a function body: the comment is the body's own), "string" for
    another string or a quoted name; None outside them."""
    s = document.statement_at(d.start)
    if s is None or s.parsed is None or not (s.start <= d.start < s.end):
        return None
    rel = d.start - s.start
    for tok in s.parsed.tokens:
        if tok.start <= rel <= tok.end:
            if tok.token_type == TokenType.HEREDOC_STRING:
                return _BODY
            if tok.token_type in (
                TokenType.STRING,
                TokenType.NATIONAL_STRING,
                TokenType.IDENTIFIER,
            ):
                return "string"
    return None


# --------------------------------------------------------------------------------------------
# edits that add directives


def ignore_statement_edit(document: Document, statement: Statement, rule: str) -> Edit:
    """Add `rule` to the own-line directive above `statement`, or insert one."""
    text = document.text
    lines = document.lines
    line = lines.line_of(statement.start)
    for d in document.directives():
        if d.file or not d.own_line or not d.rules:
            continue
        if _next_statement(document, [statement], d) is statement:
            if rule in d.rules:
                return Edit(d.end, d.end, "")
            end = d.rules_start + len(", ".join(d.rules))
            m = re.match(r"[A-Za-z0-9_,\s-]*", text[d.rules_start : d.end])
            end = d.rules_start + len(m.group().rstrip()) if m else end
            return Edit(end, end, f", {rule}")
    line_start = lines.line_start(line)
    indent = re.match(r"[ \t]*", text[line_start:]).group()
    if text[line_start : statement.start].strip():
        # another statement shares the line: a trailing comment on this statement's first line
        end = lines.line_end(line)
        return Edit(end, end, f"  -- sql-lsp: ignore {rule}")
    newline = _newline(text)
    return Edit(line_start, line_start, f"{indent}-- sql-lsp: ignore {rule}{newline}")


def ignore_file_edit(document: Document, rule: str) -> Edit:
    """Add `rule` to the file's ignore-file directive, or insert one on the first line."""
    for d in document.directives():
        if d.file and d.rules:
            if rule in d.rules:
                return Edit(d.end, d.end, "")
            m = re.match(r"[A-Za-z0-9_,\s-]*", document.text[d.rules_start : d.end])
            end = d.rules_start + len(m.group().rstrip()) if m else d.end
            return Edit(end, end, f", {rule}")
    return Edit(0, 0, f"-- sql-lsp: ignore-file {rule}{_newline(document.text)}")


def _newline(text: str) -> str:
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"
