"""FEEL (DMN 1.3) as Camunda's FEEL engine evaluates decision tables: unary tests for input
entries, expressions for input expressions and output entries.

A tokenizer and a Pratt parser build a small tree once per cell (``compile_unary_tests``,
``compile_expression``); evaluating walks it over a context of variables. Covered:
literals (numbers, strings, booleans, ``null``), names and paths (``invoice.amount``),
arithmetic, comparisons, ``and``/``or``, ``if then else``, ``in``, lists ``[a, b]``,
ranges ``[1..10]``, ``]1..10[``, ``(1..10)``, function calls (``date``, ``time``,
``date and time``, ``duration``, ``not``, string, number and list functions), and in unary
tests: ``-``, comparisons (``< 10``), ranges, lists of tests and ``not(...)``. Anything else
is a ``FeelError`` at deploy, naming the cell.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta


class FeelError(ValueError):
    """A FEEL text that cannot be parsed or evaluated."""


# ---------------------------------------------------------------------------
# Tokens

_MULTI_WORD_NAMES = (
    "date and time",
    "string length",
    "upper case",
    "lower case",
    "starts with",
    "ends with",
    "list contains",
    "substring before",
    "substring after",
    "years and months duration",
    "day of week",
    "is defined",
)
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<op>\.\.|<=|>=|!=|\*\*|[-+*/<>=(),\[\].?:{}])
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "if", "then", "else", "in", "true", "false", "null", "between", "instance", "of"}


@dataclass
class Token:
    kind: str  # number, string, op, name, keyword, end
    value: Any


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    position = 0
    lowered = text.lower()
    while position < len(text):
        for name in _MULTI_WORD_NAMES:  # function names with spaces, as FEEL allows
            end = position + len(name)
            if lowered.startswith(name, position) and (end == len(text) or not text[end].isalnum()):
                out.append(Token("name", name))
                position = end
                break
        else:
            match = _TOKEN.match(text, position)
            if match is None:
                raise FeelError(f"Unexpected character {text[position]!r} at {position + 1}")
            position = match.end()
            kind = match.lastgroup
            value = match.group(kind)
            if kind == "ws":
                continue
            if kind == "number":
                out.append(Token("number", decimal.Decimal(value)))
            elif kind == "string":
                out.append(Token("string", bytes(value[1:-1], "utf-8").decode("unicode_escape")))
            elif kind == "name" and value in _KEYWORDS:
                out.append(Token("keyword", value))
            else:
                out.append(Token(kind, value))
    out.append(Token("end", None))
    return out


# ---------------------------------------------------------------------------
# Trees


@dataclass
class Node:
    kind: str
    value: Any = None
    children: tuple = ()


@dataclass
class Range:
    low: Any
    high: Any
    low_closed: bool
    high_closed: bool

    def contains(self, value) -> bool:
        if value is None:
            return False
        try:
            if self.low is not None and (value < self.low or (value == self.low and not self.low_closed)):
                return False
            if self.high is not None and (value > self.high or (value == self.high and not self.high_closed)):
                return False
        except TypeError:
            return False
        return True


_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_BINDING = {"or": 10, "and": 20, "in": 30, "between": 30, "=": 40, "!=": 40, "<": 40, "<=": 40, ">": 40, ">=": 40}
_BINDING.update({"+": 50, "-": 50, "*": 60, "/": 60, "**": 70})


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.at + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, kind: str, value=None) -> Token:
        token = self.take()
        if token.kind != kind or (value is not None and token.value != value):
            raise FeelError(f"Expected {value or kind} in {self.text!r}")
        return token

    def at_end(self) -> bool:
        return self.peek().kind == "end"

    # -- expressions -------------------------------------------------------------
    def expression(self, binding: int = 0) -> Node:
        left = self.prefix()
        while True:
            token = self.peek()
            operator = token.value if token.kind in ("op", "keyword") else None
            power = _BINDING.get(operator, -1)
            if power <= binding:
                return left
            self.take()
            if operator == "in":
                left = Node("in", children=(left, self.positive_tests()))
            elif operator == "between":
                low = self.expression(power)
                self.expect("keyword", "and")
                high = self.expression(power)
                left = Node("between", children=(left, low, high))
            else:
                left = Node("binary", operator, (left, self.expression(power)))
                if operator in _COMPARISONS and self.peek().value in _COMPARISONS:
                    raise FeelError(f"Comparisons do not chain in FEEL: {self.text!r}")

    def prefix(self) -> Node:
        token = self.take()
        if token.kind in ("number", "string"):
            node = Node("literal", token.value)
        elif token.kind == "keyword" and token.value in ("true", "false"):
            node = Node("literal", token.value == "true")
        elif token.kind == "keyword" and token.value == "null":
            node = Node("literal", None)
        elif token.kind == "keyword" and token.value == "if":
            condition = self.expression()
            self.expect("keyword", "then")
            then = self.expression()
            self.expect("keyword", "else")
            node = Node("if", children=(condition, then, self.expression()))
        elif token.kind == "keyword" and token.value == "not" and self.peek().value == "(":
            self.take()
            inner = self.expression()
            self.expect("op", ")")
            node = Node("not", children=(inner,))
        elif token.kind == "op" and token.value == "-":
            node = Node("negate", children=(self.expression(65),))
        elif token.kind == "op" and token.value == "(":
            inner = self.expression()
            if self.peek().value == "..":
                return self.range_rest(False, inner)
            self.expect("op", ")")
            node = inner
        elif token.kind == "op" and token.value in ("[", "]"):
            node = self.list_or_range(token.value)
        elif token.kind == "op" and token.value == "?":
            node = Node("input")
        elif token.kind == "name":
            node = Node("name", token.value)
        else:
            raise FeelError(f"Unexpected {token.value!r} in {self.text!r}")
        while self.peek().value in (".", "(") and self.peek().kind == "op":
            if self.take().value == ".":
                node = Node("path", self.expect("name").value, (node,))
            else:
                node = Node("call", node.value if node.kind == "name" else None, tuple(self.arguments()))
        return node

    def arguments(self) -> list[Node]:
        args: list[Node] = []
        if self.peek().value == ")":
            self.take()
            return args
        while True:
            args.append(self.expression())
            token = self.take()
            if token.value == ")":
                return args
            if token.value != ",":
                raise FeelError(f"Expected , or ) in {self.text!r}")

    def list_or_range(self, opener: str) -> Node:
        if opener == "[" and self.peek().value == "]":
            self.take()
            return Node("list", children=())
        first = self.expression()
        if self.peek().value == "..":
            return self.range_rest(opener == "[", first)
        if opener != "[":
            raise FeelError(f"A range needs '..' in {self.text!r}")
        items = [first]
        while self.peek().value == ",":
            self.take()
            items.append(self.expression())
        self.expect("op", "]")
        return Node("list", children=tuple(items))

    def range_rest(self, low_closed: bool, low: Node) -> Node:
        self.expect("op", "..")
        high = self.expression()
        closer = self.take()
        if closer.value not in ("]", ")", "["):
            raise FeelError(f"A range ends with ], ) or [ in {self.text!r}")
        return Node("range", (low_closed, closer.value == "]"), (low, high))

    # -- unary tests ---------------------------------------------------------------
    def positive_tests(self) -> Node:
        tests = [self.positive_test()]
        while self.peek().value == ",":
            self.take()
            tests.append(self.positive_test())
        return Node("tests", children=tuple(tests))

    def positive_test(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value in ("<", "<=", ">", ">=", "=", "!="):
            self.take()
            return Node("compare", token.value, (self.expression(45),))
        return Node("test", children=(self.expression(),))


def compile_expression(text: str) -> Node:
    """Parse a FEEL expression (an input expression or an output entry)."""
    parser = _Parser(text)
    node = parser.expression()
    if not parser.at_end():
        raise FeelError(f"Unexpected {parser.peek().value!r} in {text!r}")
    return node


def compile_unary_tests(text: str) -> Node:
    """Parse the unary tests of an input entry; '-' and empty match anything."""
    stripped = (text or "").strip()
    if stripped in ("", "-"):
        return Node("any")
    parser = _Parser(stripped)
    if parser.peek().value == "not" and parser.peek(1).value == "(":
        parser.take()
        parser.take()
        inner = parser.positive_tests()
        parser.expect("op", ")")
        node = Node("not_tests", children=(inner,))
    else:
        node = parser.positive_tests()
    if not parser.at_end():
        raise FeelError(f"Unexpected {parser.peek().value!r} in {text!r}")
    return node


# ---------------------------------------------------------------------------
# Evaluation


def evaluate(node: Node, context: dict, input_value: Any = None) -> Any:
    kind = node.kind
    if kind == "literal":
        return node.value
    if kind == "name":
        if node.value in context:
            return _feel_value(context[node.value])
        return None  # FEEL: an unknown name is null
    if kind == "input":
        return input_value
    if kind == "path":
        base = evaluate(node.children[0], context, input_value)
        if isinstance(base, dict):
            return _feel_value(base.get(node.value))
        return _property(base, node.value)
    if kind == "list":
        return [evaluate(child, context, input_value) for child in node.children]
    if kind == "range":
        low, high = (evaluate(child, context, input_value) for child in node.children)
        return Range(low, high, *node.value)
    if kind == "negate":
        value = evaluate(node.children[0], context, input_value)
        return None if value is None else -value
    if kind == "not":
        value = evaluate(node.children[0], context, input_value)
        return None if not isinstance(value, bool) else not value
    if kind == "if":
        condition = evaluate(node.children[0], context, input_value)
        return evaluate(node.children[1 if condition is True else 2], context, input_value)
    if kind == "binary":
        return _binary(node.value, node.children, context, input_value)
    if kind == "between":
        value, low, high = (evaluate(child, context, input_value) for child in node.children)
        return Range(low, high, True, True).contains(value)
    if kind == "in":
        value = evaluate(node.children[0], context, input_value)
        return _tests_match(node.children[1], context, value)
    if kind == "call":
        return _call(node.value, [evaluate(child, context, input_value) for child in node.children])
    raise FeelError(f"Cannot evaluate {kind}")


def _binary(operator: str, children, context, input_value):
    if operator in ("and", "or"):
        left = evaluate(children[0], context, input_value)
        right = evaluate(children[1], context, input_value)
        if operator == "and":
            if left is False or right is False:
                return False
            return True if left is True and right is True else None
        if left is True or right is True:
            return True
        return False if left is False and right is False else None
    left = evaluate(children[0], context, input_value)
    right = evaluate(children[1], context, input_value)
    if operator == "=":
        return _equal(left, right)
    if operator == "!=":
        equal = _equal(left, right)
        return None if equal is None else not equal
    if left is None or right is None:
        return None
    if operator in _COMPARISONS and isinstance(left, bool) != isinstance(right, bool):
        return None  # FEEL compares like with like: a boolean and a number give null
    try:
        if operator == "<":
            return left < right
        if operator == "<=":
            return left <= right
        if operator == ">":
            return left > right
        if operator == ">=":
            return left >= right
        if operator == "+":
            return left + right
        if operator == "-":
            return left - right
        if operator == "*":
            return left * right
        if operator == "/":
            return None if right == 0 else decimal.Decimal(left) / decimal.Decimal(right)
        if operator == "**":
            return left**right
    except (TypeError, decimal.InvalidOperation):
        return None
    raise FeelError(f"Unknown operator {operator}")


def _equal(left, right):
    if left is None or right is None:
        return left is None and right is None
    try:
        return left == right
    except TypeError:
        return False


def _tests_match(tests: Node, context: dict, value) -> bool:
    if tests.kind == "any":
        return True
    if tests.kind == "not_tests":
        return not _tests_match(tests.children[0], context, value)
    return any(_test_matches(test, context, value) for test in tests.children)


def _test_matches(test: Node, context: dict, value) -> bool:
    if test.kind == "compare":
        endpoint = evaluate(test.children[0], context, value)
        result = _binary(test.value, (Node("literal", value), Node("literal", endpoint)), context, value)
        return result is True
    expected = evaluate(test.children[0], context, value)
    if isinstance(expected, Range):
        return expected.contains(value)
    if isinstance(expected, list) and not isinstance(value, list):
        return any(_equal(value, item) is True for item in expected)
    if isinstance(expected, bool) and _uses_input(test.children[0]):
        return expected  # a boolean expression over '?'
    return _equal(value, expected) is True


def _uses_input(node: Node) -> bool:
    return node.kind == "input" or any(_uses_input(child) for child in node.children if isinstance(child, Node))


def unary_tests_match(tests: Node, context: dict, value) -> bool:
    """Whether an input value satisfies the unary tests of a cell."""
    return _tests_match(tests, context, _feel_value(value))


def _feel_value(value):
    """Python values as FEEL sees them: numbers as decimals, ISO text stays text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return decimal.Decimal(str(value))
    if isinstance(value, list | tuple):
        return [_feel_value(v) for v in value]
    return value


def to_python(value):
    """A FEEL result as a plain JSON-ready Python value for process variables."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [to_python(v) for v in value]
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return value


def _property(value, name: str):
    if isinstance(value, datetime.date | datetime.datetime):
        return {"year": value.year, "month": value.month, "day": value.day}.get(name)
    return None


# ---------------------------------------------------------------------------
# Built-in functions


def _date(text):
    if isinstance(text, datetime.datetime):
        return text.date()
    return datetime.date.fromisoformat(str(text))


def _date_and_time(text, time_value=None):
    if time_value is not None:
        return datetime.datetime.combine(_date(text), time_value)
    return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _duration(text):
    match = re.fullmatch(
        r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", str(text)
    )
    if match is None:
        raise FeelError(f"Not a duration: {text!r}")
    sign, years, months, weeks, days, hours, minutes, seconds = match.groups()
    if years or months:
        delta = relativedelta(years=int(years or 0), months=int(months or 0))
        return -delta if sign else delta
    delta = datetime.timedelta(
        weeks=int(weeks or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )
    return -delta if sign else delta


def _number(value):
    return None if value is None else decimal.Decimal(str(value))


def _string(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(to_python(value))


_FUNCTIONS = {
    "date": _date,
    "time": lambda text: datetime.time.fromisoformat(str(text)),
    "date and time": _date_and_time,
    "duration": _duration,
    "years and months duration": lambda a, b: relativedelta(b, a),
    "now": lambda: datetime.datetime.now(datetime.UTC),
    "today": lambda: datetime.date.today(),
    "not": lambda value: None if not isinstance(value, bool) else not value,
    "string": _string,
    "number": _number,
    "string length": lambda s: None if s is None else len(s),
    "upper case": lambda s: None if s is None else s.upper(),
    "lower case": lambda s: None if s is None else s.lower(),
    "contains": lambda s, part: None if s is None else part in s,
    "starts with": lambda s, part: None if s is None else s.startswith(part),
    "ends with": lambda s, part: None if s is None else s.endswith(part),
    "substring": lambda s, start, length=None: (
        None if s is None else s[int(start) - 1 : None if length is None else int(start) - 1 + int(length)]
    ),
    "substring before": lambda s, m: s.split(m, 1)[0] if m in s else "",
    "substring after": lambda s, m: s.split(m, 1)[1] if m in s else "",
    "abs": lambda n: None if n is None else abs(n),
    "floor": lambda n: None if n is None else decimal.Decimal(math.floor(n)),
    "ceiling": lambda n: None if n is None else decimal.Decimal(math.ceil(n)),
    "min": lambda *items: min(_flat(items)) if _flat(items) else None,
    "max": lambda *items: max(_flat(items)) if _flat(items) else None,
    "sum": lambda *items: sum(_flat(items), decimal.Decimal(0)),
    "count": lambda items: len(items),
    "mean": lambda *items: (sum(_flat(items), decimal.Decimal(0)) / len(_flat(items))) if _flat(items) else None,
    "list contains": lambda items, value: value in (items or []),
    "append": lambda items, *more: [*(items or []), *more],
    "is defined": lambda value: value is not None,
    "day of week": lambda d: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][
        d.weekday()
    ],
}


def _flat(items) -> list:
    if len(items) == 1 and isinstance(items[0], list):
        return [i for i in items[0] if i is not None]
    return [i for i in items if i is not None]


def _call(name: str | None, args: list):
    function = _FUNCTIONS.get(name or "")
    if function is None:
        raise FeelError(f"Unknown FEEL function {name!r}")
    try:
        return function(*args)
    except FeelError:
        raise
    except (TypeError, ValueError, AttributeError, decimal.InvalidOperation) as exc:
        raise FeelError(f"{name}(): {exc}") from exc


def known_function(name: str) -> bool:
    return name in _FUNCTIONS


def check_functions(node: Node) -> None:
    """Refuse, at deploy, a call to a function this evaluator does not know."""
    if node.kind == "call" and not known_function(node.value or ""):
        raise FeelError(f"Unknown FEEL function {node.value!r}")
    for child in node.children:
        if isinstance(child, Node):
            check_functions(child)
