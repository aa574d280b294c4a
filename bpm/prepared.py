"""The engine's hot statements, bound on the server and prepared once per connection.

Django binds values on the client: every statement is new text to PostgreSQL, parsed and
planned each time, and psycopg quotes every value into it (a 5 KB engine state included).
The few statements every command sends on PostgreSQL (the instance lock, a new instance's
key, the command's writes from bpm/write_sql.py) go instead through a psycopg ``RawCursor``:
values travel as parameters, the text is the same for every command of one shape, and
psycopg prepares it once the connection has run it ``prepare_threshold`` times (settings:
``DATABASE_PREPARE_THRESHOLD``; empty turns preparing off, as pgbouncer in transaction mode
before 1.21 needs). The cursor is Django's own wrapper around it, so the statement is logged,
counted and wrapped like any other.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections

_PLACEHOLDER = re.compile(r"%[s%]")


@lru_cache(maxsize=512)
def numbered(sql_text: str) -> str:
    """Django's ``%s`` placeholders as PostgreSQL's ``$1, $2 …`` (and ``%%`` as ``%``)."""
    counter = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: f"${next(counter)}" if m.group() == "%s" else "%", sql_text)


class _LoggedRawCursor(psycopg.RawCursor):
    """Keeps the statement it sent where Django's query log reads it (``_query``), as
    psycopg's client-side cursor does; its own leaves it unset."""

    def _convert_query(self, query, params=None):
        self._query = super()._convert_query(query, params)
        return self._query


def fetchone(sql_text: str, params: list | tuple) -> tuple | None:
    """Run one statement written with Django's ``%s`` placeholders on PostgreSQL; its first row."""
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs a lookup per attribute
    db.ensure_connection()
    with db._prepare_cursor(_LoggedRawCursor(db.connection)) as cursor:
        cursor.execute(numbered(sql_text), params)
        return cursor.fetchone()
