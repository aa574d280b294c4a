"""Who may do what with notifications: each rule once, for pages and API alike."""

from __future__ import annotations

MANAGE_WEBHOOKS = "notifications.change_webhooksubscription"


def user_manages_webhooks(user) -> bool:
    """Webhook subscriptions and dead letters: administrators (the BPM Administrator role, superusers)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.has_perm(MANAGE_WEBHOOKS))
