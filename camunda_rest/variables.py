"""Camunda's typed variables, ``{"value", "type", "valueInfo"}``, to and from ours (JSON values).

String, Boolean, Integer, Long, Short, Double, Date (Camunda's ``yyyy-MM-dd'T'HH:mm:ss.SSSZ``,
kept here as ISO 8601 text), Json (a JSON document in a string) and Null are read; Object
(serialized Java), File and Bytes are refused with a 400, since nothing here could read them."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

from .errors import CamundaError

_INT32 = range(-(2**31), 2**31)
_REFUSED = {"object", "file", "bytes"}


def camunda_date(value: datetime.datetime | None) -> str | None:
    """Camunda's date format: 2026-11-30T17:05:03.000+0000."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + value.strftime("%z")


def parse_date(text: str, name: str = "date") -> datetime.datetime:
    """A date as Camunda's clients send it (with or without milliseconds and zone)."""
    raw = (text or "").strip()
    if len(raw) >= 5 and raw[-5] in "+-" and raw[-4:].isdigit():
        raw = raw[:-2] + ":" + raw[-2:]  # +0100 -> +01:00
    try:
        return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise CamundaError(
            f"Cannot convert value '{text}' of {name} to a date: use Camunda's format yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        ) from None


def from_typed(name: str, typed: Any) -> Any:
    """One variable from ``{"value": ..., "type": ...}`` to our JSON value."""
    if not isinstance(typed, dict):
        raise CamundaError(f"Cannot read variable '{name}': expected an object with 'value' and 'type'")
    value = typed.get("value")
    kind = (typed.get("type") or "").lower()
    if kind in _REFUSED:
        raise CamundaError(
            f"Cannot set variable '{name}' of type {typed.get('type')}: serialized Java objects, files and bytes are "
            "not supported here; send it as Json or String"
        )
    if kind == "null" or value is None:
        return None
    if kind == "":
        return value  # untyped: the JSON value as it is
    try:
        if kind == "string":
            return str(value)
        if kind == "boolean":
            if isinstance(value, str):
                return value.lower() == "true"
            return bool(value)
        if kind in ("integer", "long", "short"):
            return int(value)
        if kind == "double":
            return float(value)
        if kind == "date":
            return parse_date(str(value), f"variable '{name}'").isoformat()
        if kind == "json":
            return json.loads(value) if isinstance(value, str) else value
    except (TypeError, ValueError) as exc:
        raise CamundaError(f"Cannot convert value '{value}' of variable '{name}' to type {typed.get('type')}: {exc}")
    raise CamundaError(f"Unsupported value type '{typed.get('type')}' of variable '{name}'")


def from_typed_map(variables: Any, field: str = "variables") -> dict[str, Any]:
    if variables in (None, ""):
        return {}
    if not isinstance(variables, dict):
        raise CamundaError(f"'{field}' must be an object of variables")
    return {name: from_typed(name, typed) for name, typed in variables.items()}


def to_typed(value: Any) -> dict[str, Any]:
    """Our JSON value as Camunda's typed value."""
    if value is None:
        return {"value": None, "type": "Null", "valueInfo": {}}
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean", "valueInfo": {}}
    if isinstance(value, int):
        return {"value": value, "type": "Integer" if value in _INT32 else "Long", "valueInfo": {}}
    if isinstance(value, float):
        return {"value": value, "type": "Double", "valueInfo": {}}
    if isinstance(value, str):
        return {"value": value, "type": "String", "valueInfo": {}}
    if isinstance(value, datetime.datetime):  # a decision's FEEL output
        return {"value": camunda_date(value), "type": "Date", "valueInfo": {}}
    if isinstance(value, decimal.Decimal):
        return {"value": float(value), "type": "Double", "valueInfo": {}}
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return {"value": str(value), "type": "String", "valueInfo": {}}
    return {
        "value": json.dumps(value, default=str),
        "type": "Json",
        "valueInfo": {},
    }


def to_typed_map(variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: to_typed(value) for name, value in (variables or {}).items()}


_FIELD_TYPES = {"long": "Long", "boolean": "Boolean", "date": "Date"}


def form_field_typed(field: dict, value: Any) -> dict[str, Any]:
    """A form field's value typed as Camunda's form-variables answer it (by the field's type)."""
    return {**to_typed(value), "type": _FIELD_TYPES.get((field.get("type") or "").lower(), "String")}
