"""Register, change and revoke API clients (OAuth2 client credentials)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import AccessToken, Application

from .models import ApiClient
from .scopes import SCOPES


@dataclass
class NewClient:
    client: ApiClient
    client_id: str
    client_secret: str  # shown once; stored hashed


def _check_scopes(scopes: list[str]) -> None:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValidationError(
            {"scopes": [f"Unknown scopes: {', '.join(unknown)}" if unknown else "Grant at least one scope."]}
        )


def client_create(
    *, name: str, service_username: str, scopes: list[str], groups: list[str] = (), created_by=None
) -> NewClient:
    """A confidential client-credentials application acting as ``service_username`` (created
    without a password when missing, and added to ``groups``)."""
    _check_scopes(scopes)
    if Application.objects.filter(name=name).exists():
        raise ValidationError({"name": [f"A client named {name!r} exists already."]})
    missing = [g for g in groups if not Group.objects.filter(name=g).exists()]
    if missing:
        raise ValidationError({"groups": [f"Unknown groups: {', '.join(missing)}"]})
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=service_username)
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(*Group.objects.filter(name__in=groups))
        client_id, secret = generate_client_id(), generate_client_secret()
        application = Application.objects.create(
            name=name,
            client_id=client_id,
            client_secret=secret,  # hashed on save
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            user=user,
        )
        client = ApiClient.objects.create(application=application, scopes=" ".join(scopes), created_by=created_by)
    return NewClient(client=client, client_id=client_id, client_secret=secret)


def client_set_scopes(*, name: str, scopes: list[str]) -> ApiClient:
    """Change what a client may do; tokens already issued keep their scopes until they expire
    unless revoked."""
    _check_scopes(scopes)
    client = ApiClient.objects.select_related("application").get(application__name=name)
    client.scopes = " ".join(scopes)
    client.save(update_fields=["scopes"])
    return client


def client_revoke(*, name: str) -> int:
    """Lock a client out at once: it gets no new tokens and its tokens stop working."""
    with transaction.atomic():
        client = ApiClient.objects.select_related("application").get(application__name=name)
        client.active = False
        client.save(update_fields=["active"])
        deleted, _ = AccessToken.objects.filter(application=client.application).delete()
    return deleted
