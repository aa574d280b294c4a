"""Run diagram scripts and expressions where they cannot hurt the server: a helper process.

The restricted compiler (scripting.py) stops loops at their time budget and refuses the
big allocations it can see, but one C-level operation (a huge power, a padded string, a
sort of a huge list) runs to its end without returning to Python, holding the web worker
or the instance's row lock for as long as it takes, or allocating gigabytes. So:

* scripts, and expressions that are not provably cheap (``scripting.is_simple``), run in
  a helper process (``sandbox_host``) taken from this process's pool, started when none is
  idle and reused: its address space is capped (RLIMIT_AS) at its size at start plus the
  memory budget, and when it overruns its time budget it is killed and replaced;
* the budget of one evaluation is shared by everything nested in it, and a decision table
  is one evaluation however many cells it has (``budget()``);
* nothing a script raises, ``SystemExit`` and ``KeyboardInterrupt`` included, crosses into
  this process other than as a ``ScriptError``;
* values come back through an unpickler that builds only plain data types.

The helper's cost is one round trip per call, measured in bench/scripts.py
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import scripting
from .scripting import LIMITS, ScriptError, ScriptMemoryExceeded, ScriptTimeout

_HEADER = struct.Struct("!I")
_ROOT = Path(__file__).resolve().parents[2]  # the project, so the helper imports processes.engine
_GRACE_SECONDS = 0.5  # beyond the budget: the helper's own clock stops Python loops first
_START_SECONDS = 20.0


class SandboxUnavailable(ScriptError):
    """The helper process could not be started or answered nonsense."""


# ---------------------------------------------------------------------------
# Budget shared by nested evaluations in this thread (a decision table's cells, say).

_local = threading.local()


@contextlib.contextmanager
def budget():
    """Everything evaluated inside shares one time budget of ``LIMITS.timeout_seconds``."""
    outer = getattr(_local, "deadline", None)
    if outer is None:
        _local.deadline = time.monotonic() + LIMITS.timeout_seconds
    try:
        yield
    finally:
        if outer is None:
            _local.deadline = None


def _remaining() -> float:
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return LIMITS.timeout_seconds
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out()
    return left


# ---------------------------------------------------------------------------
# Values that may come back: plain data only.

_ALLOWED_GLOBALS = {
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("decimal", "Decimal"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("uuid", "UUID"),
}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise ScriptError(f"A script produced a value of type {module}.{name}, which cannot be kept as a variable")
        return super().find_class(module, name)


def _loads(data: bytes) -> Any:
    return _PlainUnpickler(io.BytesIO(data)).load()


# ---------------------------------------------------------------------------
# The helper processes.


class _Helper:
    def __init__(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(_ROOT),
            "PYTHONHASHSEED": "0",
            "LANG": "C.UTF-8",
        }
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "processes.engine.sandbox_host"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=str(_ROOT),
            env=env,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C or SIGTERM meant for the server is not its
        )
        self.pid_of_owner = os.getpid()
        self.ready = False

    def _send(self, payload: bytes) -> None:
        self.proc.stdin.write(_HEADER.pack(len(payload)) + payload)
        self.proc.stdin.flush()

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                raise TimeoutError
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def call(self, payload: bytes, timeout: float) -> bytes:
        if not self.ready:
            deadline = time.monotonic() + _START_SECONDS
            (size,) = _HEADER.unpack(self._read_exactly(_HEADER.size, deadline))
            if self._read_exactly(size, deadline) != b"ready":
                raise SandboxUnavailable("The script helper process did not start")
            self.ready = True
        self._send(payload)
        deadline = time.monotonic() + timeout
        (size,) = _HEADER.unpack(self._read_exactly(_HEADER.size, deadline))
        return self._read_exactly(size, deadline + 5.0)  # the answer is written at once

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class _Pool:
    """Idle helpers shared by this process's threads; a forked child starts its own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Helper] = []
        self.pid = os.getpid()

    def take(self) -> _Helper:
        with self.lock:
            if self.pid != os.getpid():  # forked (Celery, gunicorn): the parent's helpers are not ours
                self.idle, self.pid = [], os.getpid()
            if self.idle:
                return self.idle.pop()
        try:
            return _Helper()
        except OSError as exc:
            raise SandboxUnavailable(f"The script helper process could not be started: {exc}") from exc

    def give_back(self, helper: _Helper) -> None:
        with self.lock:
            if helper.pid_of_owner == os.getpid() and len(self.idle) < 16:
                self.idle.append(helper)
                return
        helper.kill()


POOL = _Pool()


def _timed_out() -> ScriptTimeout:
    # named by the configured budget, also when the helper was given what was left of a shared one
    return ScriptTimeout(f"Script ran longer than {LIMITS.timeout_seconds:g} s and was stopped")


def _run(kind: str, source: str, context: dict, extra: dict | None) -> Any:
    timeout = _remaining()
    limits = (timeout, LIMITS.max_size, LIMITS.max_memory_bytes)
    try:
        payload = pickle.dumps((kind, source, context, extra or {}, limits), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise ScriptError(f"The variables cannot be passed to a script: {exc}") from None
    helper = POOL.take()
    try:
        raw = helper.call(payload, timeout + _GRACE_SECONDS)
    except TimeoutError:
        helper.kill()
        raise _timed_out() from None
    except (EOFError, OSError, struct.error) as exc:
        helper.kill()
        # The kernel ended it: the memory cap (an allocation failed where Python could not say so).
        raise ScriptMemoryExceeded(
            f"Script used more than {LIMITS.max_memory_bytes // (1024 * 1024)} MiB and was stopped"
        ) from exc
    except BaseException:
        helper.kill()  # interrupted mid-call: its answer would be read by the next caller
        raise
    try:
        answer = _loads(raw)
    except ScriptError:
        POOL.give_back(helper)
        raise
    except Exception as exc:
        helper.kill()
        raise SandboxUnavailable(f"The script helper answered nonsense: {exc}") from None
    if answer[0] == "ok":
        POOL.give_back(helper)
        return answer[1]
    _, kind, type_name, message, restart = answer
    if restart:
        helper.kill()
    else:
        POOL.give_back(helper)
    raise _as_exception(kind, type_name, message)


def _as_exception(kind: str, type_name: str, message: str) -> Exception:
    """The helper's answer as the exception the script would have raised here (sandbox_host._failure)."""
    if kind == "timeout":
        return _timed_out()
    if kind == "memory":
        return ScriptMemoryExceeded(message)
    if kind == "builtin":
        builtin = getattr(builtins, type_name, None)
        if isinstance(builtin, type) and issubclass(builtin, Exception):
            return builtin(message)  # NameError, TypeError... as when the script ran here
        return ScriptError(f"{type_name}: {message}")  # a class the script defined
    return ScriptError(message)  # our own refusals; SystemExit and friends come named already


def evaluate(expression: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """Evaluate a translated expression: here when it is simple, else in a helper process."""
    if scripting.is_simple(expression):
        _remaining()  # a decision table's budget may be spent already
        return scripting.evaluate_here(expression, context, extra)
    scripting.compile_expression(expression)  # a syntax or policy error is raised here, as before
    return _run("eval", expression, context, extra)


def execute(script: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Run a script in a helper process; its variables replace ``context``'s contents."""
    scripting.compile_script(script)
    result = _run("exec", script, context, extra)
    for key in list(context):
        if key not in result:
            del context[key]
    context.update(result)
