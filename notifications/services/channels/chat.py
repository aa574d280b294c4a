"""Slack and Teams messages for chat incoming webhooks, with names and keys escaped per format."""

from __future__ import annotations

import html
import logging
import re

from django.conf import settings

logger = logging.getLogger(__name__)


def slack_escape(text: str) -> str:
    """Slack's control characters: ``<!channel>``, ``<@U1>`` and ``<url|label>`` in a business
    key or a name become plain text (https://api.slack.com/reference/surfaces/formatting)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEAMS_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def teams_escape(text: str) -> str:
    """Teams cards render Markdown and some HTML: both become plain text (no links, no mentions)."""
    return _TEAMS_MARKDOWN.sub(r"\\\1", html.escape(str(text), quote=False))


def _chat_body(fmt: str, event: dict) -> dict | None:
    """Slack- or Teams-compatible message for chat incoming webhooks; None for signed JSON events.

    Titles carry names and business keys that users typed: they are escaped for each format."""
    data = event.get("data", {})
    base = settings.BPM.get("PUBLIC_URL", "").rstrip("/")
    title = str(data.get("title") or event.get("type"))
    link = f"{base}{data['link']}" if data.get("link") else ""
    if fmt == "slack":
        text = slack_escape(title)
        return {"text": f"{text} <{slack_escape(link)}|open>" if link else text}
    if fmt == "teams":
        title = teams_escape(title)
        card = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title,
            "title": title,
            "text": event.get("type", ""),
        }
        if link:
            card["potentialAction"] = [
                {"@type": "OpenUri", "name": "Open", "targets": [{"os": "default", "uri": link}]}
            ]
        return card
    return None
