"""Who may see, start and own a process: django-guardian grants on a definition."""

from __future__ import annotations

from django.db import transaction

from ..exceptions import (
    InvalidGrant,
)
from ..models import (
    ProcessDefinition,
)


def _grantee(kind: str, name: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    model = get_user_model() if kind == "user" else Group
    lookup = {"username": name} if kind == "user" else {"name": name}
    try:
        return model.objects.get(**lookup)
    except model.DoesNotExist:
        raise InvalidGrant(f"No {kind} named '{name}'", details={"name": [f"No {kind} named '{name}'."]}) from None


def definition_grant(*, definition: ProcessDefinition, perm: str, kind: str, name: str) -> None:
    """Grant a user or group a right on a process (kept on the version; it covers every version of the key)."""
    from guardian.shortcuts import assign_perm

    from ..selectors import GRANTABLE

    if perm not in GRANTABLE:
        raise InvalidGrant(f"Unknown right '{perm}'", details={"perm": [f"Choose one of {', '.join(GRANTABLE)}."]})
    assign_perm(f"processes.{perm}", _grantee(kind, name), definition)


def definition_revoke(*, definition: ProcessDefinition, perm: str, kind: str, name: str) -> None:
    """Remove a right from a user or group on every version of the process key."""
    from guardian.shortcuts import remove_perm

    grantee = _grantee(kind, name)
    with transaction.atomic():
        for version in ProcessDefinition.objects.filter(key=definition.key):
            remove_perm(f"processes.{perm}", grantee, version)
