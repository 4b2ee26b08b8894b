"""Run a check as an ordinary user, so that directory permissions apply even when the tests run as root.

As root, the check runs in a forked child that first drops to `nobody` (uid/gid 65534): the kernel then
enforces a read-only directory exactly as it does for any user. Otherwise it runs in this process. The check
makes its own directory (tmp_path belongs to root and is private), and returns something JSON-serialisable."""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Callable
from typing import Any

NOBODY = 65534


def run_unprivileged(check: Callable[[], Any]) -> Any:
    if os.geteuid() != 0:
        return check()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                payload = {"ok": check()}
            except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test with it
                payload = {"error": traceback.format_exc()}
            with os.fdopen(write_fd, "w") as out:
                json.dump(payload, out)
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd) as inp:
        data = inp.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, f"unprivileged child failed (status {status})"
    payload = json.loads(data)
    if "error" in payload:
        raise AssertionError("in the unprivileged child:\n" + payload["error"])
    return payload["ok"]
