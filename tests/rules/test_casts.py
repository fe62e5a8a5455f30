"""function-on-indexed-column and casts: a cast the planner sees through is not reported
(decided from the column's type and the cast's, not from the spelling). tests/live/
test_index_fixes_pg.py holds the same verdicts against EXPLAIN on PostgreSQL."""

from __future__ import annotations

import pytest

from sql_lsp.document import Document
from sql_lsp.lint import Linter
from sql_lsp.project import build_catalog

SCHEMA = """\
CREATE TABLE t (
    id int PRIMARY KEY, vc varchar(20), tx text, ch char(5), ts timestamp,
    n numeric(10, 2), i int, mood_col mood, d dtext
);
CREATE INDEX t_vc_idx ON t (vc);
CREATE INDEX t_tx_idx ON t (tx);
CREATE INDEX t_ch_idx ON t (ch);
CREATE INDEX t_ts_idx ON t (ts);
CREATE INDEX t_n_idx ON t (n);
CREATE INDEX t_i_idx ON t (i);
CREATE INDEX t_mood_idx ON t (mood_col);
CREATE INDEX t_d_idx ON t (d);
"""


@pytest.mark.parametrize(
    ("condition", "reported"),
    [
        ("(t.vc)::text = 'Post'::text", False),  # what pg_dump writes for a varchar column
        ("vc::text = 'x'", False),
        ("CAST(vc AS text) = 'x'", False),
        ("(((vc)))::text = 'x'", False),
        ("vc::character varying = 'x'", False),
        ("vc::varchar(20) = 'x'", False),
        ("vc::text::varchar = 'x'", False),
        ("tx::varchar = 'x'", False),
        ("tx::text = 'x'", False),
        ("ch::bpchar = 'x'", False),
        ("ch::char(5) = 'x'", False),
        ("ts::timestamp = '2020-01-01'", False),
        ("n::numeric = 1", False),
        ("n::numeric(10,2) = 1", False),
        ("i::integer = 1", False),
        ("mood_col::text = 'x'", False),  # an enum: its casts are not known here, so silent
        ("d::text = 'x'", False),  # a domain: likewise
        ("vc::varchar(10) = 'x'", True),
        ("vc::bpchar = 'x'", True),
        ("tx::varchar(5) = 'x'", True),
        ("tx::name = 'x'", True),
        ("ch::text = 'x'", True),  # char(n) to text trims: a function
        ("ch::char = 'x'", True),  # char is char(1)
        ("ch::varchar = 'x'", True),
        ("ts::timestamp(0) = '2020-01-01'", True),
        ("ts::timestamptz = now()", True),
        ("n::numeric(5,1) = 1", True),
        ("i::bigint = 1", True),
        ("vc::text::varchar(5) = 'x'", True),
    ],
)
def test_cast_reported_only_when_the_planner_cannot_see_through_it(
    condition: str, reported: bool
) -> None:
    doc = Document("file:///q.sql", f"SELECT id FROM t WHERE {condition};")
    findings = Linter().lint(doc, build_catalog([Document("file:///s.sql", SCHEMA), doc]))
    rules = [f.rule for f in findings if f.rule == "function-on-indexed-column"]
    assert rules == (["function-on-indexed-column"] if reported else [])
