"""
**What it does**

Flags a query inside a PL/pgSQL loop over a query's rows (`FOR rec IN SELECT … LOOP`,
`FOR rec IN EXECUTE … LOOP`, a cursor `FOR rec IN cur LOOP`, `FOREACH x IN ARRAY …`) when the
query is keyed on the loop variable: a `SELECT … INTO`, `PERFORM`, `INSERT`, `UPDATE` or
`DELETE` whose text uses `rec.field` (or the loop's scalar variable). The finding is on that
inner query. Loops that only compute, `RAISE`, or run dynamic SQL (`EXECUTE`, usually one DDL
per table) are not flagged, nor a `PERFORM` or `SELECT … INTO` that reads no table
(`PERFORM log_line(rec.name)`, `SELECT rec.a + 1 INTO v`).

**Why is this bad?**

This is the N+1 query pattern inside the database: one query per row of the outer query. Each
iteration plans and runs a statement, takes its locks and writes its WAL record one row at a
time; a loop over 100,000 rows runs 100,001 statements where one set-based statement would do
the same work in a single pass (often with a hash join instead of 100,000 index probes).

**Example**

```sql
CREATE FUNCTION close_orders() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT id FROM customers WHERE closed LOOP
    UPDATE orders SET status = 'closed' WHERE customer_id = r.id;
  END LOOP;
END $$;
```

**Use instead**

```sql
CREATE FUNCTION close_orders() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE orders o SET status = 'closed'
  FROM customers c
  WHERE c.closed AND o.customer_id = c.id;
END $$;
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sql_lsp import pg, plpgsql
from sql_lsp.rules.base import Finding, Rule, RuleContext

_LOOPS = {
    "PLpgSQL_stmt_fors": "query",
    "PLpgSQL_stmt_forc": None,
    "PLpgSQL_stmt_dynfors": "query",
    "PLpgSQL_stmt_foreach_a": "expr",
}
# inner statements that run a query, and the field holding it
_QUERIES = {"PLpgSQL_stmt_execsql": "sqlstmt", "PLpgSQL_stmt_perform": "expr"}


def check(ctx: RuleContext) -> Iterator[Finding]:
    body = plpgsql.body(ctx.statement.text)
    if body is None:
        return
    datums = body.function.get("datums") or []
    seen: set[int] = set()
    for kind, loop in plpgsql.statements(body.function):
        if kind not in _LOOPS:
            continue
        names = _loop_variables(kind, loop, datums)
        if not names:
            continue
        for inner_kind, inner in plpgsql.statements(loop.get("body") or []):
            field = _QUERIES.get(inner_kind)
            text = plpgsql.query(inner.get(field)) if field else None
            if text is None or not _keyed(text, names) or not _reads_rows(text):
                continue
            span = body.locate(
                inner.get("lineno", 0), text, perform=inner_kind == "PLpgSQL_stmt_perform"
            )
            if span is None or span[0] in seen:
                continue
            seen.add(span[0])
            start = ctx.statement.start + span[0]
            end = ctx.statement.start + span[1]
            what = " ".join(sorted(names))
            yield ctx.finding(
                start,
                end,
                f"this query runs once per row of the loop over `{what}` (N+1); "
                "write one set-based statement (a join, `= ANY(…)` or `INSERT … SELECT`) instead",
            )


def _loop_variables(kind: str, loop: dict[str, Any], datums: list[Any]) -> set[str]:
    """Lower-cased names the loop assigns on each iteration."""
    if kind == "PLpgSQL_stmt_foreach_a":
        return _datum_names(datums, loop.get("varno"))
    var_kind, var = pg.node(loop.get("var"))
    if var_kind in ("PLpgSQL_rec", "PLpgSQL_var") and var.get("refname"):
        return {var["refname"].lower()}
    if var_kind == "PLpgSQL_row":
        return {f["name"].lower() for f in var.get("fields") or [] if f.get("name")}
    return set()


def _datum_names(datums: list[Any], number: Any) -> set[str]:
    if not isinstance(number, int) or not 0 <= number < len(datums):
        return set()
    _, d = pg.node(datums[number])
    name = d.get("refname")
    if name and not name.startswith("("):
        return {name.lower()}
    return {f["name"].lower() for f in d.get("fields") or [] if f.get("name")}


def _reads_rows(text: str) -> bool:
    """Does the query read or write a table? `PERFORM log(rec.x)` and `SELECT rec.a + 1 INTO v`
    have no FROM: they compute, and no set-based statement would replace them."""
    rejection, tree = pg.check(text)
    if rejection is not None or tree is None:
        return True  # cannot tell: judged as written
    nodes = pg.statements(tree)
    kind, fields = pg.node(nodes[0]) if len(nodes) == 1 else ("", {})
    if kind != "SelectStmt":
        return True
    setop = fields.get("op", "SETOP_NONE") != "SETOP_NONE"  # a UNION: its arms may read tables
    return bool(fields.get("fromClause") or fields.get("withClause") or setop)


def _keyed(text: str, names: set[str]) -> bool:
    """Does query `text` use one of `names` as a value (`rec.x`, or the bare name)?"""
    tokens = pg.scan(text)
    for i, tok in enumerate(tokens):
        if tok.name != "IDENT" and tok.kind == "RESERVED_KEYWORD":
            continue
        word = text[tok.start : tok.end + 1].lower()
        if word not in names:
            continue
        before = tokens[i - 1] if i > 0 else None
        if before is not None and before.name == "ASCII_46":
            continue  # `t.name`: a column called like the variable
        return True
    return False


RULE = Rule(
    id="query-in-loop",
    summary="A query inside a PL/pgSQL loop, keyed on the loop variable (N+1)",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    dialects=("postgres",),
    applies=plpgsql.applies,
    needs_tree=False,
)
