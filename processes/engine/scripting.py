"""The restricted environment that runs diagram scripts and expressions.

SpiffWorkflow runs scripts with plain ``exec``/``eval``; uploaded diagrams are not
trusted code, so every script and expression is compiled by RestrictedPython (no
imports but an allow-list, no names or attributes starting with ``_``, guarded
item/attribute access) and the compiled code is instrumented:

* every loop iteration and function call ticks a per-thread budget, so an endless
  loop ends with ``ScriptTimeout`` after ``SCRIPT_TIMEOUT_SECONDS``;
* ``+ * ** <<`` and the string methods that can blow up (``replace``, ``join``,
  ``ljust``...) check the size of what they would build before building it, and the
  tick compares the process's resident memory with what it was when the script
  started, so a memory bomb ends with ``ScriptMemoryExceeded``.
"""

from __future__ import annotations

import ast
import datetime as _datetime
import decimal as _decimal
import json as _json
import math as _math
import re
import threading
import time as _time
import types
from functools import lru_cache
from typing import Any

from RestrictedPython import compile_restricted, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer

from .joda import JodaDateTime


class ScriptError(Exception):
    """A script or expression broke a rule of the restricted environment."""


class ScriptTimeout(ScriptError):
    """A script ran past its time budget."""


class ScriptMemoryExceeded(ScriptError):
    """A script tried to build something larger than allowed."""


class ScriptLimits:
    """The budgets of the restricted environment (set from settings.BPM by the engine)."""

    timeout_seconds: float = 2.0
    max_size: int = 1_000_000
    max_memory_bytes: int = 256 * 1024 * 1024


LIMITS = ScriptLimits()

# ---------------------------------------------------------------------------
# Budget: time and memory, per thread (web requests and workers run scripts in threads).

_budget = threading.local()
_PAGE_SIZE = 4096


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except OSError:  # not Linux: only the size guards apply
        return 0


class _Budget:
    __slots__ = ("deadline", "rss_start", "next_memory_check", "expired")

    def __init__(self) -> None:
        now = _time.monotonic()
        self.deadline = now + LIMITS.timeout_seconds
        self.rss_start = _resident_bytes()
        self.next_memory_check = now + 0.001
        self.expired: ScriptError | None = None


def _tick() -> None:
    budget: _Budget | None = getattr(_budget, "current", None)
    if budget is None:
        return
    if budget.expired is not None:
        # Sticky: a script that catches the first error is stopped at its next step.
        raise budget.expired
    now = _time.monotonic()
    if now > budget.deadline:
        budget.expired = ScriptTimeout(f"Script ran longer than {LIMITS.timeout_seconds:g} s and was stopped")
        raise budget.expired
    if now >= budget.next_memory_check:
        budget.next_memory_check = now + 0.001
        if budget.rss_start and _resident_bytes() - budget.rss_start > LIMITS.max_memory_bytes:
            budget.expired = ScriptMemoryExceeded(
                f"Script used more than {LIMITS.max_memory_bytes // (1024 * 1024)} MiB and was stopped"
            )
            raise budget.expired


class _run_with_budget:
    """Context manager: install a fresh budget for this thread, restore the outer one after."""

    def __enter__(self):
        self.outer = getattr(_budget, "current", None)
        if self.outer is None:  # nested evaluations share the outer budget
            _budget.current = _Budget()
        return self

    def __exit__(self, *exc):
        if self.outer is None:
            _budget.current = None
        return False


# ---------------------------------------------------------------------------
# Size guards.


def _too_big(what: str) -> ScriptMemoryExceeded:
    return ScriptMemoryExceeded(f"{what} would be larger than the allowed {LIMITS.max_size:,} items")


def _sized(value: Any) -> int | None:
    if isinstance(value, (str, bytes, list, tuple)):
        return len(value)
    return None


def _binop_guard(op: str, left: Any, right: Any) -> Any:
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            size = _sized(seq)
            if size is not None and isinstance(times, int) and size * times > LIMITS.max_size:
                raise _too_big("Repeating a sequence")
        return left * right
    if op == "+":
        ls, rs = _sized(left), _sized(right)
        if ls is not None and rs is not None and ls + rs > LIMITS.max_size:
            raise _too_big("Joining two sequences")
        return left + right
    if op == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if right * abs(left).bit_length() > LIMITS.max_size * 8:
                raise _too_big("A power")
        return left**right
    if op == "<<":
        if isinstance(right, int) and right > LIMITS.max_size * 8:
            raise _too_big("A shift")
        return left << right
    if op == "%":
        if isinstance(left, (str, bytes)):
            _check_percent_format(left)
        return left % right
    raise ScriptError(f"Unsupported operator {op}")


# A %-conversion's width and precision: '*' (taken from the arguments) or digits.
_PERCENT_SPEC = re.compile(rb"%[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(template: str | bytes) -> None:
    raw = template.encode("utf-8", "replace") if isinstance(template, str) else template
    for match in _PERCENT_SPEC.finditer(raw):
        for part in match.groups():
            if part and (part == b"*" or len(part) > 4):
                raise ScriptError("A %-format with a '*' or very large width or precision is not allowed in scripts")


def _safe_pow(base, exp, mod=None):
    if mod is None:
        return _binop_guard("**", base, exp)
    return pow(base, exp, mod)  # modular: as many steps as the exponent has bits


def _inplacevar(op: str, left: Any, right: Any) -> Any:
    base = op[:-1]
    if base in ("*", "+", "**", "<<", "%"):
        return _binop_guard(base, left, right)
    import operator

    table = {
        "-": operator.sub,
        "/": operator.truediv,
        "//": operator.floordiv,
        ">>": operator.rshift,
        "&": operator.and_,
        "|": operator.or_,
        "^": operator.xor,
        "@": operator.matmul,
    }
    if base not in table:
        raise ScriptError(f"Unsupported operator {op}")
    return table[base](left, right)


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > LIMITS.max_size:
        raise _too_big("A range")
    return result


def _guarded_iter(iterable: Any):
    for item in iter(iterable):
        _tick()
        yield item


def _checked_str_method(value: str | bytes, name: str, method):
    def guarded(*args, **kwargs):
        if name in ("ljust", "rjust", "center", "zfill"):
            width = args[0] if args else kwargs.get("width", 0)
            if isinstance(width, int) and width > LIMITS.max_size:
                raise _too_big("A padded string")
        elif name == "replace" and len(args) >= 2:
            old, new = args[0], args[1]
            count = value.count(old) if old else len(value) + 1
            if len(value) + count * max(0, len(new) - len(old)) > LIMITS.max_size:
                raise _too_big("A replaced string")
        elif name == "join" and args:
            items = list(args[0])
            total = sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(value) * len(items)
            if total > LIMITS.max_size:
                raise _too_big("A joined string")
            return method(items)
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(size, int) and value.count("\t") * size > LIMITS.max_size:
                raise _too_big("An expanded string")
        return method(*args, **kwargs)

    return guarded


_GUARDED_STR_METHODS = {"ljust", "rjust", "center", "zfill", "replace", "join", "expandtabs"}
_FORBIDDEN_STR_METHODS = {"format", "format_map", "translate", "maketrans"}


def _getattr(obj: Any, name: str) -> Any:
    if (
        isinstance(obj, type)
        and issubclass(obj, (str, bytes))
        and name in _GUARDED_STR_METHODS | _FORBIDDEN_STR_METHODS
    ):
        # str.ljust(s, n) would skip the checks made on s.ljust(n)
        raise ScriptError(f"Call {name}() on the string itself (s.{name}(...)), not through the type")
    if isinstance(obj, (str, bytes)):
        if name in _FORBIDDEN_STR_METHODS:
            raise ScriptError(f"String method {name}() is not allowed in scripts")
        if name in _GUARDED_STR_METHODS:
            return _checked_str_method(obj, name, getattr(obj, name))
    return safer_getattr_raise(obj, name)


def _getitem(obj: Any, key: Any) -> Any:
    return obj[key]


def _apply(func, *args, **kwargs):
    return func(*args, **kwargs)


# ---------------------------------------------------------------------------
# Allowed modules: read-only views holding only harmless attributes.


def _module_view(module: types.ModuleType, names: list[str]) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: getattr(module, name) for name in names})


ALLOWED_MODULES: dict[str, types.SimpleNamespace] = {
    "datetime": _module_view(_datetime, ["date", "datetime", "time", "timedelta", "timezone", "MINYEAR", "MAXYEAR"]),
    "time": _module_view(_time, ["time", "monotonic", "strftime", "strptime", "gmtime", "localtime", "mktime"]),
    "math": _module_view(
        _math, [n for n in dir(_math) if not n.startswith("_") and n not in ("factorial", "comb", "perm")]
    ),
    "decimal": _module_view(
        _decimal,
        ["Decimal", "InvalidOperation", "DivisionByZero"] + [n for n in dir(_decimal) if n.startswith("ROUND_")],
    ),
    "json": _module_view(_json, ["dumps", "loads", "JSONDecodeError"]),
}


def _safe_import(name: str, globals=None, locals=None, fromlist=(), level=0):
    if level != 0 or name not in ALLOWED_MODULES:
        allowed = ", ".join(sorted(ALLOWED_MODULES))
        raise ScriptError(f"Import of '{name}' is not allowed; scripts may import only: {allowed}")
    return ALLOWED_MODULES[name]


# ---------------------------------------------------------------------------
# Helper functions offered to every script and expression (documented in docs/SCRIPTING.md).


def now() -> _datetime.datetime:
    """The current time, timezone-aware UTC."""
    return _datetime.datetime.now(_datetime.UTC)


def today() -> _datetime.date:
    return _datetime.date.today()


def is_empty(value: Any) -> bool:
    """JUEL's ``empty``: None, an empty string or an empty collection."""
    return value is None or (hasattr(value, "__len__") and len(value) == 0)


def date_time() -> JodaDateTime:
    """JUEL's ``dateTime()``: now, as a Joda-style date-time."""
    return JodaDateTime(now())


HELPERS: dict[str, Any] = {"now": now, "today": today, "is_empty": is_empty, "date_time": date_time}

_BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k not in ("setattr", "delattr", "id")}
_BUILTINS.update(
    {
        "__import__": _safe_import,
        "range": _safe_range,
        "list": list,
        "dict": dict,
        "tuple": tuple,
        "set": set,
        "frozenset": frozenset,
        "sorted": sorted,
        "min": min,
        "max": max,
        "sum": sum,
        "any": any,
        "all": all,
        "enumerate": enumerate,
        "zip": zip,
        "map": map,
        "filter": filter,
        "reversed": reversed,
        "pow": _safe_pow,
    }
)


def _base_globals() -> dict[str, Any]:
    return {
        "__builtins__": _BUILTINS,
        "__name__": "bpm_script",
        "__metaclass__": type,
        "_getattr_": _getattr,
        "_getitem_": _getitem,
        "_getiter_": _guarded_iter,
        "_write_": full_write_guard,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_inplacevar_": _inplacevar,
        "_apply_": _apply,
        "_print_": PrintCollector,
        "_tick_": _tick,
        "_binop_": _binop_guard,
        **HELPERS,
    }


# ---------------------------------------------------------------------------
# Compilation: RestrictedPython's policy plus our instrumentation.

_GUARDED_OPS = {ast.Mult: "*", ast.Add: "+", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


def _tick_stmt(at: ast.AST) -> ast.stmt:
    stmt = ast.Expr(value=ast.Call(func=ast.Name(id="_tick_", ctx=ast.Load()), args=[], keywords=[]))
    return ast.fix_missing_locations(ast.copy_location(stmt, at))


class _InstrumentingPolicy(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus a tick in every loop and function and guarded arithmetic."""

    def visit_While(self, node):
        node = self.node_contents_visit(node)
        node.body.insert(0, _tick_stmt(node.body[0]))
        return node

    def visit_For(self, node):
        node = super().visit_For(node) if hasattr(super(), "visit_For") else self.node_contents_visit(node)
        node.body.insert(0, _tick_stmt(node.body[0]))
        return node

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_stmt(node.body[0]))
        return node

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        symbol = _GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(
            func=ast.Name(id="_binop_", ctx=ast.Load()),
            args=[ast.Constant(symbol), node.left, node.right],
            keywords=[],
        )
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node):
        # A format spec like {x:>999999999} allocates in one step; keep widths small.
        if node.format_spec is not None:
            spec = ast.unparse(node.format_spec)
            digits = "".join(c if c.isdigit() else " " for c in spec).split()
            if any(len(d) > 4 for d in digits) or "{" in spec:
                self.error(node, "Format specifications with dynamic or very large widths are not allowed.")
        return super().visit_FormattedValue(node)


def _check_imports(source: str) -> None:
    """Refuse imports outside the allow-list when the code is compiled (at deploy), not only when it runs."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return  # compile_restricted reports it with its own message
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            if name.split(".")[0] not in ALLOWED_MODULES or "." in name:
                allowed = ", ".join(sorted(ALLOWED_MODULES))
                raise SyntaxError(
                    f"Line {node.lineno}: import of '{name}' is not allowed; scripts may import only: {allowed}"
                )


@lru_cache(maxsize=4096)
def compile_script(source: str) -> types.CodeType:
    """Compile a script task body; raises SyntaxError (with the reason) when it breaks a rule."""
    _check_imports(source)
    return compile_restricted(source, filename="<script>", mode="exec", policy=_InstrumentingPolicy)


@lru_cache(maxsize=8192)
def compile_expression(source: str) -> types.CodeType:
    """Compile an expression (condition, timer, collection); raises SyntaxError when not allowed."""
    return compile_restricted(source.strip(), filename="<expression>", mode="eval", policy=_InstrumentingPolicy)


def _add_introspection(namespace: dict[str, Any]) -> None:
    """``vars()`` and ``globals()`` without arguments list the variables (diagrams test names with them)."""

    def variables(*args: Any) -> dict[str, Any]:
        if args:
            raise ScriptError("vars() takes no arguments in scripts")
        return {k: v for k, v in namespace.items() if not k.startswith("_") and k not in HELPERS}

    namespace["vars"] = variables
    namespace["globals"] = variables


def evaluate_here(expression: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """Evaluate an already-translated Python expression in this process (the sandbox host, and
    expressions ``is_simple`` finds bounded)."""
    code = compile_expression(expression)
    namespace = _base_globals()
    if extra:
        namespace.update(extra)
    _add_introspection(namespace)
    namespace.update(context)
    with _run_with_budget():
        return eval(code, namespace)  # noqa: S307 - compiled by RestrictedPython above


def execute_here(script: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Run a script in this process (the sandbox host); variables it assigns are written back
    into ``context`` (the task data)."""
    code = compile_script(script)
    base = _base_globals()
    if extra:
        base.update(extra)
    namespace = dict(base)
    _add_introspection(namespace)
    namespace.update(context)
    with _run_with_budget():
        exec(code, namespace)  # noqa: S102 - compiled by RestrictedPython above
    for key in list(context):
        if key not in namespace:
            del context[key]
    for key, value in namespace.items():
        if key in base and value is base[key]:
            continue
        if key.startswith("_") or callable(value) or isinstance(value, (types.ModuleType, types.SimpleNamespace)):
            continue
        context[key] = value


# ---------------------------------------------------------------------------
# Expressions cheap enough to run in the calling process.
#
# Everything else (scripts, loops, comprehensions, calls beyond a few bounded ones) runs in a
# helper process that can be killed (processes.engine.sandbox). An expression is simple when
# its cost is bounded by its own length and the size of the variables it reads: no loops, no
# power or shift, calls only to functions and methods that are linear in their input, and
# the size guards above on + * %.

_SIMPLE_FUNCTIONS = {
    "len", "str", "int", "float", "bool", "abs", "round", "min", "max", "sum", "any", "all",
    "is_empty", "now", "today", "sorted", "list", "tuple", "dict", "set", "date_time",
}  # fmt: skip
_SIMPLE_METHODS = {
    "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "get", "keys", "values",
    "items", "isdigit", "isalpha", "isalnum", "title", "capitalize", "casefold", "split", "count",
    "find", "index", "isoformat", "date", "year", "month", "day", "toDate",
    "plusYears", "plusMonths", "plusWeeks", "plusDays", "plusHours", "plusMinutes", "plusSeconds",
    "minusYears", "minusMonths", "minusWeeks", "minusDays", "minusHours", "minusMinutes", "minusSeconds",
}  # fmt: skip
_SIMPLE_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Slice, ast.Compare,
    ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp, ast.Call,
    ast.keyword, ast.cmpop, ast.boolop, ast.unaryop, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
    ast.Mod, ast.BitAnd, ast.BitOr, ast.BitXor,
)  # fmt: skip


@lru_cache(maxsize=8192)
def is_simple(expression: str) -> bool:
    """True when the expression's cost is bounded (see above): it may run in the caller's process."""
    if len(expression) > 2000:
        return False
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _SIMPLE_NODES):
            return False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            # a product grows by the digits of a constant factor, never doubles itself
            numeric = [
                isinstance(side, ast.Constant) and isinstance(side.value, (int, float))
                for side in (node.left, node.right)
            ]
            if not any(numeric):
                return False
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in _SIMPLE_FUNCTIONS:
                continue
            if (
                isinstance(func, ast.Attribute)
                and func.attr in _SIMPLE_METHODS
                and not (isinstance(func.value, ast.Name) and func.value.id in ("str", "bytes"))
            ):
                continue
            return False
    return True


def evaluate(expression: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """Evaluate an already-translated Python expression against the variables in ``context``,
    within the time and memory budget (in the sandbox process unless it is simple)."""
    from . import sandbox

    return sandbox.evaluate(expression, context, extra)


def execute(script: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Run a script in the sandbox process; variables it assigns are written back into ``context``."""
    from . import sandbox

    sandbox.execute(script, context, extra)
