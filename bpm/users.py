"""What many rooms ask about a user, read once per user object."""

from __future__ import annotations


def group_ids(user) -> list[int]:
    """The ids of the user's groups, read once per user object: a page's request user, or the
    API's user kept with its verified token (integrations.auth), whose group ids travel with it
    in the shared cache like its permissions do."""
    cached = getattr(user, "_bpm_group_ids", None)
    if cached is None:
        cached = list(user.groups.values_list("id", flat=True)) if getattr(user, "pk", None) else []
        user._bpm_group_ids = cached
    return cached
