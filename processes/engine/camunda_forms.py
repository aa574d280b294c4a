"""Camunda Forms (form-js JSON, ``.form`` files deployed beside the diagram) and JSON-schema
forms (SpiffArena's ``formJsonSchemaFilename``, ``.json`` files) read into the task
form fields the engine already renders and validates (the same shape as camunda:formData), so
the inbox page and the API check the same rules: required, minLength, maxLength, min, max,
pattern, and the values of selects and radios.

A task names its form with ``camunda:formRef="formId"`` or
``camunda:formKey="camunda-forms:deployment:file.form"`` (also ``camunda-forms:app:``).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import NamedTuple

from .bpmn.results import Problem, SourceFile

_TYPES = {
    "textfield": "string",
    "textarea": "string",
    "number": "long",
    "checkbox": "boolean",
    "select": "enum",
    "radio": "enum",
    "datetime": "date",
}
_LAYOUT = {"text", "html", "spacer", "separator", "image", "button", "group", "dynamiclist", "iframe", "table"}


def is_form_file(source: SourceFile) -> bool:
    """A Camunda Form (.form) or a JSON-schema form (.json, as SpiffArena deploys them)."""
    return source.name.lower().endswith((".form", ".json"))


def read_json_schema_form(source: SourceFile, schema: dict) -> tuple[list[dict], list[Problem]]:
    """A JSON-schema form's properties as form fields (SpiffArena's formJsonSchemaFilename)."""
    required = set(schema.get("required") or [])
    fields, problems = [], []
    for key, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        kind = prop.get("type")
        constraints = [{"name": "required", "config": None}] if key in required else []
        for ours, theirs in (
            ("minlength", "minLength"),
            ("maxlength", "maxLength"),
            ("min", "minimum"),
            ("max", "maximum"),
        ):
            if prop.get(theirs) is not None:
                constraints.append({"name": ours, "config": str(prop[theirs])})
        if prop.get("pattern"):
            constraints.append({"name": "pattern", "config": prop["pattern"]})
        field = {"id": key, "label": prop.get("title") or key, "defaultValue": None, "validation": constraints}
        choices = prop.get("enum") or [o.get("const") for o in prop.get("oneOf") or [] if isinstance(o, dict)]
        titles = {o.get("const"): o.get("title") for o in prop.get("oneOf") or [] if isinstance(o, dict)}
        if choices:
            field["type"] = "enum"
            field["values"] = [{"id": str(c), "name": titles.get(c) or str(c)} for c in choices]
        elif kind == "boolean":
            field["type"] = "boolean"
        elif kind == "integer":
            field["type"] = "long"
        elif kind == "number":
            field["type"] = "string"
            constraints.append({"name": "pattern", "config": r"-?[0-9]+(\.[0-9]+)?"})
        elif kind == "string" and prop.get("format") == "date":
            field["type"] = "date"
        elif kind in ("string", None):
            field["type"] = "string"
        else:
            problems.append(
                Problem(f"Form field '{key}' of type '{kind}' is not supported", file=source.name, element_id=key)
            )
            continue
        fields.append(field)
    return fields, problems


class ReadForm(NamedTuple):
    form_id: str
    fields: list[dict]  # formData-shaped, validated on the server
    schema: dict | None  # a Camunda Form's form-js JSON, rendered with form-js in the browser
    problems: list[Problem]


def read_form(source: SourceFile) -> ReadForm:
    """A deployed form file read into its id, its fields, its form-js schema and problems."""
    try:
        schema = json.loads(source.content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ReadForm("", [], None, [Problem(f"Not a Camunda Form (form-js JSON): {exc}", file=source.name)])
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        fields, problems = read_json_schema_form(source, schema)
        return ReadForm(PurePosixPath(source.name).name, fields, None, problems)
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        return ReadForm("", [], None, [Problem("Not a Camunda Form: it has no 'components' list", file=source.name)])
    fields: list[dict] = []
    problems: list[Problem] = []
    for component in _components(schema["components"]):
        kind = component.get("type", "")
        if kind in _LAYOUT:
            continue
        key = component.get("key")
        if kind not in _TYPES or not key:
            problems.append(
                Problem(
                    f"Form component '{component.get('id') or key or kind}' of type '{kind}' is not supported "
                    f"(supported: {', '.join(sorted(_TYPES))})",
                    file=source.name,
                    element_id=component.get("id") or "",
                )
            )
            continue
        fields.append(_field(component))
    return ReadForm(schema.get("id") or PurePosixPath(source.name).stem, fields, schema, problems)


def _components(components: list) -> list[dict]:
    found = []
    for component in components:
        if not isinstance(component, dict):
            continue
        found.append(component)
        found += _components(component.get("components") or [])  # groups
    return found


def _field(component: dict) -> dict:
    validate = component.get("validate") or {}
    kind = _TYPES[component["type"]]
    if kind == "long" and (component.get("decimalDigits") or 0) > 0:
        kind = "string"  # a decimal number is kept as text, validated by its pattern if any
    constraints = []
    if validate.get("required"):
        constraints.append({"name": "required", "config": None})
    if component.get("readonly") or component.get("disabled"):
        constraints.append({"name": "readonly", "config": None})
    for ours, theirs in (("minlength", "minLength"), ("maxlength", "maxLength"), ("min", "min"), ("max", "max")):
        if validate.get(theirs) is not None:
            constraints.append({"name": ours, "config": str(validate[theirs])})
    if validate.get("pattern"):
        constraints.append({"name": "pattern", "config": validate["pattern"]})
    if component["type"] == "textarea":
        constraints.append({"name": "maxlength", "config": str(validate.get("maxLength") or 10000)})
    field = {
        "id": component["key"],
        "label": component.get("label") or component["key"],
        "type": kind,
        "defaultValue": None if component.get("defaultValue") is None else str(component.get("defaultValue")),
        "validation": constraints,
    }
    if kind == "enum":
        field["values"] = [
            {"id": str(v.get("value")), "name": v.get("label") or str(v.get("value"))}
            for v in component.get("values") or []
        ]
    return field


def form_reference(camunda: dict, spiff: dict | None = None) -> tuple[str, str] | None:
    """('id', form id) for camunda:formRef, ('file', name) for a camunda-forms: formKey or a
    SpiffArena formJsonSchemaFilename, else None."""
    schema_file = ((spiff or {}).get("properties") or {}).get("formJsonSchemaFilename")
    if schema_file:
        return "file", PurePosixPath(schema_file).name
    if camunda.get("formRef"):
        return "id", camunda["formRef"]
    key = camunda.get("formKey") or ""
    if key.startswith("camunda-forms:"):
        return "file", PurePosixPath(key.split(":", 2)[-1]).name
    return None
