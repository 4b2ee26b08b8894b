"""Provides what keeps a blocking call in a worker thread from holding up quitting.

Why it is its own module: thread workers run on the event loop's default executor, and both asyncio and the
interpreter wait for such threads on exit; a poll stuck in a slow HTTP call would keep `q` from quitting for
minutes. The App installs `NoWaitExecutor` when it mounts and `run()` calls `exit_now_if_io_pending` last.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor


class NoWaitExecutor(ThreadPoolExecutor):
    """The event loop's executor: shutting down never blocks on a network call still in flight."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


def exit_now_if_io_pending(code: int) -> None:
    """After the app has restored the terminal: if a worker is still inside a blocking call, leave now.

    Safe for the data: the store is written by atomic rename and results through a partial file that
    is renamed only when complete, so an interrupted write leaves the old state, never half a file.
    """
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if busy:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


__all__ = ["NoWaitExecutor", "exit_now_if_io_pending"]
