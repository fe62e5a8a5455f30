"""Token-level helpers shared by the rules: the tokens of a statement around a tree node.

sqlglot gives positions only to leaves; keywords (`NULL`, `LIMIT`, `OFFSET`, operators) are
found in the statement's token stream next to the leaves the `Locator` can place. Offsets here
are absolute (into the document), like every span a rule reports.
"""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from sql_lsp.rules.base import RuleContext


def tokens(ctx: RuleContext) -> list[Token]:
    """The statement's sqlglot tokens (offsets relative to the statement)."""
    parsed = ctx.statement.parsed
    return parsed.tokens if parsed is not None else []


def index_at(ctx: RuleContext, offset: int) -> int:
    """Index of the token containing or following absolute `offset`."""
    return ctx.locator.token_index(offset - ctx.statement.start)


def span_of(ctx: RuleContext, token: Token) -> tuple[int, int]:
    """Absolute span of a token."""
    base = ctx.statement.start
    return base + token.start, base + token.end + 1


def is_type(token: Token | None, *types: TokenType) -> bool:
    return token is not None and token.token_type in types


def at(toks: list[Token], i: int) -> Token | None:
    return toks[i] if 0 <= i < len(toks) else None


def pg_tokens(statement_text: str) -> list:
    """PostgreSQL's own tokens of a statement (offsets relative to it, end inclusive), without
    comments; [] when its scanner refuses the text."""
    from sql_lsp import pg
    from sql_lsp.statements import blank_meta_lines

    found = pg.scan(pg.neutralize(blank_meta_lines(statement_text)))
    return [t for t in found if t.name not in ("SQL_COMMENT", "C_COMMENT")]
