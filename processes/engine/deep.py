"""Room for SpiffWorkflow's recursive walks over long processes.

SpiffWorkflow's parser follows sequence flows recursively (a few Python frames per
element), so a process of a thousand elements in a row exceeds Python's default
recursion limit. Such calls run here: on a thread with a large stack, with the
recursion limit raised while any of them runs.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024  # reserved address space; only the pages used are committed
RECURSION_LIMIT = 200_000

_lock = threading.Lock()
_active = 0
_saved_limit = sys.getrecursionlimit()


def _enter() -> None:
    global _active, _saved_limit
    with _lock:
        if _active == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, RECURSION_LIMIT))
        _active += 1


def _leave() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            sys.setrecursionlimit(_saved_limit)


def call_deep(function: Callable[..., T], *args, **kwargs) -> T:
    """Call ``function`` on a large-stack thread and return its result or raise its exception."""
    result: dict = {}

    def target() -> None:
        _enter()
        try:
            result["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread as it is
            result["error"] = exc
        finally:
            _leave()

    with _lock:
        previous = threading.stack_size(STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name="bpm-deep-call", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]
