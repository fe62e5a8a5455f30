"""
**What it does**

Flags a comparison with the `NULL` literal through `=`, `<>` or `!=` (`email = NULL`,
`NULL <> deleted_at`) anywhere a condition or a value is computed: `WHERE`, `ON`, `HAVING`,
`CASE WHEN`, the select list, `CHECK` constraints. The assignments `UPDATE … SET col = NULL` and
`ON CONFLICT … DO UPDATE SET col = NULL` are not comparisons and are not flagged, nor is
`IS [NOT] DISTINCT FROM NULL`.

**Why is this bad?**

A comparison with `NULL` yields `NULL`, never true or false, whatever the other side holds:
`WHERE email = NULL` selects no row at all and `WHERE email <> NULL` selects no row either, so
the query silently returns nothing. A `CHECK (col <> NULL)` accepts every row. What was meant is
almost always `IS NULL` / `IS NOT NULL`.

**Example**

```sql
SELECT id FROM users WHERE deleted_at = NULL;
```

**Use instead**

```sql
SELECT id FROM users WHERE deleted_at IS NULL;
```

**Fix safety**

The fix rewrites `x = NULL` as `x IS NULL` and `x <> NULL` / `x != NULL` as `x IS NOT NULL`.
It changes what the statement returns (the original matches no row; the fixed one matches the
rows where `x` is null, or not null) — that is the point of the fix, but it is not
behaviour-preserving, so it is unsafe: applied alone, after a look at what the statement should
do. An operand other than a column, parameter, literal, function call, cast or parenthesised
expression is wrapped in parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.rules.base import UNSAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.tokens import at, index_at, is_type, span_of, tokens

_NULL_WORD = re.compile(r"null", re.I)
# direct parents that make `a = NULL` an assignment or an option, not a comparison
_ASSIGNING = (exp.Update, exp.OnConflict, exp.SetItem, exp.Set, exp.Property, exp.Properties)
# ancestors under which `=` is not an SQL comparison we can judge
_OPAQUE = (exp.Set, exp.Properties, exp.Command)
_SIMPLE = (
    exp.Column,
    exp.Parameter,
    exp.Placeholder,
    exp.Literal,
    exp.Func,
    exp.Cast,
    exp.Paren,
    exp.Dot,
    exp.Bracket,
    exp.Identifier,
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for node in ctx.find_all(exp.EQ, exp.NEQ):
        left, right = node.this, node.expression
        if isinstance(right, exp.Null) == isinstance(left, exp.Null):
            continue  # no NULL, or NULL = NULL (nothing to rewrite it to)
        if isinstance(node.parent, _ASSIGNING) or node.find_ancestor(*_OPAQUE) is not None:
            continue
        operand = left if isinstance(right, exp.Null) else right
        finding = _finding(ctx, node, operand, null_last=operand is left)
        if finding is not None:
            yield finding


def _finding(
    ctx: RuleContext, node: exp.Expression, operand: exp.Expression, null_last: bool
) -> Finding | None:
    span = ctx.locate(operand)
    if span is None:
        return None
    toks = tokens(ctx)
    ops = (TokenType.EQ, TokenType.NEQ)
    if null_last:
        i = index_at(ctx, span[1] - 1)
        op, null = at(toks, i + 1), at(toks, i + 2)
    else:
        i = index_at(ctx, span[0])
        op, null = at(toks, i - 1), at(toks, i - 2)
    if not is_type(op, *ops) or not is_type(null, TokenType.NULL):
        return None  # the tokens do not read as expected: say nothing
    null_span = span_of(ctx, null)
    start, end = (span[0], null_span[1]) if null_last else (null_span[0], span[1])
    text = ctx.text
    written = text[start:end]
    operator = text[slice(*span_of(ctx, op))]
    negated = isinstance(node, exp.NEQ)
    replacement = "IS NOT NULL" if negated else "IS NULL"
    operand_text = text[span[0] : span[1]]
    if not isinstance(operand, _SIMPLE):
        operand_text = f"({operand_text})"
    message = (
        f"`{written}` is never true (a comparison with NULL yields NULL); "
        f"use `{operand_text} {replacement}`"
    )
    fix = Fix(
        f"Replace `{operator} NULL` with `{replacement}`",
        (Edit(start, end, f"{operand_text} {replacement}"),),
        UNSAFE,
    )
    return ctx.finding(start, end, message, [fix])


RULE = Rule(
    id="null-comparison",
    summary="A comparison with NULL through `=`, `<>` or `!=`, which is never true",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    fix="unsafe",
    applies=lambda text: _NULL_WORD.search(text) is not None,
    words=("null",),
)
