"""The helper process that runs diagram scripts (started by processes.engine.sandbox).

It reads length-prefixed pickled requests on stdin, runs each under the restricted
environment with the request's budgets, and writes the answer on stdout. Its address space
is capped at its size after start-up plus the memory budget, so an allocation beyond the
budget fails here (MemoryError, or the kernel ends this process), never in the server.
Only the standard library and RestrictedPython are imported: no Django, no database.
"""

from __future__ import annotations

import builtins
import os
import pickle
import resource
import signal
import struct
import sys
import traceback

from processes.engine import scripting

_HEADER = struct.Struct("!I")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_SLACK = 64 * 1024 * 1024  # room for the answer's pickling and the interpreter's own needs


def _virtual_size() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * _PAGE
    except OSError:  # not Linux (macOS): no cap, the resident-memory checks between steps remain
        return None


def _cap_memory(budget: int, base: int | None) -> None:
    if base is None:
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (base + budget + _SLACK, resource.RLIM_INFINITY))
    except (ValueError, OSError):  # a lower hard limit set from outside: keep it
        pass


def _read(stream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _write(stream, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _script_line(exc: BaseException) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in ("<script>", "<expression>"):
            return frame.lineno
    return None


def _failure(exc: BaseException) -> tuple:
    """("error", kind, exception type name, message, restart the helper?)"""
    if isinstance(exc, scripting.ScriptTimeout):
        return ("error", "timeout", "ScriptTimeout", str(exc), False)
    if isinstance(exc, scripting.ScriptMemoryExceeded):
        return ("error", "memory", "ScriptMemoryExceeded", str(exc), False)
    if isinstance(exc, MemoryError):
        budget = scripting.LIMITS.max_memory_bytes // (1024 * 1024)
        return ("error", "memory", "ScriptMemoryExceeded", f"Script used more than {budget} MiB and was stopped", True)
    if isinstance(exc, scripting.ScriptError):
        return ("error", "script", "ScriptError", str(exc), False)
    name = type(exc).__name__
    line = _script_line(exc)
    where = f" (line {line})" if line else ""
    message = f"{name}: {exc}{where}" if not isinstance(exc, Exception) else f"{exc}{where}"
    # SystemExit, KeyboardInterrupt, GeneratorExit: a script error like any other, named as such.
    return ("error", "builtin" if isinstance(exc, Exception) else "script", name, message, False)


def serve(stdin, stdout) -> None:
    base = _virtual_size()
    _write(stdout, b"ready")
    while True:
        try:
            (size,) = _HEADER.unpack(_read(stdin, _HEADER.size))
            kind, source, context, extra, limits = pickle.loads(_read(stdin, size))  # noqa: S301 - from our parent
        except EOFError:
            return  # the server went away
        timeout, max_size, max_memory = limits
        scripting.LIMITS.timeout_seconds = timeout
        scripting.LIMITS.max_size = max_size
        scripting.LIMITS.max_memory_bytes = max_memory
        _cap_memory(max_memory, base)
        try:
            if kind == "eval":
                answer = ("ok", scripting.evaluate_here(source, context, extra))
            else:
                scripting.execute_here(source, context, extra)
                answer = ("ok", context)
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 - everything a script raises is its error
            try:
                payload = pickle.dumps(_failure(exc), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # noqa: BLE001
                payload = pickle.dumps(("error", "memory", "ScriptMemoryExceeded", "Out of memory", True))
        finally:
            if base is not None:
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        _write(stdout, payload)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Nothing a script does may write to the channel: the protocol owns the real stdout.
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    builtins.input = None
    serve(stdin, stdout)


if __name__ == "__main__":
    main()
