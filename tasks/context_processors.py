from .selectors import inbox_counts


def inbox(request):
    """Task counts for the navigation (two indexed count queries)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from notifications.models import InAppNotification

    return {
        "inbox_counts": inbox_counts(user),
        "unread_notifications": InAppNotification.objects.filter(user=user, read_at__isnull=True).count(),
    }
