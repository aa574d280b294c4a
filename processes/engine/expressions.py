"""Translate the expression dialects diagrams are written in into restricted Python.

Camunda Modeler writes JUEL (``${amount > 1000}``, ``${approved eq true}``) and,
for Camunda 8, simple FEEL (``=amount > 1000``); SpiffWorkflow evaluates Python.
A timer written as a bare ISO 8601 value (``PT1H``) is a literal, not a name.
Everything else is taken as Python as it stands.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bpm.cron import looks_like_cron

ISO_8601 = re.compile(
    r"""^(
        R\d*/.+                                   # repeating interval
      | P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?   # duration
      | \d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?      # date or date-time
    )$""",
    re.VERBOSE,
)

_JUEL = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.DOTALL)

_TOKEN = re.compile(
    r"""
    (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>=!?:(),.\[\]])
  | (?P<space>\s+)
    """,
    re.VERBOSE,
)

_JUEL_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "and": "and",
    "or": "or",
    "not": "not",
    "div": "/",
    "mod": "%",
    "true": "True",
    "false": "False",
    "null": "None",
    "in": "in",
}

_FEEL_WORDS = {"and": "and", "or": "or", "true": "True", "false": "False", "null": "None"}


class ExpressionSyntaxError(ValueError):
    """An expression uses a construct the translator does not support."""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionSyntaxError(f"Unexpected character {text[pos]!r} at position {pos + 1}")
        pos = match.end()
        kind = match.lastgroup
        if kind != "space":
            tokens.append((kind, match.group()))
    return tokens


def _translate_tokens(tokens: list[tuple[str, str]], words: dict[str, str], feel: bool) -> str:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        previous = tokens[i - 1] if i else None
        if kind == "name":
            after_dot = previous is not None and previous[1] == "."
            if after_dot:
                # a property path a.b becomes a['b'] (variables are dicts), unless it is a call a.b(...)
                is_call = i + 1 < len(tokens) and tokens[i + 1][1] == "("
                out.pop()  # the dot
                out.append(f".{value}" if is_call else f"[{value!r}]")
            elif value == "empty" and not feel:
                out.append("is_empty")
                # JUEL 'empty x' has no parentheses; wrap the following operand
                if i + 1 < len(tokens) and tokens[i + 1][1] != "(":
                    out.append("(")
                    i += 1
                    j = i
                    while j < len(tokens) and (tokens[j][0] == "name" or tokens[j][1] == "."):
                        j += 1
                    out.append(_translate_tokens(tokens[i:j], words, feel))
                    out.append(")")
                    i = j
                    continue
            elif value in words:
                out.append(f" {words[value]} ")
            else:
                out.append(value)
        elif kind == "op":
            if value == "&&":
                out.append(" and ")
            elif value == "||":
                out.append(" or ")
            elif value == "!":
                out.append(" not ")
            elif value == "=" and feel:
                out.append(" == ")
            elif value in ("?", ":"):
                raise ExpressionSyntaxError(
                    "The conditional operator a ? b : c is not supported; use an if/else gateway"
                )
            elif value == "=":
                raise ExpressionSyntaxError("Assignment is not allowed in an expression")
            else:
                out.append(
                    f" {value} " if value in ("==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%") else value
                )
        else:
            out.append(value)
        i += 1
    return _join(out)


def _join(pieces: list[str]) -> str:
    """Join translated pieces with single spaces, none inside brackets or before commas."""
    text = ""
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if not text or text[-1] in "([" or piece[0] in ")],[(." and not text.endswith((" and", " or", " not")):
            text += piece
        else:
            text += " " + piece
    return text


# Java methods Camunda diagrams call in JUEL, as Python: a method with a Python twin is
# renamed; the others are rewritten around their receiver (a variable or a property path).
_RENAMED_METHODS = {
    "startsWith": "startswith",
    "endsWith": "endswith",
    "toUpperCase": "upper",
    "toLowerCase": "lower",
    "trim": "strip",
    "plusYears": "plusYears", "plusMonths": "plusMonths", "plusWeeks": "plusWeeks", "plusDays": "plusDays",
    "plusHours": "plusHours", "plusMinutes": "plusMinutes", "plusSeconds": "plusSeconds",
    "minusYears": "minusYears", "minusMonths": "minusMonths", "minusWeeks": "minusWeeks",
    "minusDays": "minusDays", "minusHours": "minusHours", "minusMinutes": "minusMinutes",
    "minusSeconds": "minusSeconds", "toDate": "toDate", "isoformat": "isoformat",
}  # fmt: skip
_RECEIVER_METHODS = {"equals", "equalsIgnoreCase", "contains", "isEmpty", "size", "length"}
_JUEL_FUNCTIONS = {"dateTime": "date_time", "now": "now"}


def _matching(tokens: list[tuple[str, str]], open_at: int) -> int:
    depth = 0
    for index in range(open_at, len(tokens)):
        if tokens[index][1] in ("(", "["):
            depth += 1
        elif tokens[index][1] in (")", "]"):
            depth -= 1
            if depth == 0:
                return index
    raise ExpressionSyntaxError("Unbalanced parentheses")


def _receiver_start(tokens: list[tuple[str, str]], dot_at: int) -> int:
    """Where the receiver of the method whose dot is at ``dot_at`` begins: a name, a path of
    names, a call's closing parenthesis back to its name, or a string literal."""
    index = dot_at - 1
    while index >= 0:
        kind, value = tokens[index]
        if value == ")":
            depth = 0
            while index >= 0:
                if tokens[index][1] == ")":
                    depth += 1
                elif tokens[index][1] == "(":
                    depth -= 1
                    if depth == 0:
                        break
                index -= 1
            index -= 1  # the name before the call
            continue
        if kind in ("name", "string", "number") and value not in _JUEL_WORDS:
            if index > 0 and tokens[index - 1][1] == ".":
                index -= 2
                continue
            return index
        raise ExpressionSyntaxError("A method call needs a variable, a property or a call before it")
    raise ExpressionSyntaxError("A method call needs a receiver")


# What an expression may read of the execution (Camunda's DelegateExecution), each a name the
# evaluation context carries (EXECUTION_NAMES); execution.getVariable is rewritten below.
_EXECUTION_PROPERTIES = {
    "processBusinessKey": "execution_business_key",
    "getProcessBusinessKey": "execution_business_key",
    "businessKey": "execution_business_key",
    "getBusinessKey": "execution_business_key",
}
EXECUTION_NAMES = ("execution_business_key",)


def _execution_properties(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``execution.processBusinessKey`` (or its getter) becomes a name of the evaluation context;
    any other use of ``execution`` is refused (a new instance has no id while its first steps run)."""
    out: list[tuple[str, str]] = []
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        follows_dot = index > 0 and tokens[index - 1][1] == "."
        if kind == "name" and value == "execution" and not follows_dot:
            if index + 2 >= len(tokens) or tokens[index + 1][1] != ".":
                raise ExpressionSyntaxError(
                    "'execution' can only be read as execution.processBusinessKey or execution.getVariable('name')"
                )
            member = tokens[index + 2][1]
            if member in ("getVariable", "getVariableLocal"):
                out.append(tokens[index])
                index += 1
                continue
            name = _EXECUTION_PROPERTIES.get(member)
            if name is None:
                raise ExpressionSyntaxError(f"execution.{member} is not supported (processBusinessKey, getVariable)")
            out.append(("name", name))
            index += 3
            if member.startswith("get") and index + 1 < len(tokens) and tokens[index][1] == "(":
                index += 2  # the getter's empty ()
            continue
        out.append(tokens[index])
        index += 1
    return out


def _java_methods(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Rewrite the Java calls Camunda diagrams use into Python; refuse any other method call."""
    tokens = _execution_properties(list(tokens))
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        is_method = (
            kind == "name" and index > 0 and tokens[index - 1][1] == "." and index + 1 < len(tokens)
            and tokens[index + 1][1] == "("
        )  # fmt: skip
        if (
            kind == "name"
            and value in _JUEL_FUNCTIONS
            and not is_method
            and index + 1 < len(tokens)
            and tokens[index + 1][1] == "("
        ):
            tokens[index] = ("name", _JUEL_FUNCTIONS[value])
        if not is_method:
            index += 1
            continue
        if value in ("getVariable", "getVariableLocal") and index >= 2 and tokens[index - 2][1] == "execution":
            # execution.getVariable('x'): the variable, or null when there is none
            close = _matching(tokens, index + 1)
            replacement = [("name", "globals"), ("op", "("), ("op", ")"), ("op", "."), ("name", "get")]
            tokens[index - 2 : index + 1] = replacement
            index = index - 2 + len(replacement) + (close - index)
            continue
        if value in _RENAMED_METHODS:
            tokens[index] = ("name", _RENAMED_METHODS[value])
            index += 1
            continue
        if value not in _RECEIVER_METHODS:
            raise ExpressionSyntaxError(
                f"The method '{value}' is not supported (supported: equals, contains, isEmpty, size, startsWith, "
                "endsWith, toUpperCase, toLowerCase, trim, execution.getVariable, and dateTime()'s plus/minus "
                "and toDate)"
            )
        start = _receiver_start(tokens, index - 1)
        close = _matching(tokens, index + 1)
        receiver = tokens[start : index - 1]
        argument = tokens[index + 2 : close]
        if value in ("equals", "equalsIgnoreCase"):
            if value == "equalsIgnoreCase":
                receiver = [*receiver, ("op", "."), ("name", "lower"), ("op", "("), ("op", ")")]
                argument = [*argument, ("op", "."), ("name", "lower"), ("op", "("), ("op", ")")]
            replacement = [("op", "("), *receiver, ("op", "=="), ("op", "("), *argument, ("op", ")"), ("op", ")")]
        elif value == "contains":
            replacement = [("op", "("), ("op", "("), *argument, ("op", ")"), ("name", "in"), *receiver, ("op", ")")]
        elif value == "isEmpty":
            replacement = [("name", "is_empty"), ("op", "("), *receiver, ("op", ")")]
        else:  # size(), length()
            replacement = [("name", "len"), ("op", "("), *receiver, ("op", ")")]
        tokens[start : close + 1] = replacement
        index = start + len(replacement)
    return tokens


@lru_cache(maxsize=8192)
def to_python(expression: str | None) -> str | None:
    """Return the Python text for a JUEL, FEEL, ISO 8601 or Python expression."""
    if expression is None:
        return None
    text = expression.strip()
    if not text:
        return text
    juel = _JUEL.match(text)
    if juel:
        return _translate_tokens(_java_methods(_tokens(juel.group("body"))), _JUEL_WORDS, feel=False)
    if text.startswith("=") and not text.startswith("=="):
        return _translate_tokens(_tokens(text[1:]), _FEEL_WORDS, feel=True)
    if ISO_8601.match(text) or looks_like_cron(text):
        return repr(text)
    return text


def dialect_of(expression: str | None) -> str:
    """Name the dialect an expression is written in: juel, feel, iso8601 or python."""
    text = (expression or "").strip()
    if _JUEL.match(text):
        return "juel"
    if text.startswith("=") and not text.startswith("=="):
        return "feel"
    if ISO_8601.match(text):
        return "iso8601"
    return "python"


_EMBEDDED = re.compile(r"[$#]\{([^{}]*)\}")


def evaluate_attribute(text: str | None, variables: dict, evaluate) -> object:
    """Evaluate an extension attribute as Camunda does: ``${x}`` alone yields x's value, a
    FEEL ``=expr`` yields its value, text with embedded ``${...}`` is filled in, anything
    else is the literal text. ``evaluate(python, variables)`` runs the translated expression."""
    if text is None:
        return None
    stripped = text.strip()
    if _JUEL.match(stripped) and len(_EMBEDDED.findall(stripped)) == 1 and _EMBEDDED.fullmatch(stripped):
        return evaluate(to_python(stripped), variables)
    if stripped.startswith("=") and not stripped.startswith("=="):
        return evaluate(to_python(stripped), variables)

    def fill(match: re.Match) -> str:
        value = evaluate(to_python("${" + match.group(1) + "}"), variables)
        return "" if value is None else str(value)

    return _EMBEDDED.sub(fill, text)


# A camunda:inputParameter / outputParameter written as a camunda:script (one Python expression)
SCRIPT_KEY = "camunda:script"


def evaluate_parameter(value, variables: dict, evaluate) -> object:
    """An input/output parameter's value: text with ``${...}``, a camunda:list or camunda:map of
    them, or a camunda:script (``{SCRIPT_KEY: python}``), whose value is its expression's."""
    if isinstance(value, dict):
        if set(value) == {SCRIPT_KEY}:
            return evaluate(value[SCRIPT_KEY], variables)
        return {k: evaluate_parameter(v, variables, evaluate) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate_parameter(v, variables, evaluate) for v in value]
    if isinstance(value, str):
        return evaluate_attribute(value, variables, evaluate)
    return value
