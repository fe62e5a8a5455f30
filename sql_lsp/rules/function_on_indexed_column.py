"""
**What it does**

Flags a column wrapped in a function call, a cast (`::`, `CAST`), arithmetic or `COLLATE` and
compared with something in `WHERE`, `JOIN … ON` or `HAVING`, when that column leads an index of its
table (an index, the primary key or a UNIQUE constraint) and no expression index on the same
expression exists. Functions over no column (`now()`) are fine, and so is a column inside the
pattern of `LIKE`, `ILIKE` or `SIMILAR TO` (`$1 ILIKE '%' || name || '%'`): no index serves that
side, wrapped or not. The rule is silent when the table or its indexes are unknown.

A cast that PostgreSQL's planner sees through is not reported, decided from the column's type
(in the catalog) and the cast's, whatever the spelling and the parentheses: a cast to the
column's own type with no type modifier or the same one (`ts::timestamp`, `code::char(5)` on a
`char(5)`), and the relabelling casts between `varchar` and `text` (`(t.subject_type)::text =
'Post'::text` on a `character varying` column, as pg_dump writes it, uses the index). A cast
that changes the type modifier (`varchar(20)` to `varchar(10)`), `char(n)` to `text` (it trims
the value) and every other conversion are reported. When the column's type is not a built-in
one (a domain, an enum, an extension's type) or is unknown, the rule cannot tell and says
nothing about casts of that column.

**Why is this bad?**

A B-tree index on `email` is ordered by `email`, not by `lower(email)`: once the column is wrapped,
PostgreSQL cannot use the index and reads the whole table instead. The query is correct, and fast on
a laptop, and slow in production.

**Example**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
CREATE INDEX users_created_at_idx ON users (created_at);

SELECT id FROM users WHERE lower(email) = 'ada@example.com';
SELECT id FROM users WHERE created_at::date = '2024-05-01';
```

**Use instead**

```sql
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE INDEX users_lower_email_idx ON users (lower(email));

SELECT id FROM users WHERE lower(email) = 'ada@example.com';
SELECT id FROM users WHERE created_at >= '2024-05-01'::date AND created_at < '2024-05-01'::date + 1;
```

**Fix safety**

* `date(col) = X` and `col::date = X` (also `<`, `<=`, `>`, `>=`, `BETWEEN`) on a `timestamp` or
  `timestamptz` column: rewritten to a half-open range on the bare column. Same rows, and the
  index on the column is usable: **safe**.
* `lower(col) = 'Lit'` / `upper(col) = 'LIT'` (also `IN` and `LIKE` with literals): rewritten to
  compare the bare column with the folded literal. That is only the same query if the stored
  values are already folded: **unsafe**, and the title says so.
* Anything else: inserts the `CREATE INDEX` of an expression index on exactly that expression
  before the statement: `WHERE extract(year from b.starttime) = 2020` gets
  `CREATE INDEX bookings_extract_starttime_idx ON bookings ((EXTRACT(YEAR FROM starttime)));`
  (the expression without its table qualifiers, always in parentheses; the table named as
  `missing-fk-index` names it, so that the statement loads in the file's own `search_path`;
  an index name no relation of the schema has). It changes the schema and takes a lock while
  it builds: **unsafe**. It is not offered when the expression is not immutable (a
  `timestamptz` cast to `date`, for instance), because PostgreSQL would refuse such an index.
  When several findings offer the same index (ten queries on `extract(year from starttime)`),
  each finding offers it, and applying fixes together (`--fix --unsafe-fixes`, fix-all)
  creates it once, before the first of them: the fixes carry the name of the index they
  create, and two fixes creating the same name are never applied together.

**Needs**

The workspace schema or a database: which columns are indexed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import sqlglot
import sqlglot.errors
from sqlglot import exp
from sqlglot.tokens import TokenType

from sql_lsp.catalog.model import (
    Index,
    Table,
    default_index_name,
    fold,
    normalize_expression,
    qualified_name,
    quote_ident,
)
from sql_lsp.query_model import COMPARISONS, resolve
from sql_lsp.rules.base import SAFE, UNSAFE, Edit, Finding, Fix, Rule, RuleContext
from sql_lsp.rules.missing_fk_index import fresh_index_name, index_target

DType = exp.DataType.Type

_COMPARISONS = (*COMPARISONS, exp.NullSafeEQ, exp.NullSafeNEQ, exp.SimilarTo)
_WRAPPERS = (exp.Func, exp.Cast, exp.Binary, exp.Collate, exp.Neg, exp.Paren)
_INDEX_METHODS = ("btree", "hash")
_TIMESTAMPS = ("timestamp", "timestamptz")
_OPERATORS = {
    TokenType.EQ,
    TokenType.NEQ,
    TokenType.GT,
    TokenType.GTE,
    TokenType.LT,
    TokenType.LTE,
    TokenType.LIKE,
    TokenType.ILIKE,
    TokenType.IN,
    TokenType.BETWEEN,
    TokenType.IS,
    TokenType.NULLSAFE_EQ,
    TokenType.SIMILAR_TO,
}
_RIGHT_STOP = {
    TokenType.AND,
    TokenType.OR,
    TokenType.THEN,
    TokenType.WHEN,
    TokenType.ELSE,
    TokenType.END,
    TokenType.ORDER_BY,
    TokenType.GROUP_BY,
    TokenType.HAVING,
    TokenType.LIMIT,
    TokenType.OFFSET,
    TokenType.WINDOW,
    TokenType.UNION,
    TokenType.INTERSECT,
    TokenType.EXCEPT,
    TokenType.RETURNING,
    TokenType.FETCH,
    TokenType.FOR,
    TokenType.ON,
    TokenType.JOIN,
    TokenType.LEFT,
    TokenType.RIGHT,
    TokenType.INNER,
    TokenType.FULL,
    TokenType.CROSS,
    TokenType.NATURAL,
    TokenType.WHERE,
    TokenType.SEMICOLON,
    TokenType.COMMA,
    TokenType.QUALIFY,
}
_ATOM = re.compile(r"'(?:[^']|'')*'|\$\d+|%s|%\(\w+\)s|:\w+|\?|[\w.]+")
_ON = re.compile(r"\bon\b")
_FLIP = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE}


def _has_filter(low: str) -> bool:
    """Can the statement (lower-cased) have a WHERE, JOIN … ON or HAVING?"""
    return "where" in low or "having" in low or _ON.search(low) is not None


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    for cmp, owner in _filtered_comparisons(ctx.find_all(exp.Where, exp.Having, exp.Join)):
        yield from _check_comparison(ctx, cmp, owner)


# -- where to look ---------------------------------------------------------------------------


def _filtered_comparisons(
    clauses: list[exp.Expression],
) -> Iterator[tuple[exp.Expression, exp.Expression]]:
    """(comparison, query) for every comparison in the WHERE, JOIN … ON and HAVING `clauses`,
    in tree order; one pass over each clause, whatever its size (a 50,000-term AND chain is
    linear)."""
    found: list[tuple[exp.Expression, exp.Expression]] = []
    for clause in clauses:
        if isinstance(clause, exp.Join):
            root = clause.args.get("on")
            owner = clause.parent
        else:
            root = clause.this
            owner = clause.parent
        if root is None or not isinstance(owner, exp.Select | exp.Update | exp.Delete):
            continue
        # a nested query's own clauses are visited on their own
        found.extend((n, owner) for n in root.walk(False, _nested) if isinstance(n, _COMPARISONS))
    yield from found


def _nested(node: exp.Expression) -> bool:
    return isinstance(node, exp.Query | exp.Subquery | exp.Join)


# -- one comparison --------------------------------------------------------------------------


def _sides(cmp: exp.Expression) -> list[tuple[exp.Expression, list[exp.Expression], bool]]:
    """(wrapped side, other sides, wrapped side is on the left) candidates of a comparison."""
    if isinstance(cmp, exp.In):
        others = list(cmp.expressions) or [cmp.args.get("query") or cmp.args.get("unnest")]
        return [(cmp.this, [o for o in others if o is not None], True)]
    if isinstance(cmp, exp.Between):
        return [(cmp.this, [cmp.args["low"], cmp.args["high"]], True)]
    left, right = cmp.this, cmp.expression
    out = []
    if left is not None and right is not None:
        out.append((left, [right], True))
        if not isinstance(cmp, exp.Like | exp.ILike | exp.SimilarTo):
            # a column inside a LIKE pattern is never an index lookup, wrapped or not
            out.append((right, [left], False))
    return out


def _check_comparison(
    ctx: RuleContext, cmp: exp.Expression, owner: exp.Expression
) -> Iterator[Finding]:
    for side, others, on_left in _sides(cmp):
        if not others or not isinstance(side, _WRAPPERS):
            continue
        if isinstance(side, exp.AggFunc | exp.Window) or side.find(
            exp.AggFunc, exp.Window, exp.Query
        ):
            continue
        inner = side
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Column) or not isinstance(inner, _WRAPPERS):
            continue
        columns = list(inner.find_all(exp.Column))
        if not columns or len({(fold(c.args.get("table")), fold(c.this)) for c in columns}) != 1:
            continue
        column = columns[0]
        if any(
            (fold(c.args.get("table")), fold(c.this))
            == (fold(column.args.get("table")), fold(column.this))
            for o in others
            for c in o.find_all(exp.Column)
        ):
            continue
        table = resolve(ctx.table, column, owner)
        if table is None:
            continue
        col_name = fold(column.this)
        index = _leading_index(table, col_name)
        if index is None:
            continue
        col = table.columns.get(col_name)
        if _cast_uses_index(inner, col.type if col else None) is not False:
            continue  # a cast the planner sees through, or one it cannot tell
        if _expression_indexed(inner, table):
            continue
        finding = _finding(ctx, cmp, side, inner, column, others, on_left, table, index)
        if finding is not None:
            yield finding


def _expression_indexed(node: exp.Expression, table: Table) -> bool:
    """Is there an index on exactly this expression (any key position)?"""
    if isinstance(node, exp.Collate) and isinstance(node.this, exp.Column):
        name = fold(node.this.this)
        collation = node.expression.sql(dialect="postgres") if node.expression is not None else None
        return any(
            k.column == name and k.collation == collation for i in table.indexes for k in i.keys
        )
    key = normalize_expression(node)
    return any(k.expr == key for i in table.indexes for k in i.keys)


def _leading_index(table: Table, column: str) -> Index | None:
    best = None
    for index in table.indexes:
        if not index.keys or index.keys[0].column != column or index.method not in _INDEX_METHODS:
            continue
        if best is None or (index.predicate is None and best.predicate is not None):
            best = index
    return best


def _type_name(text: str | None) -> str:
    t = (text or "").lower().strip()
    t = t.split("(")[0].strip()
    aliases = {
        "timestamp with time zone": "timestamptz",
        "timestamp without time zone": "timestamp",
        "character varying": "varchar",
        "int": "int4",
        "integer": "int4",
        "bigint": "int8",
        "smallint": "int2",
        "bigserial": "int8",
        "serial": "int4",
        "bool": "boolean",
    }
    return aliases.get(t, t)


# PostgreSQL's built-in types as sqlglot reads them -> PostgreSQL's name for the type
_PG_TYPES = {
    DType.VARCHAR: "varchar",
    DType.TEXT: "text",
    DType.CHAR: "bpchar",
    DType.BPCHAR: "bpchar",
    DType.NAME: "name",
    DType.SMALLINT: "int2",
    DType.INT: "int4",
    DType.BIGINT: "int8",
    DType.SMALLSERIAL: "int2",
    DType.SERIAL: "int4",
    DType.BIGSERIAL: "int8",
    DType.DECIMAL: "numeric",
    DType.FLOAT: "float4",
    DType.DOUBLE: "float8",
    DType.BOOLEAN: "bool",
    DType.DATE: "date",
    DType.TIME: "time",
    DType.TIMETZ: "timetz",
    DType.TIMESTAMP: "timestamp",
    DType.TIMESTAMPTZ: "timestamptz",
    DType.INTERVAL: "interval",
    DType.UUID: "uuid",
    DType.JSON: "json",
    DType.JSONB: "jsonb",
}
# casts PostgreSQL makes by relabelling the value (binary coercible, no function): the planner
# sees through them and matches the column's index (`varchar_col::text = 'x'` uses it)
_RELABEL = {("varchar", "text"), ("text", "varchar")}


def _pg_type(node: exp.DataType | str | None) -> tuple[str, tuple[str, ...]] | None:
    """(PostgreSQL type name, type modifiers) of a built-in type; None for any other type (a
    domain, an enum, an array, an extension's type) or what cannot be read."""
    if node is None:
        return None
    try:
        dt = node if isinstance(node, exp.DataType) else exp.DataType.build(node, "postgres")
    except (sqlglot.errors.SqlglotError, ValueError, RecursionError):
        return None
    name = _PG_TYPES.get(dt.this)
    if name is None or dt.args.get("nested"):
        return None
    mods = tuple("".join(e.sql(dialect="postgres").split()) for e in dt.expressions)
    if dt.this == DType.CHAR and not mods:
        mods = ("1",)  # `char` is char(1)
    return name, mods


def _cast_uses_index(node: exp.Expression, column_type: str | None) -> bool | None:
    """For casts (and parentheses) around one column: True when the planner sees through every
    cast, so the column's index is used; False when one of them is a conversion it cannot see
    through; None when a type is not one whose casts are known here. For anything else False.

    Seen through: a cast to the column's own type without a type modifier or with the same one
    (`ts::timestamp`, `name::varchar(40)` on a `varchar(40)`), and the relabelling casts
    between `varchar` and `text` (`(subject_type)::text` on a `character varying`: what
    pg_dump writes). Not: a cast that changes the type modifier (`varchar(40)` to
    `varchar(10)`), `char(n)` to `text` (it trims), any other conversion."""
    layers: list[exp.Cast] = []
    while isinstance(node, exp.Cast | exp.Paren):
        if isinstance(node, exp.Cast):
            layers.append(node)
        node = node.this
    if not layers or not isinstance(node, exp.Column):
        return False
    current = _pg_type(column_type)
    for cast in reversed(layers):
        target = _pg_type(cast.args.get("to"))
        if current is None or target is None:
            return None
        (source, source_mods), (name, mods) = current, target
        if name == source:
            if mods and mods != source_mods:
                return False
        elif (source, name) not in _RELABEL or mods:
            return False
        current = target if mods or name != source else current
    return True


# -- the finding and its fixes ------------------------------------------------------------------


def _finding(
    ctx: RuleContext,
    cmp: exp.Expression,
    side: exp.Expression,
    inner: exp.Expression,
    column: exp.Column,
    others: list[exp.Expression],
    on_left: bool,
    table: Table,
    index: Index,
) -> Finding | None:
    span = ctx.locate(side)
    if span is None:
        return None
    start, end = span
    side_text = _written(ctx.text[start:end], side)
    col_name = fold(column.this)
    what = (
        "primary key" if index.primary else ("unique constraint" if index.constraint else "index")
    )
    message = (
        f"{qualified_name(table.schema, table.name, ctx.search_path)}.{quote_ident(col_name)} "
        f"is indexed ({what} {index.name}), but {side_text} cannot use that index"
    )
    fixes: list[Fix] = []
    col_type = _type_name(table.columns[col_name].type if col_name in table.columns else None)
    date_fix = _date_range_fix(ctx, cmp, inner, column, others, on_left, col_type, span)
    if date_fix is not None:
        fixes.append(date_fix)
    fold_fix = _fold_fix(ctx, cmp, inner, column, others, span)
    if fold_fix is not None:
        fixes.append(fold_fix)
    if not fixes:
        index_fix = _index_fix(ctx, inner, table, col_type)
        if index_fix is not None:
            fixes.append(index_fix)
    return ctx.finding(start, end, message, fixes)


def _written(text: str, node: exp.Expression) -> str:
    """`text` when it is the whole of `node`, else `node` as sqlglot writes it (sqlglot does not
    locate every node: `extract(year from x)` would be shown as just `x`)."""
    try:
        written = _normalized(text)
        if written is None or written == normalize_expression(node):
            return text
        return node.sql(dialect="postgres")
    except (sqlglot.errors.SqlglotError, RecursionError, ValueError):
        return text


@lru_cache(maxsize=1024)
def _normalized(text: str) -> str | None:
    """`normalize_expression` of the expression `text` (None: sqlglot cannot read it); the
    same expression text comes back in query after query."""
    try:
        return normalize_expression(sqlglot.parse_one(text, read="postgres"))
    except (sqlglot.errors.SqlglotError, RecursionError, ValueError):
        return None


def _is_date_of_column(node: exp.Expression) -> bool:
    if isinstance(node, exp.Date) and isinstance(node.this, exp.Column) and not node.expressions:
        return True
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Column):
        return _type_name(node.args["to"].sql(dialect="postgres")) == "date"
    return False


def _date_range_fix(
    ctx: RuleContext,
    cmp: exp.Expression,
    inner: exp.Expression,
    column: exp.Column,
    others: list[exp.Expression],
    on_left: bool,
    col_type: str,
    side_span: tuple[int, int],
) -> Fix | None:
    if not _is_date_of_column(inner) or col_type not in _TIMESTAMPS:
        return None
    col_span = ctx.locate(column)
    if col_span is None:
        return None
    col_text = ctx.text[col_span[0] : col_span[1]]
    bounds = _comparison_bounds(ctx, cmp, side_span, on_left)
    if bounds is None:
        return None
    cmp_start, cmp_end, value_spans = bounds

    def day(span: tuple[int, int]) -> str:
        text = ctx.text[span[0] : span[1]].strip()
        if text.lower() == "current_date" or text.lower().endswith("::date"):
            return text
        return f"{text}::date" if _ATOM.fullmatch(text) else f"({text})::date"

    kind = type(cmp)
    if not on_left and kind in _FLIP:
        kind = _FLIP[kind]
    if kind is exp.Between:
        lo, hi = day(value_spans[0]), day(value_spans[1])
        new = f"{col_text} >= {lo} AND {col_text} < {hi} + 1"
    elif kind is exp.EQ:
        d = day(value_spans[0])
        new = f"{col_text} >= {d} AND {col_text} < {d} + 1"
    elif kind is exp.GTE:
        new = f"{col_text} >= {day(value_spans[0])}"
    elif kind is exp.GT:
        new = f"{col_text} >= {day(value_spans[0])} + 1"
    elif kind is exp.LT:
        new = f"{col_text} < {day(value_spans[0])}"
    elif kind is exp.LTE:
        new = f"{col_text} < {day(value_spans[0])} + 1"
    else:
        return None
    if " AND " in new and not isinstance(
        cmp.parent, exp.And | exp.Where | exp.Having | exp.Join | exp.Paren
    ):
        new = f"({new})"
    title = f"Compare {col_text} with a range instead of {ctx.text[side_span[0] : side_span[1]]}"
    return Fix(title, (Edit(cmp_start, cmp_end, new),), SAFE)


def _comparison_bounds(
    ctx: RuleContext, cmp: exp.Expression, side_span: tuple[int, int], on_left: bool
) -> tuple[int, int, list[tuple[int, int]]] | None:
    """Start and end of the whole comparison, and the spans of the value operand(s)."""
    loc = ctx.locator
    toks = loc.tokens
    base = ctx.statement.start
    s_first = loc.token_index(side_span[0] - base)
    s_last = loc.token_index(side_span[1] - 1 - base)
    if s_last >= len(toks):
        return None
    if on_left:
        op = s_last + 1
        if op >= len(toks) or toks[op].token_type not in _OPERATORS:
            return None
        if isinstance(cmp, exp.Between):
            and_k = _scan_right(toks, op + 1, stop_at_and=True)
            if and_k >= len(toks) or toks[and_k].token_type != TokenType.AND:
                return None
            end_k = _scan_right(toks, and_k + 1)
            values = [
                (base + toks[op + 1].start, base + toks[and_k - 1].end + 1),
                (base + toks[and_k + 1].start, base + toks[end_k - 1].end + 1),
            ]
            return side_span[0], base + toks[end_k - 1].end + 1, values
        end_k = _scan_right(toks, op + 1)
        if end_k <= op + 1:
            return None
        value = (base + toks[op + 1].start, base + toks[end_k - 1].end + 1)
        return side_span[0], value[1], [value]
    op = s_first - 1
    if op < 0 or toks[op].token_type not in _OPERATORS:
        return None
    start_k = _scan_left(toks, op - 1)
    if start_k >= op:
        return None
    value = (base + toks[start_k].start, base + toks[op - 1].end + 1)
    return value[0], side_span[1], [value]


_LEFT_STOP = _RIGHT_STOP | {TokenType.NOT, TokenType.SELECT} | _OPERATORS


def _scan_right(toks: list, k: int, stop_at_and: bool = False) -> int:
    depth = 0
    while k < len(toks):
        tt = toks[k].token_type
        if tt in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif tt in (TokenType.R_PAREN, TokenType.R_BRACKET):
            if depth == 0:
                return k
            depth -= 1
        elif depth == 0 and (tt in _RIGHT_STOP or tt in _OPERATORS):
            return k
        k += 1
    return k


def _scan_left(toks: list, k: int) -> int:
    depth = 0
    while k >= 0:
        tt = toks[k].token_type
        if tt in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth += 1
        elif tt in (TokenType.L_PAREN, TokenType.L_BRACKET):
            if depth == 0:
                return k + 1
            depth -= 1
        elif depth == 0 and tt in _LEFT_STOP:
            return k + 1
        k -= 1
    return 0


def _fold_fix(
    ctx: RuleContext,
    cmp: exp.Expression,
    inner: exp.Expression,
    column: exp.Column,
    others: list[exp.Expression],
    side_span: tuple[int, int],
) -> Fix | None:
    if not isinstance(inner, exp.Lower | exp.Upper) or inner.this is not column:
        return None
    if not isinstance(cmp, exp.EQ | exp.In | exp.Like):
        return None
    if not all(isinstance(o, exp.Literal) and o.is_string for o in others):
        return None
    col_span = ctx.locate(column)
    if col_span is None:
        return None
    lower = isinstance(inner, exp.Lower)
    edits = [Edit(side_span[0], side_span[1], ctx.text[col_span[0] : col_span[1]])]
    folded = []
    for lit in others:
        span = ctx.locate(lit)
        if span is None:
            return None
        raw = ctx.text[span[0] : span[1]]
        new = raw.lower() if lower else raw.upper()
        folded.append(new)
        if new != raw:
            edits.append(Edit(span[0], span[1], new))
    edits.sort(key=lambda e: e.start)
    col_text = ctx.text[col_span[0] : col_span[1]]
    case = "lower" if lower else "upper"
    title = (
        f"Compare {col_text} directly with {', '.join(folded)} "
        f"(unsafe: assumes stored values are already {case}-case)"
    )
    return Fix(title, tuple(edits), UNSAFE)


_MUTABLE_ON_TIMESTAMPTZ = (exp.Cast, exp.Date, exp.TimestampTrunc, exp.Extract, exp.DateTrunc)


def _index_key(ctx: RuleContext, inner: exp.Expression) -> str | None:
    """The expression to index, without table qualifiers: the source text when it is exactly
    the expression (sqlglot does not locate every node: `extract(…)`, `(x)::t`), else the
    expression as sqlglot writes it for PostgreSQL."""
    bare = inner.copy()
    for col in bare.find_all(exp.Column):
        for part in ("table", "db", "catalog"):
            col.set(part, None)
    want = normalize_expression(bare)
    text = _unqualified_text(ctx, inner)
    if text is not None:
        try:
            again = sqlglot.parse_one(text, read="postgres")
        except (sqlglot.errors.SqlglotError, RecursionError, ValueError):
            again = None
        if again is not None and normalize_expression(again) == want:
            return text
    try:
        return bare.sql(dialect="postgres")
    except (sqlglot.errors.SqlglotError, RecursionError, ValueError):
        return None


def _unqualified_text(ctx: RuleContext, node: exp.Expression) -> str | None:
    """The source text of `node` with table qualifiers removed from its columns."""
    span = ctx.locate(node)
    if span is None:
        return None
    cuts = []
    for col in node.find_all(exp.Column):
        qual, name = col.args.get("table"), col.this
        if qual is None:
            continue
        q, n = ctx.locate(qual), ctx.locate(name)
        if q is None or n is None:
            return None
        cuts.append((q[0], n[0]))
    text = ctx.text
    out, pos = [], span[0]
    for a, b in sorted(cuts):
        if a < pos:
            return None
        out.append(text[pos:a])
        pos = b
    out.append(text[pos : span[1]])
    return "".join(out)


def _index_fix(ctx: RuleContext, inner: exp.Expression, table: Table, col_type: str) -> Fix | None:
    if col_type == "timestamptz" and isinstance(inner, _MUTABLE_ON_TIMESTAMPTZ):
        return None  # not immutable: PostgreSQL refuses the index
    if inner.find(exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.Rand):
        return None
    text = _index_key(ctx, inner)
    if text is None:
        return None
    # COLLATE on a column is that column's index key with a collation; anything else is an
    # expression, always in parentheses (PostgreSQL takes `((f(x)))` for any expression)
    key = text if isinstance(inner, exp.Collate) else f"({text})"
    is_call = isinstance(inner, exp.Func) and not isinstance(inner, exp.Cast | exp.Collate)
    m = re.match(r"\s*([A-Za-z_]\w*)\s*\(", text)
    label = m.group(1).lower() if m and is_call else "expr"
    column = next(iter(inner.find_all(exp.Column)))
    name = fresh_index_name(ctx, table, default_index_name(table.name, [label, fold(column.this)]))
    target = index_target(ctx, table)
    around = ctx.surroundings
    line_start = around.line_start if around.own_line else ctx.statement.start
    newline = around.newline
    create = f"CREATE INDEX {quote_ident(name)} ON {target} ({key});{newline}"
    title = f"Create an expression index on {target} ({key})"
    creates = (f"{table.schema}.{name}",)
    return Fix(title, (Edit(line_start, line_start, create),), UNSAFE, creates)


RULE = Rule(
    id="function-on-indexed-column",
    summary="An indexed column wrapped in a function, cast or arithmetic in a filter",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="catalog",
    fix="sometimes",
    dialects=("postgres",),
    applies=lambda text: _has_filter(text.lower()),
)
