"""Ctrl-C and SIGTERM stop a buildwheel run: no later identifier, no orphans, exit 130.

The builds run in worker threads, each starting programs (apt, ``pip wheel``, gcc,
qemu) that may start more. A signal reaches only the main thread, and SIGTERM only
crossenv itself, so the handler here (a) sets a flag the runner reads before every step
and before it publishes a wheel, so nothing new starts and nothing half-made is
copied, and (b) signals every descendant process of this one (found in ``/proc``, so
no subprocess call has to register), each with its own process group when it has one.
The main thread repeats (b) while the workers wind down, for programs started in the
moment between; a second signal uses SIGKILL. Workers leave through their ``with``
blocks, so their temporary directories are removed.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

_STOP = threading.Event()
_state: dict[str, object] = {"signal": None, "count": 0}


def requested() -> bool:
    return _STOP.is_set()


def signal_name() -> str:
    number = _state["signal"]
    return signal.Signals(number).name if isinstance(number, int) else "request"


def descendants(root: int) -> list[int]:
    """Every living process below ``root`` (children first), from ``/proc``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rfind(")") + 2:].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def sweep(sig: int = signal.SIGTERM) -> int:
    """Send ``sig`` to every descendant (its whole group when it leads one); how many."""
    own_group = os.getpgrp()
    sent = 0
    for pid in descendants(os.getpid()):
        try:
            group = os.getpgid(pid)
            if group != own_group and group == pid:
                os.killpg(group, sig)
            else:
                os.kill(pid, sig)
            sent += 1
        except (ProcessLookupError, PermissionError):
            continue
    return sent


def _handler(number: int, _frame: object) -> None:
    _state["count"] = int(_state["count"]) + 1  # type: ignore[call-overload]
    if _state["signal"] is None:
        _state["signal"] = number
    _STOP.set()
    sweep(signal.SIGKILL if int(_state["count"]) > 1 else signal.SIGTERM)  # type: ignore


def install() -> Callable[[], None]:
    """Handle SIGINT and SIGTERM from now on (main thread only); returns the undo."""
    _STOP.clear()
    _state.update(signal=None, count=0)
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return restore
