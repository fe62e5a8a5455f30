"""The only place that sends a user's statement to PostgreSQL: a safe EXPLAIN.

Safety, in layers:

1. `check_statement` accepts exactly one statement (our splitter) that parses (sqlglot) as a
   SELECT / VALUES / set operation, INSERT, UPDATE, DELETE or MERGE. Anything else — DDL, `DO`,
   `CALL`, `COPY`, a second statement after a `;` — is refused before anything is sent.
2. Every statement is sent with the extended query protocol (a bound-parameter cursor with binary
   results), which PostgreSQL runs as exactly one statement: `EXPLAIN SELECT 1; COMMIT; DROP TABLE
   t` is rejected by the server even if it got this far.
3. It runs inside a transaction that is read-only, has `statement_timeout` and `lock_timeout`
   set locally, and is always rolled back.
4. `EXPLAIN ANALYZE` (which executes the statement) is used only when asked for and only for a
   plain query: no INSERT/UPDATE/DELETE/MERGE, no data-modifying CTE, no `SELECT INTO`, no
   `FOR UPDATE`, no parameters. A read-only transaction is no sandbox (dblink, lo_export,
   pg_terminate_backend, advisory locks, nextval... act outside it), so before running it a
   plain `EXPLAIN (VERBOSE)` shows what the plan calls (views and row security policies
   expanded): every function named in it, every function behind its operators and casts and
   in the checks of the domains it casts to is looked up in `pg_proc` on the live catalog, and
   ANALYZE is refused when one is VOLATILE, is not built in and not part of an extension (its
   IMMUTABLE or STABLE label cannot be trusted), or is one of the built-ins that run queries of
   their own (`table_to_xml` and friends) or consume a transaction id (`txid_current`).
   Otherwise, and whenever ANALYZE is refused, the estimated plan is shown with a one-line note
   saying why (naming the function).
5. Even a plain EXPLAIN evaluates IMMUTABLE and STABLE functions while planning (constant
   folding, selectivity estimates): a statement naming one of the built-ins that run queries
   of their own is refused outright. A user-defined function mislabelled IMMUTABLE can still
   run while planning; the role sql-lsp connects as is the last line (docs/database.md).

Parameterised statements (`$1`, `%s`, `%(name)s`, `:name`, `:'name'`, `?`) are explained as a
generic plan: placeholders are rewritten to `$n` (a repeated name reuses its number), then
`EXPLAIN (GENERIC_PLAN)` on PostgreSQL 16+, or on older servers
`SET LOCAL plan_cache_mode = force_generic_plan; PREPARE s AS ...; EXPLAIN EXECUTE s(NULL, ...)`
followed by `DEALLOCATE s` (prepared statements outlive a rollback).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from sql_lsp.database import Database, DatabaseError, Failure, Lane, Problem
from sql_lsp.explain.plan import Plan, parse_plan
from sql_lsp.statements import parse, split

if TYPE_CHECKING:  # imported when a database is used
    import psycopg

# --------------------------------------------------------------------------------------------
# which statements may be sent


@dataclass(frozen=True)
class Checked:
    """A statement that passed `check_statement`, ready to send.

    `text` is the statement with placeholders rewritten to `$n` (no comments around it, no `;`);
    `params` the number of parameters; `kind` one of select, insert, update, delete, merge;
    `analyze_refusal` says why EXPLAIN ANALYZE may not run it (None: it may).
    """

    text: str
    kind: str
    params: int
    analyze_refusal: str | None


_QUERY_TYPES = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)
_DML_TYPES = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete", exp.Merge: "merge"}


def check_statement(sql: str, dialect: str = "postgres") -> Checked | Failure:
    """Decide whether `sql` may be explained, and prepare it for sending.

    `sql` must hold exactly one statement (comments and a trailing `;` are fine). A statement
    naming a function that runs queries of its own (`table_to_xml` ...) is refused: planning
    may evaluate it.
    """
    refused = Problem.NOT_ALLOWED
    spans = split(sql, dialect)
    sql_spans = [s for s in spans if s.kind == "sql"]
    if len(spans) != 1 or len(sql_spans) != 1:
        if not spans:
            return Failure(refused, "no statement to explain")
        return Failure(refused, "only a single statement can be explained")
    span = sql_spans[0]
    if span.issue is not None:
        return Failure(Problem.SYNTAX, f"cannot explain: {span.issue[0]}")
    text = sql[span.start : span.end]
    kind = _kind(text, dialect)
    if isinstance(kind, Failure):
        return kind
    runner = next((n for n in called_names(text) if n in RUNS_QUERIES), None)
    if runner is not None:
        return Failure(
            refused,
            f"cannot explain: {runner}() runs queries of its own, and planning may evaluate it",
        )
    try:
        rewritten, params = to_dollar_params(text)
    except ValueError as e:
        return Failure(refused, f"cannot explain: {e}")
    if rewritten != text:
        # what is sent must pass the same checks as what was written
        again = split(rewritten, dialect)
        if len(again) != 1 or again[0].kind != "sql" or _kind(rewritten, dialect) != kind:
            return Failure(refused, "cannot explain: the placeholders could not be rewritten")
    return Checked(rewritten, kind, params, _analyze_refusal(text, kind, params, dialect))


def _kind(text: str, dialect: str) -> str | Failure:
    parsed = parse(text, dialect)
    tree = parsed.tree
    if tree is None:
        if parsed.error is not None:
            return Failure(Problem.SYNTAX, f"cannot explain: {parsed.error.message}")
        return Failure(
            Problem.NOT_ALLOWED,
            "only SELECT, INSERT, UPDATE, DELETE and MERGE statements can be explained",
        )
    if isinstance(tree, _QUERY_TYPES):
        if isinstance(tree, exp.Subquery) and not isinstance(tree.unnest(), _QUERY_TYPES):
            return Failure(Problem.NOT_ALLOWED, "only queries can be explained")
        return "select"
    for cls, name in _DML_TYPES.items():
        if type(tree) is cls:
            return name
    what = _statement_name(text)
    if what == "EXPLAIN":
        return Failure(Problem.NOT_ALLOWED, "this is already an EXPLAIN: write the statement alone")
    return Failure(
        Problem.NOT_ALLOWED,
        f"{what} cannot be explained (only SELECT, INSERT, UPDATE, DELETE and MERGE)",
    )


def _statement_name(text: str) -> str:
    words = re.findall(r"[A-Za-z_]+", text[:80])[:3]
    if not words:
        return "this statement"
    head = words[0].upper()
    if head in ("CREATE", "ALTER", "DROP") and len(words) > 1:
        second = words[1].upper()
        if second in ("UNIQUE", "OR", "TEMP", "TEMPORARY", "UNLOGGED") and len(words) > 2:
            second = words[2].upper()
        return f"{head} {second}"
    return head


def _analyze_refusal(text: str, kind: str, params: int, dialect: str) -> str | None:
    if kind != "select":
        return f"EXPLAIN ANALYZE would run this {kind.upper()}; showing the estimated plan"
    tree = parse(text, dialect).tree
    assert tree is not None
    if any(isinstance(n, tuple(_DML_TYPES)) for n in tree.walk()):
        return "EXPLAIN ANALYZE would run its data-modifying CTE; showing the estimated plan"
    for node in tree.walk():
        if isinstance(node, exp.Select) and node.args.get("into") is not None:
            return "EXPLAIN ANALYZE would create a table (SELECT INTO); showing the estimated plan"
        if isinstance(node, exp.Select) and node.args.get("locks"):
            return "EXPLAIN ANALYZE would lock rows (FOR UPDATE/SHARE); showing the estimated plan"
    if params:
        return "EXPLAIN ANALYZE needs values for the parameters; showing the generic plan"
    return None


# --------------------------------------------------------------------------------------------
# what a plan calls (for EXPLAIN ANALYZE)

# built-in STABLE functions that run queries of their own (on tables or views that may call
# anything): refused even for a plain EXPLAIN, since planning may evaluate them
RUNS_QUERIES = frozenset(
    {
        f"{what}_to_{out}"
        for what in ("table", "schema", "database")
        for out in ("xml", "xmlschema", "xml_and_xmlschema")
    }
)
# built-in non-volatile functions EXPLAIN ANALYZE must not run either: they assign a
# transaction id (a change visible outside the transaction)
_ANALYZE_DENY = RUNS_QUERIES | {"txid_current", "pg_current_xact_id"}
_FIRST_NORMAL_OID = 16384  # PostgreSQL's FirstNormalObjectId: smaller oids are built in

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_CALL = re.compile(rf"(?<![A-Za-z0-9_$\"])(?:{_IDENT}\s*\.\s*)?({_IDENT})\s*\(")
_CAST = re.compile(rf"::\s*(?:{_IDENT}\s*\.\s*)?({_IDENT})")
_OPERATOR = re.compile(r"OPERATOR\(\s*(?:[^().]+\.)?([^()\s]+)\s*\)|([-+*/<>=~!@#%^&|`?]+)")
_NODE_OID = re.compile(r":(?:funcid|opfuncid|aggfnoid|winfnoid|hashfuncid|negfuncid) (\d+)")


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def called_names(expression: str) -> list[str]:
    """The names of the functions an SQL expression (or statement) calls, in order, without
    schema, folded like PostgreSQL; words inside string literals and comments do not count."""
    text = _COMMENT.sub(" ", _LITERAL.sub("''", expression))
    return [_unquote(m.group(1)) for m in _CALL.finditer(text)]


@dataclass
class _Calls:
    """What a VERBOSE plan shows it calls: function names, operator names, cast target types."""

    functions: set[str] = field(default_factory=set)
    operators: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)

    def add_expression(self, text: str) -> None:
        text = _LITERAL.sub("''", text)
        self.functions.update(_unquote(m.group(1)) for m in _CALL.finditer(text))
        self.types.update(_unquote(m.group(1)) for m in _CAST.finditer(text))
        bare = re.sub(r'"(?:[^"]|"")+"', '""', text).replace("::", " ")
        for m in _OPERATOR.finditer(bare):
            self.operators.add(m.group(1) or m.group(2))


def plan_calls(raw: list[Any]) -> _Calls:
    """Everything an EXPLAIN (VERBOSE, FORMAT JSON) document says the plan calls."""
    calls = _Calls()

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, value in node.items():
                walk(value, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str):
            if key == "Function Name":
                calls.functions.add(node)
            elif key not in ("Node Type", "Relation Name", "Schema", "Alias", "Index Name"):
                calls.add_expression(node)

    walk(raw)
    return calls


_CALLED = """
WITH RECURSIVE domains AS (
    SELECT t.oid, t.typbasetype FROM pg_type t
    WHERE t.typtype = 'd' AND t.typname = ANY(%(types)s::text[])
    UNION
    SELECT t.oid, t.typbasetype FROM pg_type t JOIN domains d ON t.oid = d.typbasetype
    WHERE t.typtype = 'd'
)
SELECT c.conbin::text FROM pg_constraint c
WHERE c.contypid IN (SELECT oid FROM domains) AND c.conbin IS NOT NULL
"""

_FUNCTIONS = f"""
SELECT CASE WHEN pg_function_is_visible(p.oid) THEN quote_ident(p.proname)
            ELSE quote_ident(n.nspname) || '.' || quote_ident(p.proname) END,
       p.proname::text, p.provolatile::text,
       p.oid < {_FIRST_NORMAL_OID}::oid,
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
               AND d.objid = p.oid AND d.deptype = 'e')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = ANY(%(names)s::text[])
   OR p.oid = ANY(%(oids)s::oid[])
   OR p.oid IN (SELECT o.oprcode FROM pg_operator o WHERE o.oprname = ANY(%(operators)s::text[]))
   OR p.oid IN (SELECT c.castfunc FROM pg_cast c JOIN pg_type t ON t.oid = c.casttarget
                WHERE t.typname = ANY(%(types)s::text[]))
ORDER BY 1, p.provolatile DESC
"""
# (every overload of a name counts: which one the plan calls is not shown, so a name with a
# VOLATILE overload refuses; the first reason in name order is the one given)

_LABELS = {"i": "IMMUTABLE", "s": "STABLE", "v": "VOLATILE"}


def _refusal(shown: str, name: str, volatility: str, builtin: bool, extension: bool) -> str:
    """Why EXPLAIN ANALYZE may not run a statement calling this function ('' when it may);
    `shown` is its name as the user would write it (schema-qualified when not visible)."""
    signature = f"{shown}()"
    if name in _ANALYZE_DENY and builtin:
        what = "runs queries of its own" if name in RUNS_QUERIES else "assigns a transaction id"
        return f"it calls {signature}, which {what}"
    if volatility == "v":
        return f"it calls {signature}, a VOLATILE function that may act outside the transaction"
    if not builtin and not extension:
        label = _LABELS.get(volatility, volatility)
        return (
            f"it calls {signature}, a user-defined function whose {label} label cannot be verified"
        )
    return ""


# --------------------------------------------------------------------------------------------
# placeholders -> $n


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_OPERAND_END = {
    TokenType.VAR,
    TokenType.NUMBER,
    TokenType.STRING,
    TokenType.R_PAREN,
    TokenType.R_BRACKET,
    TokenType.IDENTIFIER,
    TokenType.NULL,
    TokenType.TRUE,
    TokenType.FALSE,
    TokenType.PLACEHOLDER,
}


def to_dollar_params(sql: str) -> tuple[str, int]:
    """Rewrite `%s`, `%(name)s`, `:name`, `:'name'` and `?` placeholders to `$n`.

    Returns the new text and the number of parameters (the highest `$n`). Positional
    placeholders take the next number; a repeated name reuses its number; existing `$n` are kept
    and new numbers start after the highest of them. `::` casts, array slices (`a[1:2]`) and the
    jsonb `?` operator after an operand are left alone. Raises ValueError for a psql identifier
    variable (`:"name"`), which cannot become a parameter.
    """
    if not any(c in sql for c in "$%:?"):
        return sql, 0
    tokens = _tokens(sql)
    highest = 0
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.PARAMETER and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            if nxt.start == tok.end + 1 and nxt.text.isdigit():
                highest = max(highest, int(nxt.text))
    edits: list[tuple[int, int, str]] = []  # (start, end exclusive, replacement)
    names: dict[str, int] = {}
    counter = highest
    depth = 0  # inside [...]: a colon is a slice
    i = 0
    n = len(tokens)

    def touching(a: int, b: int) -> bool:
        return b < n and tokens[b].start == tokens[a].end + 1

    def number_for(name: str | None) -> int:
        nonlocal counter
        if name is None:
            counter += 1
            return counter
        if name not in names:
            counter += 1
            names[name] = counter
        return names[name]

    while i < n:
        tok = tokens[i]
        tt = tok.token_type
        if tt == TokenType.L_BRACKET:
            depth += 1
        elif tt == TokenType.R_BRACKET:
            depth = max(0, depth - 1)
        elif tt == TokenType.MOD and touching(i, i + 1):
            nxt = tokens[i + 1]
            if nxt.text == "s" and nxt.token_type != TokenType.STRING:
                edits.append((tok.start, nxt.end + 1, f"${number_for(None)}"))
                i += 2
                continue
            if (
                nxt.token_type == TokenType.L_PAREN
                and i + 3 < n
                and touching(i + 1, i + 2)
                and touching(i + 2, i + 3)
                and touching(i + 3, i + 4)
                and tokens[i + 3].token_type == TokenType.R_PAREN
                and tokens[i + 4].text == "s"
                and _NAME.match(tokens[i + 2].text)
            ):
                name = tokens[i + 2].text
                edits.append((tok.start, tokens[i + 4].end + 1, f"${number_for(name)}"))
                i += 5
                continue
        elif tt == TokenType.COLON and depth == 0 and touching(i, i + 1):
            nxt = tokens[i + 1]
            raw = sql[nxt.start : nxt.end + 1]
            if nxt.token_type == TokenType.STRING and raw.startswith("'"):
                edits.append((tok.start, nxt.end + 1, f"${number_for(':' + nxt.text)}"))
                i += 2
                continue
            if raw.startswith('"'):
                raise ValueError(f"psql variable :{raw} names an identifier")
            if _NAME.match(raw) and not (i > 0 and tokens[i - 1].token_type == TokenType.COLON):
                edits.append((tok.start, nxt.end + 1, f"${number_for(raw)}"))
                i += 2
                continue
        elif tt == TokenType.PLACEHOLDER and tok.text == "?":
            prev = tokens[i - 1] if i > 0 else None
            if prev is None or prev.token_type not in _OPERAND_END:
                edits.append((tok.start, tok.end + 1, f"${number_for(None)}"))
        i += 1
    if not edits:
        return sql, highest
    out: list[str] = []
    pos = 0
    for start, end, text in edits:
        out.append(sql[pos:start])
        out.append(text)
        pos = end
    out.append(sql[pos:])
    return "".join(out), counter


def _tokens(sql: str) -> list[Token]:
    try:
        return Dialect.get_or_raise("postgres").tokenize(sql)
    except Exception as e:  # an unterminated quote and the like
        raise ValueError("the statement cannot be tokenized") from e


# --------------------------------------------------------------------------------------------
# running


@dataclass(frozen=True)
class Explained:
    """A plan: `plan` (parsed), `raw` (EXPLAIN's JSON as returned, for plan visualisers),
    whether it was `analyzed` (actually executed), whether it is a `generic` plan (the statement
    has parameters), and a `note` for the reader (e.g. why ANALYZE was not used)."""

    plan: Plan
    raw: list[Any]
    statement: str
    analyzed: bool
    generic: bool
    params: int
    server_version: int
    note: str | None = None


@dataclass
class SafeSession:
    """A read-only, time-limited, rolled-back transaction on one connection (see `safe_session`).

    `explain` plans statements inside it; prepared statements and HypoPG indexes it creates are
    removed when the session ends.
    """

    conn: psycopg.AsyncConnection
    cursor: psycopg.AsyncCursor
    prepared: list[str] = field(default_factory=list)
    used_hypopg: bool = False

    async def execute(self, query: str, params: list[Any] | None = None) -> psycopg.AsyncCursor:
        """Send one statement with the extended protocol (never the simple, multi-statement one)."""
        return await self.cursor.execute(query, params, binary=True)

    async def explain(self, checked: Checked, *, analyze: bool = False) -> list[Any]:
        """EXPLAIN (FORMAT JSON) `checked`; its raw JSON. `analyze` only when permitted."""
        if analyze and checked.analyze_refusal is not None:
            raise DatabaseError(Failure(Problem.NOT_ALLOWED, checked.analyze_refusal))
        if checked.params and self.conn.info.server_version >= 160000:
            return await self._fetch_plan(f"EXPLAIN (FORMAT JSON, GENERIC_PLAN) {checked.text}")
        if checked.params:
            name = f"sql_lsp_{secrets.token_hex(6)}"
            await self.execute(f"PREPARE {name} AS {checked.text}")
            self.prepared.append(name)
            args = ", ".join(["NULL"] * checked.params)
            return await self._fetch_plan(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({args})")
        options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
        return await self._fetch_plan(f"EXPLAIN ({options}) {checked.text}")

    async def volatility_refusal(self, checked: Checked) -> str | None:
        """Why EXPLAIN ANALYZE may not run `checked` (None: it may), from what its plain
        VERBOSE plan calls and what `pg_proc` says about each of those functions."""
        calls = plan_calls(await self._fetch_plan(f"EXPLAIN (VERBOSE, FORMAT JSON) {checked.text}"))
        calls.functions.update(called_names(checked.text))
        types = sorted(calls.types)
        oids: set[int] = set()
        if types:
            cur = await self.execute(_CALLED, {"types": types})
            for (tree,) in await cur.fetchall():
                oids.update(int(o) for o in _NODE_OID.findall(str(tree)))
        cur = await self.execute(
            _FUNCTIONS,
            {
                "names": sorted(calls.functions),
                "oids": sorted(oids),
                "operators": sorted(calls.operators),
                "types": types,
            },
        )
        for signature, name, volatility, builtin, extension in await cur.fetchall():
            why = _refusal(
                str(signature), str(name), str(volatility), bool(builtin), bool(extension)
            )
            if why:
                return f"EXPLAIN ANALYZE refused: {why}; showing the estimated plan"
        return None

    async def relation_rows(self, names: list[str]) -> dict[str, int]:
        """pg_class.reltuples of relations named as in a plan ("Relation Name"), resolved
        through the session's search_path like the planner did."""
        if not names:
            return {}
        cur = await self.execute(
            "SELECT n, c.reltuples::bigint FROM unnest(%s::text[]) AS n "
            "JOIN pg_class c ON c.oid = to_regclass(quote_ident(n))",
            [sorted(set(names))],
        )
        return {str(n): int(r) for n, r in await cur.fetchall() if r is not None and r >= 0}

    async def _fetch_plan(self, query: str) -> list[Any]:
        cur = await self.execute(query)
        row = await cur.fetchone()
        if row is None:
            raise DatabaseError(Failure(Problem.ERROR, "EXPLAIN returned no plan"))
        value = row[0]
        if isinstance(value, str):  # a server that answers json as text
            value = json.loads(value)
        return list(value)


_SET_LIMITS = (
    "SELECT set_config('transaction_read_only', 'on', true), "
    "set_config('statement_timeout', %s, true), "
    "set_config('lock_timeout', %s, true), "
    "set_config('plan_cache_mode', 'force_generic_plan', true)"
)


@contextlib.asynccontextmanager
async def safe_session(
    conn: psycopg.AsyncConnection, *, statement_timeout_ms: int, lock_timeout_ms: int
) -> AsyncIterator[SafeSession]:
    """A `SafeSession` on `conn`: BEGIN; read-only, statement_timeout, lock_timeout and
    plan_cache_mode set locally; ...; ROLLBACK — always. Afterwards (outside the transaction,
    since neither is transactional) the session's prepared statements are deallocated and its
    HypoPG indexes reset."""
    import psycopg

    session = SafeSession(conn, psycopg.AsyncCursor(conn))
    try:
        async with conn.transaction(force_rollback=True):
            await session.execute(_SET_LIMITS, [str(statement_timeout_ms), str(lock_timeout_ms)])
            yield session
    finally:
        await _cleanup(session)


async def _cleanup(session: SafeSession) -> None:
    import psycopg

    conn = session.conn
    if conn.closed or conn.broken:
        return
    with contextlib.suppress(psycopg.Error):
        for name in session.prepared:
            await conn.execute(f"DEALLOCATE {name}")
        if session.used_hypopg:
            await conn.execute("SELECT hypopg_reset()")


async def explain_on(
    conn: psycopg.AsyncConnection,
    sql: str,
    *,
    analyze: bool = False,
    statement_timeout_ms: int = 2000,
    lock_timeout_ms: int = 500,
    dialect: str = "postgres",
) -> Explained:
    """Explain `sql` on `conn` (safely, as described in the module docs).

    Raises DatabaseError when the statement is refused, and psycopg errors as they come.
    """
    checked = check_statement(sql, dialect)
    if isinstance(checked, Failure):
        raise DatabaseError(checked)
    note = None
    use_analyze = analyze
    if analyze and checked.analyze_refusal is not None:
        note = checked.analyze_refusal
        use_analyze = False
    async with safe_session(
        conn, statement_timeout_ms=statement_timeout_ms, lock_timeout_ms=lock_timeout_ms
    ) as session:
        if use_analyze:
            refusal = await session.volatility_refusal(checked)
            if refusal is not None:
                note, use_analyze = refusal, False
        raw = await session.explain(checked, analyze=use_analyze)
        rows = await session.relation_rows(relation_names(raw))
    return Explained(
        plan=parse_plan(raw, relation_rows=rows),
        raw=raw,
        statement=checked.text,
        analyzed=use_analyze,
        generic=checked.params > 0,
        params=checked.params,
        server_version=conn.info.server_version,
        note=note,
    )


async def explain(
    db: Database,
    sql: str,
    *,
    analyze: bool = False,
    dialect: str = "postgres",
    lane: Lane = Lane.BACKGROUND,
) -> Explained | Failure:
    """The plan of `sql` on `db`, or a Failure with a one-line, password-free message.

    `analyze` only on an explicit request of the user (see the module docs for when it is
    refused anyway); `lane` says who waits (a hover: `Lane.INTERACTIVE`). Never raises for
    database problems; cancelling the awaiting task cancels the query on the server. The whole
    call is bounded by the statement timeout plus the connect timeout.
    """
    checked = check_statement(sql, dialect)
    if isinstance(checked, Failure):
        return checked
    s = db.settings
    deadline = (s.statement_timeout_ms + s.connect_timeout_ms) / 1000 + 1.0

    async def work(conn: psycopg.AsyncConnection) -> Explained:
        async with asyncio.timeout(deadline):
            return await explain_on(
                conn,
                sql,
                analyze=analyze,
                statement_timeout_ms=s.statement_timeout_ms,
                lock_timeout_ms=s.lock_timeout_ms,
                dialect=dialect,
            )

    try:
        return await db.run(work, lane=lane)
    except DatabaseError as e:
        return e.failure


def relation_names(raw: list[Any]) -> list[str]:
    """Every "Relation Name" in an EXPLAIN JSON document."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            name = node.get("Relation Name")
            if isinstance(name, str):
                out.append(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(raw)
    return out
