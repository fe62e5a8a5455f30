"""
**What it does**

Flags PL/pgSQL dynamic SQL (`EXECUTE`, `RETURN QUERY EXECUTE`, `OPEN … FOR EXECUTE`,
`FOR … IN EXECUTE`) whose command string is built from a text parameter or a text variable
pasted in as it is: concatenated with `||`, passed to `concat()`/`concat_ws()`, or put in with
`format()`'s `%s`. A value wrapped in `quote_ident()`, `quote_literal()` or `quote_nullable()`,
put in with `format()`'s `%I` or `%L`, or passed with `EXECUTE … USING` is safe and not flagged;
so are numbers, booleans and other non-text variables, and record fields (their type is not
known here).

**Why is this bad?**

The value becomes part of the SQL text. A caller who passes `x'; DROP TABLE users; --` as a
table name or a search term runs their own SQL with the function's privileges — with
`SECURITY DEFINER`, the owner's. Even with no attacker, a name with a capital letter, a space or
a quote breaks the statement.

**Example**

```sql
CREATE FUNCTION count_rows(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE 'SELECT count(*) FROM ' || tbl INTO n;
  RETURN n;
END $$;
```

**Use instead**

```sql
CREATE FUNCTION count_rows(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %I', tbl) INTO n;
  RETURN n;
END $$;
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sql_lsp import pg, plpgsql
from sql_lsp.rules.base import Finding, Rule, RuleContext

# statements that run a command string, and the field holding it
_DYNAMIC = {
    "PLpgSQL_stmt_dynexecute": "query",
    "PLpgSQL_stmt_dynfors": "query",
    "PLpgSQL_stmt_return_query": "dynquery",
    "PLpgSQL_stmt_open": "dynquery",
}
_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name", "citext", "char"})
_QUOTING = frozenset({"quote_ident", "quote_literal", "quote_nullable"})
_CONCAT = frozenset({"concat", "concat_ws"})
_SPEC = re.compile(r"%(?:(\d+)\$)?-?\d*([sIL%])")


def check(ctx: RuleContext) -> Iterator[Finding]:
    body = plpgsql.body(ctx.statement.text)
    if body is None:
        return
    for kind, stmt in plpgsql.statements(body.function):
        field = _DYNAMIC.get(kind)
        text = plpgsql.query(stmt.get(field)) if field else None
        if not text:
            continue
        unsafe = _unsafe(text, body.variables)
        if unsafe is None:
            continue
        span = body.locate(stmt.get("lineno", 0), text)
        if span is None:
            continue
        name, how = unsafe
        what = "parameter" if name in body.parameters else "variable"
        yield ctx.finding(
            ctx.statement.start + span[0],
            ctx.statement.start + span[1],
            f"the text {what} `{name}` is {how} into dynamic SQL unquoted (SQL injection); "
            "use format() with %I (names) or %L (values), quote_ident()/quote_literal(), "
            "or EXECUTE … USING",
        )


def _unsafe(text: str, variables: dict[str, str]) -> tuple[str, str] | None:
    """The first text variable pasted into command string `text` as it is, and how."""
    from pglast import parser

    try:
        (stmt,) = pg.statements(parser.parse_sql_json("SELECT " + text))
    except Exception:
        return None
    _, select = pg.node(stmt)
    targets = select.get("targetList") or []
    if len(targets) != 1:
        return None
    _, target = pg.node(targets[0])
    return _walk(target.get("val"), variables)


def _walk(node: Any, variables: dict[str, str]) -> tuple[str, str] | None:
    kind, fields = pg.node(node)
    if kind == "A_Expr" and pg.strings(fields.get("name")) == ["||"]:
        for side in (fields.get("lexpr"), fields.get("rexpr")):
            name = _text_variable(side, variables)
            if name is not None:
                return name, "concatenated"
            found = _walk(side, variables)
            if found is not None:
                return found
        return None
    if kind == "FuncCall":
        func = (pg.strings(fields.get("funcname")) or [""])[-1].lower()
        args = fields.get("args") or []
        if func in _QUOTING:
            return None
        if func in _CONCAT:
            for arg in args[1:] if func == "concat_ws" else args:
                name = _text_variable(arg, variables)
                if name is not None:
                    return name, "concatenated"
        if func == "format" and args:
            _, first = pg.node(args[0])
            pattern = ((first.get("sval") or {}).get("sval")) if "sval" in first else None
            if isinstance(pattern, str):
                for spec, arg in _format_arguments(pattern, args[1:]):
                    if spec == "s":
                        name = _text_variable(arg, variables)
                        if name is not None:
                            return name, "put with format('%s')"
        for arg in args:
            found = _walk(arg, variables)
            if found is not None:
                return found
        return None
    if kind in ("TypeCast", "CollateClause"):
        return _walk(fields.get("arg"), variables)
    if kind == "CoalesceExpr":
        for arg in fields.get("args") or []:
            found = _walk(arg, variables)
            if found is not None:
                return found
    return None


def _format_arguments(pattern: str, args: list[Any]) -> Iterator[tuple[str, Any]]:
    """(conversion, argument) of each specifier of a format() pattern."""
    position = 0
    for m in _SPEC.finditer(pattern):
        spec = m.group(2)
        if spec == "%":
            continue
        if m.group(1):
            position = int(m.group(1)) - 1
        if 0 <= position < len(args):
            yield spec, args[position]
        position += 1


def _text_variable(node: Any, variables: dict[str, str]) -> str | None:
    """The name of the text parameter or variable `node` reads as it is, or None."""
    kind, fields = pg.node(node)
    if kind == "TypeCast":
        return _text_variable(fields.get("arg"), variables)
    if kind != "ColumnRef":
        return None
    names = pg.strings(fields.get("fields"))
    if len(names) != 1:
        return None
    name = names[0].lower()
    typ = variables.get(name)
    if typ is None or typ.lstrip("_") != typ or typ not in _TEXT_TYPES:
        return None
    return name


RULE = Rule(
    id="dynamic-sql-injection",
    summary="PL/pgSQL EXECUTE of SQL built from a text parameter or variable without quoting",
    check=check,
    docs=__doc__ or "",
    severity="warning",
    needs="syntax",
    dialects=("postgres",),
    applies=lambda text: plpgsql.applies(text) and re.search(r"execute", text, re.I) is not None,
    words=("execute",),
    needs_tree=False,
)
