"""Web forms: uploads, starting an instance, completing a step."""

import json

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".bpmn,.dmn,.form,.xml"}))
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
    files = MultipleFileField(help_text="The .bpmn diagram and any .bpmn/.dmn/.form files it calls or opens.")


class StartInstanceForm(forms.Form):
    business_key = forms.CharField(required=False, max_length=255)
    variables = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"amount": 1500}'}),
        help_text="Start variables as a JSON object.",
    )

    def __init__(self, *args, allow_variables: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not allow_variables:  # raw JSON is for designers; others fill the start form
            del self.fields["variables"]

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
    """``builder(fields, variables, data=None, posted_json=None)`` returns a form with
    ``variables()`` and ``form_js_values()``."""
    _FIELD_FORM_BUILDER[:] = [builder]


def start_fields_form(fields: list[dict], post=None):
    """The start event's form (bound to what was posted, from its fields or from form-js), or
    None when it has no fields or no builder is registered."""
    if not fields or not _FIELD_FORM_BUILDER:
        return None
    if post is None:
        return _FIELD_FORM_BUILDER[0](fields, {})
    posted_json, data = posted_field_data(post)
    return _FIELD_FORM_BUILDER[0](fields, {}, data=data, posted_json=posted_json)


def field_data_from_json(data: dict | None) -> dict:
    """JSON values (from the API or a form rendered with form-js) as a field form's POST data."""
    submitted = {}
    for key, value in (data or {}).items():
        if isinstance(value, bool):
            submitted[key] = "true" if value else "false"
        elif value is None:
            submitted[key] = ""
        else:
            submitted[key] = value
    return submitted


def posted_field_data(post) -> tuple[dict | None, object]:
    """(the JSON a form rendered with form-js posted as ``form_json``, the data to bind a field
    form to): a page without form-js posts its fields as they are."""
    raw = post.get("form_json")
    if not raw:
        return None, post
    try:
        values = json.loads(raw)
    except json.JSONDecodeError:
        values = None
    if not isinstance(values, dict):
        return None, post
    return values, field_data_from_json(values)


def clean_start_form(fields: list[dict], values: dict) -> dict:
    """Validate start-form values sent as JSON (an API's submit-form); raise ValidationError per field."""
    from django.core.exceptions import ValidationError

    if not fields or not _FIELD_FORM_BUILDER:
        return dict(values or {})
    form = _FIELD_FORM_BUILDER[0](fields, {}, data=field_data_from_json(values))
    if not form.is_valid():
        raise ValidationError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
    return {**values, **form.variables()}
