"""The webhook subscription form (the checks themselves are in services.subscription_check)."""

from django import forms

from .models import WebhookFormat
from .services import EVENTS


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")
    format = forms.ChoiceField(choices=WebhookFormat.choices, initial=WebhookFormat.STANDARD)
    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    process_key = forms.CharField(max_length=255, required=False, help_text="Only this process's events (empty: all)")
    active = forms.BooleanField(required=False, initial=True)
