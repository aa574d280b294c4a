"""ISO 8601 durations (P2D, PT4H, P1M), for every layer: due dates, timers, dashboards."""

from __future__ import annotations

import re

from dateutil.relativedelta import relativedelta

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> relativedelta | None:
    """An ISO 8601 duration as a relativedelta; None when it is not one."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT"):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return relativedelta(
        years=int(parts.get("years", 0)),
        months=int(parts.get("months", 0)),
        weeks=int(parts.get("weeks", 0)),
        days=int(parts.get("days", 0)),
        hours=int(parts.get("hours", 0)),
        minutes=int(parts.get("minutes", 0)),
        seconds=parts.get("seconds", 0),
    )
