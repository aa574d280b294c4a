"""Task forms built from camunda:formData fields, validated on the server."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone

from processes.engine import expressions, scripting
from processes.forms import field_data_from_json

BOOLEAN_CHOICES = [("true", "Yes"), ("false", "No")]


def _constraints(field: dict) -> dict[str, str | None]:
    return {c.get("name"): c.get("config") for c in field.get("validation", []) if c.get("name")}


def _default(field: dict, variables: dict) -> Any:
    if field["id"] in variables:
        return variables[field["id"]]
    default = field.get("defaultValue")
    if default is None:
        return None
    try:
        return expressions.evaluate_attribute(default, variables, scripting.evaluate)
    except Exception:  # a default over a missing variable just leaves the field empty
        return None


def _number(config: str | None) -> int | None:
    try:
        return int(config) if config not in (None, "") else None
    except ValueError:
        return None


def _form_field(field: dict, initial: Any) -> forms.Field:
    constraints = _constraints(field)
    required = "required" in constraints
    readonly = "readonly" in constraints
    label = field.get("label") or field["id"]
    kind = (field.get("type") or "string").lower()
    common = {"label": label, "required": required and not readonly, "disabled": readonly}
    if kind == "long":
        result: forms.Field = forms.IntegerField(
            min_value=_number(constraints.get("min")), max_value=_number(constraints.get("max")), **common
        )
    elif kind == "boolean":
        result = forms.TypedChoiceField(
            choices=BOOLEAN_CHOICES,
            coerce=lambda v: v == "true",
            empty_value=None,
            widget=forms.RadioSelect,
            **common,
        )
        if isinstance(initial, bool):
            initial = "true" if initial else "false"
    elif kind == "date":
        result = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        if isinstance(initial, str):
            try:
                initial = datetime.date.fromisoformat(initial[:10])
            except ValueError:
                initial = None
    elif kind == "enum":
        choices = [(v.get("id"), v.get("name") or v.get("id")) for v in field.get("values", [])]
        result = forms.ChoiceField(choices=[("", "—")] + choices, **common)
    else:
        result = forms.CharField(
            min_length=_number(constraints.get("minlength")),
            max_length=_number(constraints.get("maxlength")),
            validators=[RegexValidator(f"^(?:{constraints['pattern']})$")] if constraints.get("pattern") else [],
            **common,
        )
        if kind == "string" and (_number(constraints.get("maxlength")) or 0) > 200:
            result.widget = forms.Textarea(attrs={"rows": 3})
    result.initial = initial
    result.field_type = kind
    return result


class TaskForm(forms.Form):
    """A form whose fields come from a task's form definition."""

    def __init__(
        self,
        fields: list[dict],
        variables: dict,
        *args,
        draft: dict | None = None,
        posted_json: dict | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.posted_json = posted_json  # what a page rendered with form-js posted
        self.definition = fields
        values = {**variables, **(draft or {})}
        for field in fields:
            self.fields[field["id"]] = _form_field(field, _default(field, values))

    def form_js_values(self) -> dict[str, Any]:
        """The values form-js shows: what was posted when the form comes back with errors,
        else each field's starting value (text fields as text, yes/no as booleans)."""
        if self.posted_json is not None:
            return self.posted_json
        values = {}
        for name, field in self.fields.items():
            value = field.initial
            if value is None:
                continue
            if field.field_type == "boolean":
                value = value == "true"
            elif field.field_type == "date":
                value = value.isoformat() if hasattr(value, "isoformat") else str(value)
            elif field.field_type == "string" and not isinstance(value, str):
                value = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
            values[name] = value
        return values

    def variables(self) -> dict[str, Any]:
        """The cleaned values as process variables (readonly fields are not written)."""
        result = {}
        for name, field in self.fields.items():
            if field.disabled:
                continue
            value = self.cleaned_data.get(name)
            if isinstance(value, datetime.date):
                value = value.isoformat()
            result[name] = value
        return result


def clean_task_data(fields: list[dict], variables: dict, data: dict) -> dict[str, Any]:
    """Validate submitted data against the task's form; raise ValidationError per field.

    Tasks without a form accept any JSON object as variables (as Camunda's API does)."""
    if not fields:
        return dict(data or {})
    form = TaskForm(fields, variables, data=field_data_from_json(data))
    if not form.is_valid():
        raise ValidationError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
    return form.variables()


class TaskChangeForm(forms.Form):
    """The task page's due date, follow-up date and priority; an empty date clears it."""

    due_at = forms.DateTimeField(
        label="Due",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    follow_up_at = forms.DateField(label="Follow up", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.IntegerField(label="Priority", min_value=0, max_value=100)

    def changes(self) -> dict:
        """Keyword arguments for tasks.services.task_update (a follow-up date starts its day)."""
        follow_up = self.cleaned_data["follow_up_at"]
        if follow_up is not None:
            follow_up = timezone.make_aware(datetime.datetime.combine(follow_up, datetime.time.min))
        return {
            "due_at": self.cleaned_data["due_at"],
            "follow_up_at": follow_up,
            "priority": self.cleaned_data["priority"],
        }
