"""Applying fixes to a text: the one place that turns findings' edits into new text.

Both the command line (`--fix`) and the language server (fix-all) use it. A file is rewritten
only when it decodes strictly (`decode_source`), so that encoding it again (`encode_source`)
gives back every byte outside the edits: the BOM, CRLF and lone CR line endings, everything.
"""

from __future__ import annotations

from sql_lsp.catalog.model import Catalog
from sql_lsp.rules.base import Edit, Fix

UTF8_BOM = b"\xef\xbb\xbf"


def decode_source(data: bytes) -> tuple[str, bytes]:
    """The text of a file that may be rewritten, and the bytes that go back before it (a UTF-8
    BOM, or nothing). Raises UnicodeDecodeError when `data` is not valid UTF-8: such a file is
    not rewritten, as a replacement character would then stand for the bytes it had."""
    prefix = UTF8_BOM if data.startswith(UTF8_BOM) else b""
    return data[len(prefix) :].decode("utf-8", errors="strict"), prefix


def encode_source(text: str, prefix: bytes = b"") -> bytes:
    """The bytes of a (fixed) text read with `decode_source`."""
    return prefix + text.encode("utf-8")


def existing_relations(catalog: Catalog) -> set[str]:
    """`schema.name` of every table, view and index of the catalog (as in `Fix.creates`)."""
    out = set()
    for t in catalog.tables.values():
        out.add(f"{t.schema}.{t.name}")
        out.update(f"{t.schema}.{i.name}" for i in t.indexes)
    return out


def select_fixes(
    fixes: list[tuple[str, Fix]], created: set[str] | None = None
) -> list[tuple[str, Fix]]:
    """The fixes that can be applied together, in document order, each one whole: a fix is left
    out when one of its edits overlaps an edit already taken, when it repeats an insertion
    already taken, or when it creates a relation (`Fix.creates`) that a fix already taken
    creates: the same index offered by ten findings is created once, and two different indexes
    that would get the same name are not both created (the next pass names the second anew).

    `created` holds the relations that exist already or that fixes of other files create; a fix
    creating one of them is left out too, and the names of the fixes taken are added to it."""
    taken: list[Edit] = []
    created = set() if created is None else created
    out: list[tuple[str, Fix]] = []
    for rule, fix in sorted(fixes, key=lambda rf: min(e.start for e in rf[1].edits)):
        if any(_overlaps(e, t) for e in fix.edits for t in taken):
            continue
        if any(
            e.start == t.start == t.end == e.end and e.text == t.text
            for e in fix.edits
            for t in taken
        ):
            continue  # the very same insertion twice
        if created.intersection(fix.creates):
            continue
        taken.extend(fix.edits)
        created.update(fix.creates)
        out.append((rule, fix))
    return out


def apply_edits(
    text: str, fixes: list[tuple[str, Fix]], created: set[str] | None = None
) -> tuple[str, list[str]]:
    """Apply the fixes `select_fixes` takes; returns the new text and the rule ids of the fixes
    applied."""
    fixes = [(r, f) for r, f in fixes if not any(_named_outside(text, n, f) for n in f.drops)]
    chosen = select_fixes(fixes, created)
    edits = [e for _, fix in chosen for e in fix.edits]
    # from the end backwards; insertions at one offset keep their order
    for e in reversed(sorted(edits, key=lambda e: (e.start, e.end))):
        text = text[: e.start] + e.text + text[e.end :]
    return text, [rule for rule, _ in chosen]


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end or b.start == b.end:  # insertions only clash strictly inside a range
        return b.start < a.start < b.end or a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def _named_outside(text: str, name: str, fix: Fix) -> bool:
    """Does `name` appear in `text` outside the edits of `fix` (in another statement or a
    comment)? On the text, so it errs towards leaving the fix out."""
    from sql_lsp.catalog.model import quote_ident

    for word in {name, name.upper(), quote_ident(name)}:
        at = text.find(word)
        while at >= 0:
            inside = any(e.start <= at < e.end for e in fix.edits)
            if not inside and not _inside_word(text, at, len(word)):
                return True
            at = text.find(word, at + 1)
    return False


def _inside_word(text: str, at: int, length: int) -> bool:
    before = text[at - 1 : at]
    after = text[at + length : at + length + 1]
    return bool(before and (before.isalnum() or before in "_$")) or bool(
        after and (after.isalnum() or after in "_$")
    )
