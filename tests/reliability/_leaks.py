"""What a finished stream must leave behind: nothing. Helpers to check that.

File descriptors are read from ``/proc/self/fd`` (Linux). A socket's inode is
matched against ``/proc/net/tcp{,6}`` so that a failure says which connection was
left open and to whom.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PROC_FD = Path("/proc/self/fd")
WORKER_THREAD = "jumpstart-stream"

needs_proc = pytest.mark.skipif(not PROC_FD.is_dir(), reason="needs /proc/self/fd (Linux)")


def open_fds() -> dict[int, str]:
    """This process's open file descriptors and what each points to."""
    fds: dict[int, str] = {}
    for entry in os.listdir(PROC_FD):
        try:
            fds[int(entry)] = os.readlink(PROC_FD / entry)
        except OSError:  # closed between listdir and readlink (the listing's own fd)
            continue
    return fds


def _tcp_connections() -> dict[str, str]:
    """Socket inode -> "local -> remote (state)" for this network namespace."""
    out: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            out[inode] = f"{_port(local)} -> {_port(remote)} (state {state})"
    return out


def _port(address: str) -> str:
    return f":{int(address.rsplit(':', 1)[1], 16)}"


def describe(fds: dict[int, str]) -> list[str]:
    """Human-readable descriptors, with TCP endpoints for sockets."""
    tcp = _tcp_connections()
    described = []
    for fd, target in sorted(fds.items()):
        inode = target[len("socket:[") : -1] if target.startswith("socket:[") else ""
        described.append(f"fd {fd}: {target} {tcp.get(inode, '')}".rstrip())
    return described


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def worker_threads() -> list[threading.Thread]:
    """Live async-bridge worker threads."""
    return [t for t in threading.enumerate() if t.name == WORKER_THREAD and t.is_alive()]


class NoLeaks:
    """Snapshot fds and worker threads; :meth:`check` waits until both are back.

    The emulator runs in this process, so its side of each connection is counted
    too: it closes a moment after the client, hence the polling. Descriptors open
    before the snapshot that close meanwhile (another test's stalled server
    handler finishing) are fine; only new ones that stay open are leaks.
    """

    def __init__(self) -> None:
        self.before = open_fds()

    def new_fds(self) -> dict[int, str]:
        now = open_fds()
        return {fd: t for fd, t in now.items() if self.before.get(fd) != t}

    def check(self, *models: Any, timeout: float = 10.0) -> None:
        """Wait for worker threads to end and new descriptors to close.

        Args:
            models: Models whose idle pooled connections to close first. A stream
                read to its end hands its connection back to the pool for reuse,
                which is right; only a connection still checked out (never closed
                nor returned) is a leak, and closing idle ones leaves those.
            timeout: Seconds to wait.
        """
        for model in models:
            model._connection().http.close_idle()
        assert wait_until(lambda: not worker_threads(), timeout), worker_threads()
        if not wait_until(lambda: not self.new_fds(), timeout):
            leaked = describe(self.new_fds())
            raise AssertionError(f"descriptors left open: {leaked}")
