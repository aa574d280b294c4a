"""What JUEL's ``dateTime()`` gives in Camunda diagrams: a Joda-Time-like date-time."""

from __future__ import annotations

import datetime as _datetime


class JodaDateTime:
    """What JUEL's ``dateTime()`` gives in Camunda diagrams (a Joda-Time DateTime): plus/minus
    periods and ``toDate()``, e.g. ``${dateTime().plusWeeks(1).toDate()}`` for a due date."""

    def __init__(self, moment: _datetime.datetime):
        self.moment = moment

    def _shift(self, **delta) -> JodaDateTime:
        from dateutil.relativedelta import relativedelta

        return JodaDateTime(self.moment + relativedelta(**delta))

    def plusYears(self, n):  # noqa: N802 - Joda's names, as diagrams write them
        return self._shift(years=int(n))

    def plusMonths(self, n):  # noqa: N802
        return self._shift(months=int(n))

    def plusWeeks(self, n):  # noqa: N802
        return self._shift(weeks=int(n))

    def plusDays(self, n):  # noqa: N802
        return self._shift(days=int(n))

    def plusHours(self, n):  # noqa: N802
        return self._shift(hours=int(n))

    def plusMinutes(self, n):  # noqa: N802
        return self._shift(minutes=int(n))

    def plusSeconds(self, n):  # noqa: N802
        return self._shift(seconds=int(n))

    def minusYears(self, n):  # noqa: N802
        return self._shift(years=-int(n))

    def minusMonths(self, n):  # noqa: N802
        return self._shift(months=-int(n))

    def minusWeeks(self, n):  # noqa: N802
        return self._shift(weeks=-int(n))

    def minusDays(self, n):  # noqa: N802
        return self._shift(days=-int(n))

    def minusHours(self, n):  # noqa: N802
        return self._shift(hours=-int(n))

    def minusMinutes(self, n):  # noqa: N802
        return self._shift(minutes=-int(n))

    def minusSeconds(self, n):  # noqa: N802
        return self._shift(seconds=-int(n))

    def toDate(self) -> _datetime.datetime:  # noqa: N802
        return self.moment

    def isoformat(self) -> str:
        return self.moment.isoformat()
