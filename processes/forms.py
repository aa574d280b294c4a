"""Web forms: uploads, starting an instance, completing a step."""

import json

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".bpmn,.dmn,.xml"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


def parse_json_object(raw: str | None) -> dict:
    """Parse a JSON object typed into a form, with an error a person can act on."""
    raw = (raw or "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
    if not isinstance(value, dict):
        raise forms.ValidationError('Enter a JSON object, like {"amount": 1500}.')
    return value


class DeployForm(forms.Form):
    files = MultipleFileField(help_text="The .bpmn diagram and any .bpmn/.dmn files it calls.")


class StartInstanceForm(forms.Form):
    business_key = forms.CharField(required=False, max_length=255)
    variables = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"amount": 1500}'}),
        help_text="Start variables as a JSON object.",
    )

    def clean_variables(self):
        return parse_json_object(self.cleaned_data.get("variables"))


class ForceCompleteStepForm(forms.Form):
    reason = forms.CharField(
        max_length=1000, widget=forms.TextInput(attrs={"placeholder": "Why (kept in the history)"})
    )
    data = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "placeholder": '{"approved": true}'})
    )

    def clean_data(self):
        return parse_json_object(self.cleaned_data.get("data"))


# How a start event's form fields (camunda:formData or a Camunda Form) become a Django form:
# the tasks app, which owns the task form, registers its builder in its AppConfig.ready().
_FIELD_FORM_BUILDER: list = []


def register_field_form(builder) -> None:
    """``builder(fields, variables, data=None)`` returns a form with ``variables()``."""
    _FIELD_FORM_BUILDER[:] = [builder]


def start_fields_form(fields: list[dict], data=None):
    """The start event's form, or None when it has no fields or no builder is registered."""
    if not fields or not _FIELD_FORM_BUILDER:
        return None
    return _FIELD_FORM_BUILDER[0](fields, {}, data=data)
