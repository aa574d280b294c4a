"""Database aggregates the figures need: seconds between two timestamps and percentiles.

PostgreSQL computes both in the query (``EXTRACT(EPOCH ...)``, ``percentile_cont``). The
demo's SQLite has no percentile function: there the percentile is None in the query and
``selectors`` fills it from the values (small demo data; the product runs on PostgreSQL).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Aggregate, F, FloatField, Func


def seconds_between(start: str, end: str) -> Func:
    """``end - start`` in seconds, as a float expression."""
    if connection.vendor == "postgresql":
        return Func(F(end) - F(start), template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField())
    return Func(
        F(end), F(start), template="((julianday(%(expressions)s)) * 86400.0)", arg_joiner=") - julianday(",
        output_field=FloatField(),
    )  # fmt: skip


class Percentile(Aggregate):
    """``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`` (continuous: interpolated)."""

    function = "percentile_cont"
    name = "Percentile"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return "NULL", []


def percentile(values: list[float], fraction: float) -> float | None:
    """percentile_cont in Python, for SQLite (same interpolation as PostgreSQL)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
