"""How pages show a process variable: as JSON, the way the API and Camunda's Cockpit show it."""

import json

from django import template

register = template.Library()


@register.filter
def json_value(value) -> str:
    """A string as it is; anything else as JSON (true, null, 12.5, {"a": 1}), never a Python repr."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@register.filter
def pairs(mapping) -> list[tuple]:
    """A dict's (name, value) pairs: ``mapping.items`` in a template would read a variable named
    "items" instead."""
    return list((mapping or {}).items())
