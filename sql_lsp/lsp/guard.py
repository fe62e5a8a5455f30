"""Handlers never take the server down: an exception is logged and a default answered."""

from __future__ import annotations

import asyncio
import functools
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

if TYPE_CHECKING:
    from sql_lsp.lsp.server import SqlLanguageServer


def guarded(default: Any = None) -> Callable:
    """Log any exception of a handler (window/logMessage and the log file) and answer `default`."""

    def wrap(fn: Callable) -> Callable:
        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(ls: SqlLanguageServer, params: Any) -> Any:
                try:
                    return await fn(ls, params)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    ls.log(
                        f"{fn.__name__} failed: {e!r}\n{traceback.format_exc()}",
                        T.MessageType.Error,
                    )
                    return default

            return run_async

        @functools.wraps(fn)
        def run(ls: SqlLanguageServer, params: Any) -> Any:
            try:
                return fn(ls, params)
            except Exception as e:
                ls.log(
                    f"{fn.__name__} failed: {e!r}\n{traceback.format_exc()}", T.MessageType.Error
                )
                return default

        return run

    return wrap
