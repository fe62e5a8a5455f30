"""Passwords never leave sql-lsp, whatever the shape of the connection string.

Passwords are known from the settings (`secrets_in(conninfo)`, PGPASSWORD) and scrubbed from
every text that leaves sql-lsp: hovers, window/showMessage and window/logMessage, the log file,
stderr and the command line's output. libpq's own messages are never trusted to leave them out
(a malformed URL makes libpq echo parts of it: `invalid percent-encoded token: "50%offXyz"`, or
a password cut at an unencoded `@` or `/` that turns up as a host or port name).

No psycopg here: the command line imports this before it knows whether it needs a database.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from sql_lsp.config import ENV_DATABASE_URL

_URL_HEAD = re.compile(r"\s*[a-z][a-z0-9+.\-]*://", re.I)
_URL_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^:/@\s]*):(?P<pw>\S*)@", re.I)
_KV_PASSWORD = re.compile(
    r"(?P<head>\b(?:ssl)?password\s*=\s*)"
    r"(?P<pw>'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|[^\s&;,'\"]+)",
    re.I,
)
_QUERY_PASSWORD = re.compile(r"[?&](?:ssl)?password=(?P<pw>[^&#]*)", re.I)
_PIECES = re.compile(r"[@/:?#&=%\s]+")
_WORD = r"[A-Za-z0-9_]"
_MIN_PIECE = 2  # shorter pieces of a password are too common to scrub (and say nothing)
_SHORT = 4  # secrets shorter than this are scrubbed only where they stand alone


def secrets_in(conninfo: str) -> set[str]:
    """Every password-like part of a connection string, whatever its shape: the password of a
    URL's user info (up to the last `@`, so an unencoded `@`, `/` or space in it still counts),
    `password=` / `sslpassword=` in a URL query or in key=value conninfo (quoted or not), each
    raw and percent-decoded, and the pieces libpq may cut such a value into."""
    found: set[str] = set()
    text = conninfo or ""

    def add(value: str) -> None:
        for candidate in {value, urllib.parse.unquote(value)}:
            if not candidate:
                continue
            found.add(candidate)
            found.update(p for p in _PIECES.split(candidate) if len(p) >= _MIN_PIECE)

    head = _URL_HEAD.match(text)
    if head:
        rest = text[head.end() :]
        at = rest.rfind("@")
        if at >= 0 and ":" in rest[:at]:
            add(rest[:at].split(":", 1)[1])
        for m in _QUERY_PASSWORD.finditer(rest):
            add(m.group("pw"))
    for m in _KV_PASSWORD.finditer(text):
        value = m.group("pw")
        if value[:1] in ("'", '"'):
            quote = value[0]
            inner = value[1:-1] if len(value) > 1 and value.endswith(quote) else value[1:]
            add(inner)
            add(re.sub(r"\\(.)", r"\1", inner))
        else:
            add(value)
    return found


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every password removed: any literal occurrence of the given secrets (known
    from the settings, see `secrets_in`), and, as a second line of defence, `user:pw@` in URLs
    and `password=...` in conninfo or URL query strings. Secrets under 4 characters are only
    replaced where they stand alone."""
    out = text
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= _SHORT:
            out = out.replace(secret, "***")
        else:
            out = re.sub(rf"(?<!{_WORD}){re.escape(secret)}(?!{_WORD})", "***", out)
    out = _URL_USERINFO.sub(lambda m: f"{m.group('head')}:***@", out)
    out = _KV_PASSWORD.sub(lambda m: f"{m.group('head')}***", out)
    return out


class Redactor:
    """The secrets known so far (from every connection setting seen) and the scrubbing of texts
    with them. The language server and the command line keep one each; `add` every setting
    that may hold a connection string, then pass every outgoing text through it."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *values: object) -> None:
        """Learn the passwords in these values (strings, or dicts and lists holding strings)."""
        for value in values:
            if isinstance(value, str):
                self._secrets |= secrets_in(value)
            elif isinstance(value, Mapping):
                self.add(*value.values())
            elif isinstance(value, list | tuple):
                self.add(*value)

    def add_environment(self, environ: Mapping[str, str] | None = None) -> None:
        """Learn PGPASSWORD and the connection strings of SQL_LSP_DATABASE_URL."""
        env = os.environ if environ is None else environ
        if env.get("PGPASSWORD"):
            self._secrets.add(env["PGPASSWORD"])
        self.add(env.get(ENV_DATABASE_URL, ""))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def __call__(self, text: str) -> str:
        return redact(text, self._secrets)


class RedactingFilter(logging.Filter):
    """A logging filter (put it on every handler) that scrubs a Redactor's secrets from each
    record: the message, its arguments and the traceback text."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is
            message = str(record.msg)
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info:
            record.exc_text = self.redactor("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


class RedactingStream:
    """A text stream (stdout, stderr) that scrubs a Redactor's secrets from what is written;
    everything else is the wrapped stream's."""

    def __init__(self, stream: Any, redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._stream.write(self._redactor(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
