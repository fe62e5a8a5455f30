"""sql_lsp.fixes: which fixes go together, and the bytes of a rewritten file."""

from __future__ import annotations

import pytest

from sql_lsp.fixes import apply_edits, decode_source, encode_source, select_fixes
from sql_lsp.rules.base import SAFE, Edit, Fix

INDEX = "CREATE INDEX t_a_idx ON public.t (a);"


def _insert(at: int, text: str, creates: tuple[str, ...] = ()) -> Fix:
    return Fix("Create index", (Edit(at, at, text),), SAFE, creates)


def test_a_relation_offered_by_several_findings_is_created_once() -> None:
    text = "SELECT 1;\nSELECT 2;\n"
    fixes = [
        ("r", _insert(10, INDEX + "\n", ("public.t_a_idx",))),
        ("r", _insert(0, INDEX + "\n", ("public.t_a_idx",))),
    ]
    assert select_fixes(fixes) == [fixes[1]]
    assert apply_edits(text, fixes) == (INDEX + "\nSELECT 1;\nSELECT 2;\n", ["r"])


def test_fixes_creating_other_relations_all_apply() -> None:
    a = ("r", _insert(0, "A;\n", ("public.a",)))
    b = ("r", _insert(0, "B;\n", ("public.b",)))
    star = ("s", Fix("Expand", (Edit(7, 8, "x"),), SAFE))
    assert apply_edits("SELECT * FROM t;", [star, b, a]) == (
        "B;\nA;\nSELECT x FROM t;",
        ["r", "r", "s"],
    )


def test_overlapping_fixes_keep_the_first() -> None:
    one = ("a", Fix("one", (Edit(0, 5, "x"),)))
    two = ("b", Fix("two", (Edit(3, 8, "y"),)))
    assert apply_edits("0123456789", [two, one]) == ("x56789", ["a"])


@pytest.mark.parametrize(
    "data",
    [
        b"SELECT 1;\r\n-- caf\xc3\xa9\rSELECT 2;\n",
        b"\xef\xbb\xbfSELECT 1;\r\n",
        b"",
        b"\xef\xbb\xbf",
    ],
)
def test_decode_encode_round_trip(data: bytes) -> None:
    text, prefix = decode_source(data)
    assert "\ufeff" not in text
    assert encode_source(text, prefix) == data


def test_decode_refuses_what_is_not_utf8() -> None:
    with pytest.raises(UnicodeDecodeError) as info:
        decode_source(b"\xef\xbb\xbf-- caf\xe9\n")
    assert info.value.start == 6
