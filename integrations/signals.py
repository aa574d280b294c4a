"""Keep the API authentication cache honest: whatever can lock a token out drops it."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from oauth2_provider.models import AccessToken

from .auth import forget_tokens
from .models import ApiClient


def _forget_token(sender, instance: AccessToken, **kwargs) -> None:
    forget_tokens([instance.token])


def _forget_client_tokens(sender, instance: ApiClient, **kwargs) -> None:
    forget_tokens(AccessToken.objects.filter(application_id=instance.application_id).values_list("token", flat=True))


def _forget_user_tokens(sender, instance, **kwargs) -> None:
    if not instance.is_active:
        tokens = AccessToken.objects.filter(application__user=instance).values_list("token", flat=True)
        forget_tokens(list(tokens) + list(AccessToken.objects.filter(user=instance).values_list("token", flat=True)))


def connect() -> None:
    post_save.connect(_forget_token, sender=AccessToken, dispatch_uid="bpm-token-saved")
    post_delete.connect(_forget_token, sender=AccessToken, dispatch_uid="bpm-token-deleted")
    post_save.connect(_forget_client_tokens, sender=ApiClient, dispatch_uid="bpm-client-saved")
    post_delete.connect(_forget_client_tokens, sender=ApiClient, dispatch_uid="bpm-client-deleted")
    post_save.connect(_forget_user_tokens, sender=settings.AUTH_USER_MODEL, dispatch_uid="bpm-user-saved")
