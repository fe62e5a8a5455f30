"""Applying fixes to a text: the one place that turns findings' edits into new text.

Both the command line (`--fix`) and the language server (fix-all) use it.
"""

from __future__ import annotations

from sql_lsp.rules.base import Edit, Fix


def apply_edits(text: str, fixes: list[tuple[str, Fix]]) -> tuple[str, list[str]]:
    """Apply whole fixes whose edits overlap no edit already taken; returns the new text and
    the rule ids of the fixes applied."""
    taken: list[Edit] = []
    applied: list[str] = []
    for rule, fix in sorted(fixes, key=lambda rf: min(e.start for e in rf[1].edits)):
        if any(_overlaps(e, t) for e in fix.edits for t in taken):
            continue
        if any(
            e.start == t.start == t.end == e.end and e.text == t.text
            for e in fix.edits
            for t in taken
        ):
            continue  # the very same insertion twice
        taken.extend(fix.edits)
        applied.append(rule)
    # from the end backwards; insertions at one offset keep their order
    for e in reversed(sorted(taken, key=lambda e: (e.start, e.end))):
        text = text[: e.start] + e.text + text[e.end :]
    return text, applied


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end or b.start == b.end:  # insertions only clash strictly inside a range
        return b.start < a.start < b.end or a.start < b.start < a.end
    return a.start < b.end and b.start < a.end
