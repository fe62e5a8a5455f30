"""Work done in a forked child process while the parent does the rest: a one-pass check of one
large file uses both cores this way. The child inherits everything (the document, the catalog)
and sends back only its result, pickled through a pipe.

Nothing here is needed for correctness: when forking is not possible, or the child fails in any
way, `Forked.result()` is None and the caller does the work itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any


def can_fork() -> bool:
    """Is there a second core and a `fork` (POSIX)?"""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


class Forked:
    """`work()` running in a child process; `result()` waits for it."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._pid = -1
        self._read = -1
        try:
            read, write = os.pipe()
        except OSError:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(read)
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
            except BaseException:  # the parent does the work instead
                pass
            finally:
                os._exit(code)
        os.close(write)
        self._pid = pid
        self._read = read

    def result(self, timeout: float | None = None) -> Any | None:
        """The child's result, or None when it failed, never started, or sent nothing for
        `timeout` seconds (it is then killed: a stuck child never hangs the caller)."""
        if self._pid < 0:
            return None
        chunks = []
        late = False
        try:
            with os.fdopen(self._read, "rb", buffering=0) as pipe:
                while True:
                    if timeout is not None:
                        started = time.monotonic()
                        ready, _, _ = select.select([pipe], [], [], timeout)
                        if not ready:
                            late = True
                            break
                    chunk = pipe.read(1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if timeout is not None:  # the time left is for the next silence
                        timeout = max(timeout - (time.monotonic() - started), 1.0)
        except OSError:
            chunks = []
        if late:
            chunks = []
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
        try:
            _, status = os.waitpid(self._pid, 0)
        except ChildProcessError:
            status = 1
        self._pid = -1
        if status != 0 or not chunks:
            return None
        try:
            return pickle.loads(b"".join(chunks))
        except Exception:  # a truncated or odd result: do the work here
            return None
