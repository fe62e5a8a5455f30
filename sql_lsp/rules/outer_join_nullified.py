"""
**What it does**

Flags a `WHERE` condition on a column of the optional side of a `LEFT`, `RIGHT` or `FULL` join
that can only be true when that column is not null: a comparison (`o.status = 'paid'`,
`o.total > 5`), `IN (…)`, `BETWEEN`, `LIKE` / `ILIKE`. Only the terms of the top-level `AND`
chain are judged. `IS NULL`, `IS NOT DISTINCT FROM`, a column wrapped in `COALESCE(…)` or any
other function, and conditions inside an `OR` are not flagged; nor is a query that also tests
the optional side with `IS NULL` (the anti-join idiom `WHERE o.id IS NULL`).

**Why is this bad?**

The rows the outer join adds have NULL in every column of the optional side, and a condition
such as `o.status = 'paid'` is never true on NULL: `WHERE` throws those rows away again, and the
query is an inner join written as an outer one. Either the join should be `INNER`, or (what was
usually meant) the condition belongs in the `ON` clause, where it restricts which rows are
joined without dropping the others.

**Example**

```sql
SELECT u.id, o.id FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE o.status = 'paid';
```

**Use instead**

```sql
SELECT u.id, o.id FROM users u LEFT JOIN orders o ON o.user_id = u.id AND o.status = 'paid';
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from sql_lsp.catalog.model import fold
from sql_lsp.query_model import COMPARISONS, where_conjuncts
from sql_lsp.rules.base import Finding, Rule, RuleContext

_OUTER = re.compile(r"\b(left|right|full)\b", re.I)
_REJECTING = (*COMPARISONS, exp.SimilarTo)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for query in ctx.find_all(exp.Select):
        optional = _optional_sides(query)
        if not optional:
            continue
        terms = where_conjuncts(query)
        if any(_tests_null(t, optional) for t in terms):
            continue  # an anti-join, or a query that knows the side may be missing
        for term in terms:
            found = _rejected_side(term, optional)
            if found is None:
                continue
            span = ctx.locate(term)
            if span is None:
                continue
            written = ctx.text[span[0] : span[1]]
            alias, full = found
            then = (
                "so WHERE removes them again; move the condition into the join's ON clause"
                if full
                else "so the join is an inner join; move the condition into the join's ON "
                "clause, or write INNER JOIN"
            )
            message = (
                f"`{written}` is never true on the rows the outer join adds for `{alias}` "
                f"(their columns are NULL), {then}"
            )
            yield ctx.finding(span[0], span[1], message)


def _name(node: exp.Expression) -> str | None:
    return fold(node.alias_or_name) if node.alias_or_name else None


def _optional_sides(query: exp.Select) -> dict[str, tuple[str, bool]]:
    """folded alias -> (alias as written, made optional by a FULL join) of every source the
    outer joins may fill with NULLs."""
    from_ = query.args.get("from_")
    if from_ is None:
        return {}
    before = [from_.this, *from_.expressions]
    optional: dict[str, tuple[str, bool]] = {}
    for join in query.args.get("joins") or []:
        side = (join.side or "").upper()
        if side in ("LEFT", "FULL"):
            name = _name(join.this)
            if name:
                optional[name] = (join.this.alias_or_name, side == "FULL")
        if side in ("RIGHT", "FULL"):
            for src in before:
                name = _name(src)
                if name:
                    optional[name] = (src.alias_or_name, side == "FULL")
        before.append(join.this)
    return optional


def _column_of(
    node: exp.Expression | None, optional: dict[str, tuple[str, bool]]
) -> tuple[str, bool] | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column) and node.args.get("table") is not None:
        qualifier = fold(node.args["table"])
        if qualifier in optional and not node.args.get("db"):
            return optional[qualifier]
    return None


def _rejected_side(
    term: exp.Expression, optional: dict[str, tuple[str, bool]]
) -> tuple[str, bool] | None:
    if not isinstance(term, _REJECTING):
        return None
    if isinstance(term, exp.In | exp.Between):
        return _column_of(term.this, optional)
    return _column_of(term.this, optional) or _column_of(term.expression, optional)


def _tests_null(term: exp.Expression, optional: dict[str, tuple[str, bool]]) -> bool:
    return any(
        _column_of(node.this, optional) is not None
        for node in term.find_all(exp.Is)
        if isinstance(node.expression, exp.Null)
    )


RULE = Rule(
    id="outer-join-nullified",
    summary="A WHERE condition on the optional side of an outer join, which makes it an inner join",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    applies=lambda text: _OUTER.search(text) is not None,
    words=("left", "right", "full"),
)
