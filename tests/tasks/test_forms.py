"""camunda:formData fields render and validate on the server; valid data becomes variables."""

import pytest
from django.core.exceptions import ValidationError

from tasks.forms import TaskForm, clean_task_data


def field(id, type="string", *constraints, default=None, values=None):
    result = {"id": id, "label": id.title(), "type": type, "defaultValue": default, "validation": []}
    for c in constraints:
        name, _, config = c.partition("=")
        result["validation"].append({"name": name, "config": config or None})
    if values:
        result["values"] = [{"id": v, "name": v.title()} for v in values]
    return result


def errors(fields, data, variables=None):
    with pytest.raises(ValidationError) as raised:
        clean_task_data(fields, variables or {}, data)
    return raised.value.message_dict


def test_a_required_string_must_be_given():
    assert "reason" in errors([field("reason", "string", "required")], {})


def test_string_length_constraints_are_enforced():
    fields = [field("code", "string", "minlength=2", "maxlength=4")]
    assert "code" in errors(fields, {"code": "x"})
    assert "code" in errors(fields, {"code": "toolong"})
    assert clean_task_data(fields, {}, {"code": "abc"}) == {"code": "abc"}


def test_a_long_is_a_whole_number_within_min_and_max():
    fields = [field("days", "long", "min=1", "max=30")]
    assert "days" in errors(fields, {"days": "abc"})
    assert "days" in errors(fields, {"days": 0})
    assert "days" in errors(fields, {"days": 31})
    assert clean_task_data(fields, {}, {"days": "5"}) == {"days": 5}


def test_a_boolean_becomes_true_or_false():
    fields = [field("approved", "boolean", "required")]
    assert clean_task_data(fields, {}, {"approved": True}) == {"approved": True}
    assert clean_task_data(fields, {}, {"approved": "false"}) == {"approved": False}
    assert "approved" in errors(fields, {})


def test_a_date_is_stored_as_an_iso_date():
    fields = [field("start", "date", "required")]
    assert clean_task_data(fields, {}, {"start": "2026-12-24"}) == {"start": "2026-12-24"}
    assert "start" in errors(fields, {"start": "24th of December"})


def test_an_enum_accepts_only_its_values():
    fields = [field("level", "enum", values=["low", "high"])]
    assert clean_task_data(fields, {}, {"level": "high"}) == {"level": "high"}
    assert "level" in errors(fields, {"level": "medium"})


def test_a_readonly_field_is_shown_but_never_written():
    fields = [field("amount", "long", "readonly"), field("note")]
    assert clean_task_data(fields, {"amount": 10}, {"amount": 999, "note": "ok"}) == {"note": "ok"}


def test_defaults_come_from_literals_expressions_and_current_variables():
    fields = [field("a", default="x"), field("b", default="${base * 2}"), field("c", default="nope")]
    form = TaskForm(fields, {"base": 21, "c": "kept"})
    assert (form.fields["a"].initial, form.fields["b"].initial, form.fields["c"].initial) == ("x", 42, "kept")


def test_a_task_without_a_form_takes_any_data():
    assert clean_task_data([], {}, {"free": [1, 2]}) == {"free": [1, 2]}
