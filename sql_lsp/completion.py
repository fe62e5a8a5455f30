"""Completion at a cursor: what may be typed there, from the catalog and the statement around it.

Works on half-typed statements (the common case while typing): the sources in scope (FROM / JOIN
/ UPDATE / INSERT INTO / DELETE FROM / USING, with their aliases) and the CTEs come from a
tolerant scan of the statement's tokens (PostgreSQL's own scanner), never from a parse tree.
Scopes follow the parentheses: the cursor sees the sources of its own query and of the queries
that enclose it, not those of a sibling subquery.

The result is plain data (offsets and items); the language server turns it into LSP types.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from sql_lsp import pg
from sql_lsp.catalog.ddl import search_path_of
from sql_lsp.catalog.model import DEFAULT_SEARCH_PATH, Catalog, Table, qualified_name, quote_ident
from sql_lsp.document import Document, Statement
from sql_lsp.rules.base import history_point

# sort groups: sources in scope first, then the rest
RANK_JOIN = 0
RANK_COLUMN = 1
RANK_CTE = 2
RANK_TABLE = 3
RANK_SCHEMA = 4
RANK_OTHER_TABLE = 5
RANK_FUNCTION = 6
RANK_KEYWORD = 7


@dataclass(frozen=True)
class Item:
    """One proposal. `insert` is the text that replaces the word at the cursor; `snippet`, when
    set, is the same with tab stops (for clients that take snippets)."""

    label: str
    kind: str  # "column", "table", "view", "cte", "schema", "function", "keyword", "join"
    detail: str = ""
    insert: str = ""
    snippet: str | None = None
    filter: str = ""
    rank: int = RANK_KEYWORD
    # what the documentation (resolve) is about: ("table", schema, name) or
    # ("column", schema, table, column)
    ref: tuple[str, ...] = ()


@dataclass
class Completion:
    """Items for the word at [start, end) of the document; the cursor is at `cursor`. The items
    are in the order to show them (sources in scope first)."""

    start: int
    cursor: int
    end: int
    items: list[Item] = field(default_factory=list)
    incomplete: bool = False  # more items matched than were kept


@dataclass(frozen=True)
class _Tok:
    kind: str  # "ident", "keyword", "punct", "literal", "param", "op"
    text: str  # the text; keywords in lower case, identifiers folded
    start: int
    end: int  # exclusive, relative to the statement
    group: int  # id of the innermost parenthesis containing it (0: top level)
    quoted: bool = False


@dataclass
class _Source:
    name: str  # folded relation name
    schema: str | None
    alias: str | None
    start: int
    group: int
    columns: list[tuple[str, str]] | None = None  # (name, detail) when it is a CTE / derived

    @property
    def ref(self) -> str:
        return self.alias or self.name


@dataclass
class _Scan:
    tokens: list[_Tok]
    parents: dict[int, int]  # paren group -> enclosing group
    sources: list[_Source]
    ctes: dict[str, list[tuple[str, str]] | None]
    cursor_group: int = 0
    refused: bool = False  # the scanner refused even the text before the cursor

    def chain(self, group: int) -> list[int]:
        out = [group]
        while group in self.parents:
            group = self.parents[group]
            out.append(group)
        return out


# an identifier: a letter, `_` or any non-ASCII character, then those, digits or `$` (written as
# the ASCII characters excluded: a class of all of Unicode takes milliseconds to compile)
_IDENT_START = r"[^\x00-\x40\[-\^`{-\x7f]"
_IDENT_PART = r"[^\x00-\x23%-/:-@\[-\^`{-\x7f]"
_WORD_CHARS = re.compile(rf'(?:"(?:[^".]|"")*"?|{_IDENT_START}{_IDENT_PART}*)$')
_WORD_AFTER = re.compile(rf"{_IDENT_PART}*")

_TABLE_AFTER = frozenset(
    {"from", "join", "update", "into", "table", "only", "references", "truncate"}
)
_JOIN_WORDS = frozenset({"join", "left", "right", "full", "inner", "outer", "cross", "natural"})
_CLAUSES = frozenset(
    {
        "select",
        "from",
        "where",
        "group",
        "order",
        "having",
        "on",
        "using",
        "set",
        "returning",
        "values",
        "limit",
        "offset",
        "window",
        "join",
        "update",
        "into",
        "delete",
        "insert",
        "with",
        "union",
        "intersect",
        "except",
        "by",
        "lateral",
        "as",
        "and",
        "or",
        "not",
        "natural",
        "left",
        "right",
        "full",
        "inner",
        "outer",
        "cross",
        "fetch",
        "for",
        "when",
        "then",
        "else",
        "end",
        "case",
        "is",
        "in",
        "like",
        "ilike",
        "between",
        "do",
        "conflict",
        "tablesample",
    }
)

STATEMENT_KEYWORDS = (
    "SELECT",
    "WITH",
    "INSERT INTO",
    "UPDATE",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE VIEW",
    "ALTER TABLE",
    "DROP TABLE",
    "DROP INDEX",
    "EXPLAIN",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
)
_AFTER_SOURCE = (
    "WHERE",
    "JOIN",
    "LEFT JOIN",
    "INNER JOIN",
    "CROSS JOIN",
    "ON",
    "USING",
    "AS",
    "GROUP BY",
    "ORDER BY",
    "LIMIT",
    "SET",
)
_EXPRESSION_KEYWORDS = (
    "AND",
    "OR",
    "NOT",
    "IS NULL",
    "IS NOT NULL",
    "IN",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "EXISTS",
    "CASE",
    "DISTINCT",
    "FROM",
    "AS",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "RETURNING",
    "ASC",
    "DESC",
    "NULLS LAST",
)

# PostgreSQL's built-in functions most used in queries, with their signatures
FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("count", "count(expression) → bigint"),
    ("sum", "sum(expression) → numeric"),
    ("avg", "avg(expression) → numeric"),
    ("min", "min(expression) → same as input"),
    ("max", "max(expression) → same as input"),
    ("array_agg", "array_agg(expression) → array"),
    ("string_agg", "string_agg(value text, delimiter text) → text"),
    ("json_agg", "json_agg(expression) → json"),
    ("jsonb_agg", "jsonb_agg(expression) → jsonb"),
    ("bool_and", "bool_and(boolean) → boolean"),
    ("bool_or", "bool_or(boolean) → boolean"),
    ("coalesce", "coalesce(value, …) → same as input"),
    ("nullif", "nullif(value1, value2) → same as input"),
    ("greatest", "greatest(value, …) → same as input"),
    ("least", "least(value, …) → same as input"),
    ("lower", "lower(text) → text"),
    ("upper", "upper(text) → text"),
    ("length", "length(text) → integer"),
    ("trim", "trim(text) → text"),
    ("substring", "substring(text from int for int) → text"),
    ("replace", "replace(text, from text, to text) → text"),
    ("concat", "concat(value, …) → text"),
    ("concat_ws", "concat_ws(sep text, value, …) → text"),
    ("left", "left(text, n integer) → text"),
    ("right", "right(text, n integer) → text"),
    ("split_part", "split_part(text, delimiter text, n integer) → text"),
    ("regexp_replace", "regexp_replace(text, pattern text, replacement text) → text"),
    ("to_char", "to_char(value, format text) → text"),
    ("to_date", "to_date(text, format text) → date"),
    ("to_timestamp", "to_timestamp(double precision) → timestamptz"),
    ("now", "now() → timestamptz"),
    ("current_date", "current_date → date"),
    ("current_timestamp", "current_timestamp → timestamptz"),
    ("date_trunc", "date_trunc(field text, source timestamp) → timestamp"),
    ("date_part", "date_part(field text, source timestamp) → double precision"),
    ("extract", "extract(field from source) → numeric"),
    ("age", "age(timestamp, timestamp) → interval"),
    ("abs", "abs(numeric) → numeric"),
    ("round", "round(numeric, integer) → numeric"),
    ("ceil", "ceil(numeric) → numeric"),
    ("floor", "floor(numeric) → numeric"),
    ("random", "random() → double precision"),
    ("gen_random_uuid", "gen_random_uuid() → uuid"),
    ("row_number", "row_number() OVER (…) → bigint"),
    ("rank", "rank() OVER (…) → bigint"),
    ("dense_rank", "dense_rank() OVER (…) → bigint"),
    ("lag", "lag(value, offset integer) OVER (…) → same as input"),
    ("lead", "lead(value, offset integer) OVER (…) → same as input"),
    ("jsonb_build_object", "jsonb_build_object(key, value, …) → jsonb"),
    ("json_build_object", "json_build_object(key, value, …) → json"),
    ("jsonb_array_elements", "jsonb_array_elements(jsonb) → setof jsonb"),
    ("unnest", "unnest(array) → setof element"),
    ("generate_series", "generate_series(start, stop, step) → setof"),
    ("array_length", "array_length(array, dimension integer) → integer"),
    ("exists", "EXISTS (subquery) → boolean"),
)
_NO_PARENS = frozenset({"current_date", "current_timestamp", "exists"})


MAX_ITEMS = 200  # past this many matches the list is cut and marked incomplete


class CompletionCache:
    """What completion reuses between requests (held by its caller, e.g. the language server):
    the table items of a catalog, and the `SET search_path` statements of a document."""

    def __init__(self) -> None:
        self._tables: tuple[tuple[int, int, tuple[str, ...]], list[Item]] | None = None
        self._paths: dict[str, tuple[Document, list[tuple[int, tuple[str, ...]]]]] = {}

    def tables(self, key: tuple[int, int, tuple[str, ...]], build) -> list[Item]:
        if self._tables is None or self._tables[0] != key:
            self._tables = (key, build())
        return self._tables[1]

    def search_path(self, document: Document, offset: int) -> tuple[str, ...]:
        """The search_path in force at `offset` (see `navigation.search_path_at`)."""
        cached = self._paths.get(document.uri)
        if cached is None or cached[0] is not document:
            sets = []
            for s in document.statements:
                if s.kind == "sql":
                    p = search_path_of(s.text)
                    if p is not None:
                        sets.append((s.start, tuple(p)))
            self._paths = {document.uri: (document, sets)}
            cached = self._paths[document.uri]
        sets = cached[1]
        i = bisect_right(sets, offset, key=lambda e: e[0]) - 1
        return sets[i][1] if i >= 0 else DEFAULT_SEARCH_PATH


def complete(
    document: Document, offset: int, catalog: Catalog, cache: CompletionCache | None = None
) -> Completion:
    """The proposals for the cursor at `offset` of `document`: the ones that match the word
    typed so far (its letters in order), best first, at most MAX_ITEMS."""
    cache = cache or CompletionCache()
    text = document.text
    before = _WORD_CHARS.search(text, max(0, offset - 200), offset)
    start = before.start() if before else offset
    after = _WORD_AFTER.match(text, offset)
    end = after.end() if after else offset
    out = Completion(start, offset, end)
    if _in_comment(text, start):
        return out
    stmt = _statement(document, start)
    if stmt is None:
        items = _keywords(STATEMENT_KEYWORDS)
    else:
        rel = start - stmt.start
        scan = _scan(stmt.text, rel)
        if scan.refused or _in_literal(scan.tokens, rel):
            return out
        path = cache.search_path(document, offset)
        items = _Context(document, stmt, catalog, path, scan, cache).items(rel)
    typed = text[start:offset].lstrip('"').lower()
    if typed:
        items = [i for i in items if _matches(typed, i)]
    # stable: the order within a rank is kept, words that start with what was typed first
    items.sort(key=lambda i: (i.rank, bool(typed) and not _key(i).startswith(typed)))
    out.incomplete = len(items) > MAX_ITEMS
    out.items = items[:MAX_ITEMS]
    return out


def _key(item: Item) -> str:
    return (item.filter or item.label).lstrip('"').lower()


def _matches(typed: str, item: Item) -> bool:
    """Are the letters of `typed` in the item's name, in order (how editors filter)?"""
    key = _key(item)
    if key.startswith(typed):
        return True
    at = 0
    for ch in typed:
        at = key.find(ch, at) + 1
        if at == 0:
            return False
    return True


def _statement(document: Document, offset: int) -> Statement | None:
    """The SQL statement the cursor is in, or the unterminated one it follows (a statement
    being typed at the end of a file, after its last word)."""
    stmt = document.statement_at(offset)
    if stmt is None:
        i = bisect_right(document.statements, offset, key=lambda s: s.start) - 1
        if i >= 0:
            prev = document.statements[i]
            if prev.semicolon < 0 and not document.text[prev.end : offset].strip():
                stmt = prev
    if stmt is None or stmt.kind != "sql" or (stmt.semicolon >= 0 and offset > stmt.semicolon):
        return None
    return stmt


def _in_literal(tokens: list[_Tok], rel: int) -> bool:
    for t in tokens:
        if t.start < rel < t.end and t.kind == "literal":
            return True
        if t.start >= rel:
            break
    return False


def _in_comment(text: str, offset: int) -> bool:
    """Is `offset` in a `--` comment (the line before it has `--` outside any token)?"""
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    at = line.find("--")
    if at < 0:
        return False
    return any(t.name == "SQL_COMMENT" and t.start <= at for t in pg.scan(line))


def _scan(text: str, cursor: int) -> _Scan:
    """Tokens (tolerant: a statement the scanner refuses is scanned up to the cursor, or up to
    its last complete line), paren groups, sources and CTEs."""
    raw = pg.scan(text)
    if not raw and text.strip():
        raw = pg.scan(text[:cursor])
        if not raw and text[:cursor].strip():
            return _Scan([], {}, [], {}, 0, refused=True)
    tokens: list[_Tok] = []
    parents: dict[int, int] = {}
    stack = [0]
    next_id = 1
    cursor_group = -1
    for t in raw:
        s, e = t.start, t.end + 1
        if cursor_group < 0 and s >= cursor:
            cursor_group = stack[-1]
        word = text[s:e]
        name = t.name
        if name in ("SQL_COMMENT", "C_COMMENT"):
            if s < cursor < e:
                return _Scan([], {}, [], {}, 0, refused=True)  # in a comment
            continue
        if name == "ASCII_40":
            tokens.append(_Tok("punct", "(", s, e, stack[-1]))
            parents[next_id] = stack[-1]
            stack.append(next_id)
            next_id += 1
            continue
        if name == "ASCII_41":
            if len(stack) > 1:
                stack.pop()
            tokens.append(_Tok("punct", ")", s, e, stack[-1]))
            continue
        if name == "IDENT":
            if word.startswith('"'):
                tokens.append(_Tok("ident", word[1:-1].replace('""', '"'), s, e, stack[-1], True))
            else:
                tokens.append(_Tok("ident", word.lower(), s, e, stack[-1]))
        elif t.kind != "NO_KEYWORD":
            tokens.append(_Tok("keyword", word.lower(), s, e, stack[-1]))
        elif name in ("SCONST", "USCONST", "BCONST", "XCONST", "ICONST", "FCONST"):
            tokens.append(_Tok("literal", word, s, e, stack[-1]))
        elif name == "PARAM":
            tokens.append(_Tok("param", word, s, e, stack[-1]))
        elif name.startswith("ASCII_"):
            tokens.append(_Tok("punct", word, s, e, stack[-1]))
        else:
            tokens.append(_Tok("op", word, s, e, stack[-1]))
    if cursor_group < 0:
        cursor_group = stack[-1]
    sources, ctes = _sources(tokens, parents)
    return _Scan(tokens, parents, sources, ctes, cursor_group)


def _is_name(t: _Tok) -> bool:
    return t.kind == "ident" or (t.kind == "keyword" and t.text not in _CLAUSES)


def _sources(
    tokens: list[_Tok], parents: dict[int, int]
) -> tuple[list[_Source], dict[str, list[tuple[str, str]] | None]]:
    sources: list[_Source] = []
    ctes: dict[str, list[tuple[str, str]] | None] = {}
    n = len(tokens)
    i = 0
    in_from: set[int] = set()  # groups whose current clause is a FROM list
    while i < n:
        t = tokens[i]
        cte_start = t.kind == "keyword" and t.text == "with"
        if cte_start or (t.kind == "punct" and t.text == "," and _cte_list(tokens, i)):
            j = i + 1
            if j < n and tokens[j].text == "recursive":
                j += 1
            if j < n and _is_name(tokens[j]):
                name = tokens[j].text
                cols, k = _cte_columns(tokens, j + 1, parents)
                if k < n and tokens[k].text == "as":
                    ctes[name] = cols
                    i = j + 1
                    continue
        if t.kind == "keyword" and t.text in _CLAUSES and t.text not in ("as", "only", "lateral"):
            if t.text in ("from", "join", "update", "into", "using"):
                if t.text == "using" and not _after_delete(tokens, i):
                    i += 1
                    continue
                in_from.add(t.group)
                src, i = _source_at(tokens, i + 1, t.group, parents, t.text != "into")
                if src is not None:
                    sources.append(src)
                continue
            in_from.discard(t.group)
        elif t.kind == "punct" and t.text == "," and t.group in in_from:
            src, i = _source_at(tokens, i + 1, t.group, parents)
            if src is not None:
                sources.append(src)
            continue
        i += 1
    for src in sources:
        if src.schema is None and src.name in ctes:
            src.columns = ctes[src.name]
    return sources, ctes


def _after_delete(tokens: list[_Tok], i: int) -> bool:
    group = tokens[i].group
    for t in reversed(tokens[:i]):
        if t.group == group and t.kind == "keyword" and t.text in ("delete", "merge"):
            return True
        if t.group == group and t.kind == "keyword" and t.text in ("select", "join", "where"):
            return False
    return False


def _cte_list(tokens: list[_Tok], i: int) -> bool:
    """Is the comma at `i` between two CTEs (`WITH a AS (…), b AS (…)`)?"""
    return i > 0 and tokens[i - 1].text == ")" and i + 2 < len(tokens) and tokens[i].group == 0


def _cte_columns(
    tokens: list[_Tok], j: int, parents: dict[int, int]
) -> tuple[list[tuple[str, str]] | None, int]:
    """A CTE's explicit column list `(a, b)` at `j` (and the index after it), else its body's
    select list."""
    n = len(tokens)
    if j + 1 < n and tokens[j].text == "(":
        group = tokens[j + 1].group
        k = j + 1
        cols = []
        while k < n and tokens[k].group == group and tokens[k].text != ")":
            if tokens[k].kind != "punct":
                cols.append((tokens[k].text, ""))
            k += 1
        return cols, k + 1
    k = j + 1
    while k < n and tokens[k].kind == "keyword" and tokens[k].text in ("not", "materialized"):
        k += 1
    if j < n and tokens[j].text == "as" and k + 1 < n and tokens[k].text == "(":
        return _select_list(tokens, k + 1, parents), j
    return None, j


def _select_list(
    tokens: list[_Tok], k: int, parents: dict[int, int]
) -> list[tuple[str, str]] | None:
    """Output names of the SELECT at `k` (None when one of them cannot be told, e.g. `*`)."""
    n = len(tokens)
    if k >= n or tokens[k].text != "select":
        return None
    group = tokens[k].group
    outer = parents.get(group, -1)
    out: list[tuple[str, str]] = []
    item: list[_Tok] = []
    for t in tokens[k + 1 :]:
        closing = t.text == ")" and t.kind == "punct" and t.group == outer
        if (t.group == group and t.text in (",", "from", "where")) or closing:
            name = _output_name(item)
            if name is None:
                return None
            out.append((name, ""))
            item = []
            if t.text != ",":
                break
        elif t.group == group:
            item.append(t)
    return out or None


def _output_name(item: list[_Tok]) -> str | None:
    if not item:
        return None
    last = item[-1]
    if len(item) >= 2 and item[-2].text == "as" and _is_name(last):
        return last.text
    if last.kind == "ident" and (len(item) == 1 or item[-2].text == "."):
        return last.text
    if len(item) >= 2 and last.kind == "ident" and item[-2].kind != "op":
        return last.text  # `expr alias`
    return None


def _source_at(
    tokens: list[_Tok], j: int, group: int, parents: dict[int, int], calls: bool = True
) -> tuple[_Source | None, int]:
    """A relation `[ONLY] [schema.]name [*] [[AS] alias]` starting at `j`."""
    n = len(tokens)
    while j < n and tokens[j].kind == "keyword" and tokens[j].text in ("only", "lateral"):
        j += 1
    if j < n and tokens[j].text == "(":  # a derived table: (SELECT …) alias
        cols = _select_list(tokens, j + 1, parents) if j + 1 < n else None
        k = j + 1
        while k < n and not (tokens[k].text == ")" and tokens[k].group == group):
            k += 1
        alias, k = _alias(tokens, k + 1)
        if alias is None:
            return None, k
        return _Source(alias, None, alias, tokens[j].start, group, cols or []), k
    if j >= n or not _is_name(tokens[j]):
        return None, j
    start = tokens[j].start
    schema = None
    name = tokens[j].text
    k = j + 1
    if k + 1 < n and tokens[k].text == "." and _is_name(tokens[k + 1]):
        schema, name = name, tokens[k + 1].text
        k += 2
    if calls and k < n and tokens[k].text == "(":  # a function in FROM: columns not known
        depth_group = tokens[k].group
        k += 1
        while k < n and not (tokens[k].text == ")" and tokens[k].group == depth_group):
            k += 1
        alias, k = _alias(tokens, k + 1)
        return _Source(name, schema, alias, start, group, []), k
    if k < n and tokens[k].text == "*":
        k += 1
    alias, k = _alias(tokens, k)
    return _Source(name, schema, alias, start, group), k


def _alias(tokens: list[_Tok], k: int) -> tuple[str | None, int]:
    n = len(tokens)
    if k < n and tokens[k].text == "as":
        k += 1
    if k < n and _is_name(tokens[k]) and tokens[k].text not in ("set", "default"):
        alias = tokens[k].text
        k += 1
        if k < n and tokens[k].text == "(":  # alias (col, …)
            group = tokens[k].group
            while k < n and not (tokens[k].text == ")" and tokens[k].group == group):
                k += 1
            k += 1
        return alias, k
    return None, k


class _Context:
    def __init__(
        self,
        document: Document,
        stmt: Statement,
        catalog: Catalog,
        path: tuple[str, ...],
        scan: _Scan,
        cache: CompletionCache,
    ) -> None:
        self.cache = cache
        self.document = document
        self.stmt = stmt
        self.catalog = catalog
        self.path = path
        self.scan = scan
        self._point: int | None = None

    # -- what is before the cursor -----------------------------------------------------------
    def items(self, rel: int) -> list[Item]:
        tokens = self.scan.tokens
        before = [t for t in tokens if t.end <= rel]
        group = self.scan.cursor_group
        prev = before[-1] if before else None
        if prev is not None and prev.text == "." and prev.kind == "punct":
            qual = before[-2] if len(before) >= 2 else None
            qual2 = before[-4] if len(before) >= 4 and before[-3].text == "." else None
            if qual is not None and _is_name(qual):
                return self._qualified(qual, qual2.text if qual2 else None, group)
            return []
        if prev is None:
            return _keywords(STATEMENT_KEYWORDS)
        scope = self._scope(group)
        if prev.kind == "keyword" and prev.text in _TABLE_AFTER:
            if prev.text == "into" and not _has(before, "insert"):
                return []
            return self._relations()
        if (
            prev.kind == "keyword"
            and prev.text == "using"
            and _after_delete(tokens, len(before) - 1)
        ):
            return self._relations()
        if prev.text == "," and self._clause(before, group) in ("from", "using"):
            return self._relations()
        on = prev.kind == "keyword" and prev.text == "on"
        if on and before[0].text == "create" and _has(before, "index"):
            return self._relations()  # CREATE INDEX … ON
        if (
            prev.kind == "keyword"
            and prev.text == "on"
            and self._clause(before[:-1], group) == "join"
        ):
            return self._join_conditions(scope) + self._columns(scope) + self._functions()
        if _ends_source(before, scope):
            return _keywords(_AFTER_SOURCE)
        clause = self._clause(before, group)
        if clause in (
            "select",
            "where",
            "on",
            "group",
            "order",
            "having",
            "set",
            "returning",
            "by",
            "when",
            "and",
            "or",
            "not",
            "then",
            "else",
            "case",
        ):
            return self._columns(scope) + self._functions() + _keywords(_EXPRESSION_KEYWORDS)
        if prev.kind == "op" or prev.text in ("(", "=", "<", ">", "+", "-", "*", "/"):
            return self._columns(scope) + self._functions()
        if prev.text == "," and group != 0 and clause is None:
            return self._columns(scope) + self._functions()  # arguments, a column list
        return _keywords(_EXPRESSION_KEYWORDS)

    def _clause(self, before: list[_Tok], group: int) -> str | None:
        for t in reversed(before):
            if t.group != group:
                continue
            if t.kind == "keyword" and t.text in (
                "select",
                "from",
                "where",
                "group",
                "order",
                "having",
                "on",
                "join",
                "using",
                "set",
                "returning",
                "values",
                "limit",
                "update",
                "into",
                "by",
            ):
                return "group" if t.text == "by" else t.text
        return None

    def _scope(self, group: int) -> list[_Source]:
        chain = self.scan.chain(group)
        rank = {g: i for i, g in enumerate(chain)}
        mine = [s for s in self.scan.sources if s.group in rank]
        return sorted(mine, key=lambda s: (rank[s.group], s.start))

    # -- catalog -------------------------------------------------------------------------------
    def _table(self, src: _Source) -> Table | None:
        if src.columns is not None:
            return None
        return self.catalog.table(src.name, src.schema, self.path)

    def _columns_of(self, src: _Source) -> list[tuple[str, str, tuple[str, ...]]]:
        """(name, detail, ref) of a source's columns, as they stand at this statement."""
        if src.columns is not None:
            return [(c, d or f"column of {src.name}", ()) for c, d in src.columns]
        table = self._table(src)
        if table is None:
            return []
        if self._point is None:
            self._point = history_point(self.document, self.stmt)
        names = self.catalog.columns_at(table, self.document.uri, self._point)
        if names is None:
            names = tuple(table.columns)
        indexed = {k.column for i in table.indexes for k in i.keys[:1] if k.column}
        pk = {c for i in table.indexes if i.primary for c in i.columns if c}
        out = []
        for name in names:
            col = table.columns.get(name)
            kind = col.type if col is not None and col.type else "?"
            notes = " PK" if name in pk else (" indexed" if name in indexed else "")
            out.append(
                (name, f"{kind}{notes} · {table.name}", ("column", table.schema, table.name, name))
            )
        return out

    def _qualified(self, tok: _Tok, qual2: str | None, group: int) -> list[Item]:
        qual = tok.text
        if qual2 is None:
            for src in self._scope(group):
                if src.start == tok.start:
                    continue  # the relation being typed (`FROM public.`)
                if src.ref == qual or (src.alias is None and src.name == qual):
                    return [
                        Item(quote_ident(c), "column", d, quote_ident(c), rank=RANK_COLUMN, ref=r)
                        for c, d, r in self._columns_of(src)
                    ]
        if qual2 is not None:
            table = self.catalog.table(qual, qual2, self.path)
            if table is not None:
                src = _Source(qual, qual2, None, 0, group)
                return [
                    Item(quote_ident(c), "column", d, quote_ident(c), rank=RANK_COLUMN, ref=r)
                    for c, d, r in self._columns_of(src)
                ]
            return []
        if qual in self.catalog.schemas or any(s == qual for s, _ in self.catalog.tables):
            return [
                self._table_item(t, RANK_TABLE, schema_shown=False) for t in self._tables_in(qual)
            ]
        # a table named by its name (`users.` in a statement that has `FROM users`)
        table = self.catalog.table(qual, None, self.path)
        if table is not None and any(s.name == qual for s in self._scope(group)):
            src = _Source(qual, None, None, 0, group)
            return [
                Item(quote_ident(c), "column", d, quote_ident(c), rank=RANK_COLUMN, ref=r)
                for c, d, r in self._columns_of(src)
            ]
        return []

    def _tables_in(self, schema: str) -> list[Table]:
        return [t for (s, _), t in self.catalog.tables.items() if s == schema]

    def _table_item(self, t: Table, rank: int, schema_shown: bool = True) -> Item:
        name = qualified_name(t.schema, t.name, self.path) if schema_shown else quote_ident(t.name)
        if (
            schema_shown
            and t.schema in self.path
            and self.catalog.table(t.name, None, self.path) is t
        ):
            name = quote_ident(t.name)
        cols = list(t.columns)
        shown = ", ".join(quote_ident(c) for c in cols[:6]) + (", …" if len(cols) > 6 else "")
        detail = f"{t.kind} ({shown})" if t.columns_known else t.kind
        kind = "view" if "view" in t.kind else "table"
        return Item(name, kind, detail, name, rank=rank, ref=("table", t.schema, t.name))

    def _relations(self) -> list[Item]:
        items = [
            Item(
                quote_ident(name),
                "cte",
                "CTE" + _cols_detail(cols),
                quote_ident(name),
                rank=RANK_CTE,
            )
            for name, cols in self.scan.ctes.items()
        ]
        key = (id(self.catalog), self.catalog.generation, self.path)
        return items + self.cache.tables(key, self._catalog_relations)

    def _catalog_relations(self) -> list[Item]:
        items = []
        for t in sorted(self.catalog.tables.values(), key=lambda t: (t.name, t.schema)):
            visible = t.schema in self.path and self.catalog.table(t.name, None, self.path) is t
            items.append(self._table_item(t, RANK_TABLE if visible else RANK_OTHER_TABLE))
        schemas = {s for s, _ in self.catalog.tables} | set(self.catalog.schemas)
        items += [
            Item(quote_ident(s), "schema", "schema", quote_ident(s), rank=RANK_SCHEMA)
            for s in sorted(schemas)
        ]
        return items

    def _columns(self, scope: list[_Source]) -> list[Item]:
        qualify = len(scope) > 1
        items: list[Item] = []
        seen: set[str] = set()
        for src in scope:
            for c, d, r in self._columns_of(src):
                label = f"{quote_ident(src.ref)}.{quote_ident(c)}" if qualify else quote_ident(c)
                if label in seen:
                    continue
                seen.add(label)
                items.append(
                    Item(
                        label,
                        "column",
                        d,
                        label,
                        filter=quote_ident(c) if qualify else "",
                        rank=RANK_COLUMN,
                        ref=r,
                    )
                )
        return items

    def _join_conditions(self, scope: list[_Source]) -> list[Item]:
        """`o.user_id = u.id` for the source just joined and each earlier one, from the FKs."""
        if len(scope) < 2:
            return []
        new = max((s for s in scope if s.group == scope[0].group), key=lambda s: s.start)
        new_table = self._table(new)
        if new_table is None:
            return []
        out: list[Item] = []
        for other in scope:
            if other is new:
                continue
            table = self._table(other)
            if table is None:
                continue
            pairs = []
            for fk in new_table.foreign_keys:
                if (fk.ref_schema, fk.ref_table) == table.key:
                    pairs.append((new, fk.columns, other, fk.ref_columns))
            for fk in table.foreign_keys:
                if (fk.ref_schema, fk.ref_table) == new_table.key:
                    pairs.append((new, fk.ref_columns, other, fk.columns))
            for a, acols, b, bcols in pairs:
                cond = " AND ".join(
                    f"{quote_ident(a.ref)}.{quote_ident(x)} = {quote_ident(b.ref)}.{quote_ident(y)}"
                    for x, y in zip(acols, bcols, strict=False)
                )
                # a snippet (the cursor after it) for clients that take them: Neovim's built-in
                # completion inserts a plain text only up to its first space
                snippet = re.sub(r"([\\$}])", r"\\\1", cond) + "$0"
                out.append(
                    Item(
                        cond,
                        "join",
                        "join on the foreign key",
                        cond,
                        rank=RANK_JOIN,
                        snippet=snippet,
                    )
                )
        return out

    def _functions(self) -> list[Item]:
        out = []
        for name, sig in FUNCTIONS:
            if name in _NO_PARENS:
                out.append(Item(name, "function", sig, name, rank=RANK_FUNCTION))
            else:
                out.append(
                    Item(name, "function", sig, f"{name}(", f"{name}($1)$0", rank=RANK_FUNCTION)
                )
        return out


def _has(tokens: list[_Tok], word: str) -> bool:
    return any(t.kind == "keyword" and t.text == word for t in tokens)


def _ends_source(before: list[_Tok], scope: list[_Source]) -> bool:
    """Is the cursor just after a relation (and its alias) in FROM / JOIN?"""
    if not before:
        return False
    last = before[-1]
    for src in scope:
        if src.start <= last.start:
            # the source's tokens end at `last`, and nothing follows it
            span_end = _source_end(before, src)
            if span_end is not None and span_end == last.end:
                return True
    return False


def _source_end(before: list[_Tok], src: _Source) -> int | None:
    idx = next((i for i, t in enumerate(before) if t.start == src.start), None)
    if idx is None:
        return None
    k = idx + 1
    if (
        k + 1 < len(before) + 1
        and k < len(before)
        and before[k].text == "."
        and k + 1 < len(before)
    ):
        k += 2
    if k < len(before) and before[k].text == "as":
        k += 1
    if src.alias is not None and k < len(before) and before[k].text == src.alias:
        k += 1
    return before[k - 1].end if k - 1 < len(before) else None


def _cols_detail(cols: list[tuple[str, str]] | None) -> str:
    if not cols:
        return ""
    return (
        " ("
        + ", ".join(quote_ident(c) for c, _ in cols[:6])
        + (", …" if len(cols) > 6 else "")
        + ")"
    )


def _keywords(words: tuple[str, ...]) -> list[Item]:
    return [Item(w, "keyword", "", w, rank=RANK_KEYWORD) for w in words]


def documentation(ref: tuple[str, ...] | list[str], catalog: Catalog, locate) -> str:
    """Markdown about an item's table or column (for completionItem/resolve)."""
    from sql_lsp.navigation import Symbol, hover_markdown

    if not ref:
        return ""
    if ref[0] == "table" and len(ref) == 3:
        table = catalog.tables.get((ref[1], ref[2]))
        if table is None:
            return ""
        return hover_markdown(Symbol("table", table.name, 0, 0, table=table), catalog, locate)
    if ref[0] == "column" and len(ref) == 4:
        table = catalog.tables.get((ref[1], ref[2]))
        column = table.columns.get(ref[3]) if table is not None else None
        if table is None or column is None:
            return ""
        sym = Symbol("column", column.name, 0, 0, table=table, column=column)
        return hover_markdown(sym, catalog, locate)
    return ""
