"""The channels a delivery goes out through (email, signed webhooks, chat), and how a send fails."""

from __future__ import annotations


class _RetryLater(Exception):
    """The channel could not deliver now (receiver down, 5xx, 429): try again later."""

    def __init__(self, message: str, after: float | None = None):
        super().__init__(message)
        self.after = after


class _Gone(Exception):
    """The channel will never deliver this (a refused address, 410): a dead letter at once."""
