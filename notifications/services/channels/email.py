"""Email: rendered from overridable templates, sent through Django's mail backend."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import select_template

from ...models import (
    Delivery,
)
from . import _RetryLater

logger = logging.getLogger(__name__)


def email_render(event: dict) -> tuple[str, str, str]:
    """(subject, text, html) for an event, from the most specific template there is:
    notifications/email/<event type>.txt|.html, then <object>.txt|.html (task, approval,
    instance, incident, step), then default.txt|.html. A project overrides any of them
    from a directory in BPM_TEMPLATE_DIRS."""
    event_type = event.get("type", "")
    data = event.get("data", {})
    base = settings.BPM.get("PUBLIC_URL", "").rstrip("/")
    obj = event_type.split(".")[1] if event_type.count(".") >= 2 else ""
    due_at = data.get("due_at")
    context = {
        "event": event,
        "data": data,
        "title": data.get("title") or event_type,
        "link": f"{base}{data['link']}" if data.get("link") else "",
        "preferences_link": f"{base}/notifications/preferences/",
        "site_name": settings.BPM.get("SITE_NAME", "BPM"),
        "due_at": datetime.fromisoformat(due_at) if due_at else None,
    }

    def render(ext: str) -> str:
        names = [f"notifications/email/{event_type}.{ext}", f"notifications/email/{obj}.{ext}"]
        return select_template([*names, f"notifications/email/default.{ext}"]).render(context)

    try:
        subject = select_template([f"notifications/email/{event_type}.subject.txt"]).render(context)
    except TemplateDoesNotExist:
        subject = context["title"]
    return " ".join(subject.split())[:200], render("txt").strip() + "\n", render("html")


def _send_email(delivery: Delivery) -> None:
    subject, text, html = email_render(delivery.payload)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[delivery.user.email])
    message.attach_alternative(html, "text/html")
    # the outbox row's id: a mail sent twice after a crash is recognisable as one message
    host = urlsplit(settings.BPM.get("PUBLIC_URL", "")).hostname or "localhost"
    message.extra_headers["Message-ID"] = f"<{delivery.message_id}@{host}>"
    try:
        message.send()
    except OSError as exc:
        raise _RetryLater(f"Mail server: {exc}") from exc
