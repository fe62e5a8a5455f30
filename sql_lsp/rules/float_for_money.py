"""
**What it does**

Flags a `real`, `double precision` or `float` column whose name says it holds money: its last
word (words are separated by `_`) is one of price, amount, cost, balance, total, subtotal, fee,
fees, salary, wage, wages, payment, refund, revenue, charge, budget; or its last
word is a currency (`usd`, `eur`, `gbp`, `cents`…) after such a word (`price_usd`). A name
whose last word says something else (`total_distance`, `cost_ratio`) is not flagged, nor are
`discount` and `tax` alone (often a rate: Northwind's `discount real` holds 0.05 for 5%). The type
is the column's type at the end of the history (a later `ALTER COLUMN … TYPE numeric` clears
it); the finding sits on the column's name where it is declared.

**Why is this bad?**

Floating-point types store binary fractions: 0.1 has no exact representation, so sums drift
(`0.1 + 0.2 = 0.30000000000000004`), equal amounts compare unequal and rounding differs from the
decimal rules accounting uses. `numeric` stores decimal digits exactly.

**Example**

```sql
CREATE TABLE invoices (id bigint PRIMARY KEY, amount double precision NOT NULL);
```

**Use instead**

```sql
CREATE TABLE invoices (id bigint PRIMARY KEY, amount numeric(12, 2) NOT NULL);
```

**Needs**

The workspace schema.
"""

from __future__ import annotations

from collections.abc import Iterator

from sql_lsp.rules.base import Finding, Rule, RuleContext, changes_schema
from sql_lsp.rules.declared_columns import column_finding, declared_columns

FLOAT_TYPES = frozenset({"real", "double precision", "float", "double", "float4", "float8"})
_MONEY = frozenset(
    [
        "price",
        "amount",
        "cost",
        "balance",
        "total",
        "subtotal",
        "fee",
        "fees",
        "salary",
        "wage",
        "wages",
        "payment",
        "refund",
        "revenue",
        "charge",
        "budget",
    ]
)
_CURRENCY = frozenset(
    ["usd", "eur", "gbp", "jpy", "chf", "cad", "aud", "cny", "inr", "rub", "cents", "cent"]
)


def money_name(name: str) -> bool:
    words = [w for w in name.lower().split("_") if w]
    if not words:
        return False
    if words[-1] in _MONEY:
        return True
    return words[-1] in _CURRENCY and len(words) > 1 and words[-2] in _MONEY


def check(ctx: RuleContext) -> Iterator[Finding]:
    for table, column in declared_columns(ctx):
        if (column.type or "").lower() not in FLOAT_TYPES or not money_name(column.name):
            continue
        yield column_finding(
            ctx,
            table,
            column,
            f"holds money in {column.type}, which cannot store most decimal amounts exactly "
            "(sums drift, equal amounts compare unequal); use numeric",
        )


RULE = Rule(
    id="float-for-money",
    summary="A money column (price, amount, total…) of a floating-point type",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    dialects=("postgres",),
    needs_tree=False,
    applies=changes_schema,
)
