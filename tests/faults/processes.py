"""Process helpers for the fault trials: the `dtem` command, polling, free ports."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable

DTEM = [sys.executable, "-m", "dtem.entrypoints.cli.app"]


def wait_until(done: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """Poll `done` until it is true or `timeout` seconds passed; return the last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(every)
    return done()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
