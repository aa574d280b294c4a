"""Writes of one command sent to PostgreSQL as a single statement.

Inside ``deferred()`` (opened by the engine around the end of every command on an instance)
the inserts, updates and deletes made through this module wait in a buffer, and go out
together as one statement of data-modifying CTEs: ``WITH c0 AS (INSERT ... RETURNING id),
c1 AS (UPDATE ...), ... SELECT array(SELECT id FROM c0), ...``. A row may point at a row
inserted in the same statement (its foreign key becomes ``(SELECT id FROM cN)``); new rows get
their primary keys when the statement returns.

Nothing changes in what a command does, only how many statements carry it:

- any other statement (a read, an ORM write, a savepoint) sends the buffer first, so reads
  see every earlier write and the order of writes holds; ``ROLLBACK TO SAVEPOINT`` drops what
  was buffered since the savepoint instead; the scope sends what is left before it closes;
- all parts of one statement see the same snapshot, so a second change to a table already
  changed in the buffer, an insert after an update or delete of the same table, and a write
  whose condition reads a changed table send the buffer first;
- a delete follows the foreign keys that cascade (or set null) to the rows it removes, as
  Django's collector does; a model with delete signals, or any other ``on_delete``, is deleted
  through the ORM instead;
- outside a transaction, or on SQLite, every write goes out at once through the ORM.

The statement itself is built and sent by bpm/write_sql.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals, sql

from bpm import write_sql

# One statement carries at most this many inserted rows; more go in further statements.
ROWS_PER_STATEMENT = 500


@dataclass
class _Op:
    kind: str  # insert, update, delete
    model: type[models.Model]
    objs: list = field(default_factory=list)  # insert: the rows
    query: object = None  # update: an UpdateQuery; delete: the queryset
    text: tuple[str, list] | None = None  # update, delete: the statement when built without the ORM
    tables: set[str] = field(default_factory=set)  # tables the statement reads or changes


@dataclass
class _Buffer:
    ops: list[_Op] = field(default_factory=list)
    changed: dict[str, set[str]] = field(default_factory=dict)  # table -> kinds of pending change
    depth: int = 0
    sending: bool = False

    def add(self, op: _Op) -> None:
        if self._conflicts(op):
            self.send()
        self.ops.append(op)
        self.changed.setdefault(op.model._meta.db_table, set()).add(op.kind)
        if op.kind == "delete":  # and every table its cascade reaches
            for table in op.tables:
                self.changed.setdefault(table, set()).add("delete")

    def _conflicts(self, op: _Op) -> bool:
        own = self.changed.get(op.model._meta.db_table, set())
        if op.kind == "insert":
            return bool(own - {"insert"})
        return any(self.changed.get(table) for table in op.tables | {op.model._meta.db_table})

    def drop(self) -> None:
        self.ops, self.changed = [], {}

    def send(self) -> None:
        if not self.ops or self.sending:
            return
        ops = self.ops
        self.drop()
        self.sending = True
        try:
            for chunk in _chunks(ops):
                write_sql.send(chunk)
        finally:
            self.sending = False


def _buffer() -> _Buffer:
    buffer = getattr(connection, "_bpm_writes", None)
    if buffer is None:
        buffer = connection._bpm_writes = _Buffer()
    return buffer


def _active() -> _Buffer | None:
    buffer = getattr(connection, "_bpm_writes", None)
    return buffer if buffer is not None and buffer.depth and connection.in_atomic_block else None


def _before_statement(execute, sql_text, params, many, context):
    buffer = _buffer()
    if buffer.ops and not buffer.sending:
        if sql_text.startswith("ROLLBACK TO SAVEPOINT"):
            buffer.drop()  # buffered after the savepoint (every savepoint statement sends first)
        else:
            buffer.send()
    return execute(sql_text, params, many, context)


@contextmanager
def deferred() -> Iterator[None]:
    """Buffer the writes made through this module until the scope ends (or a statement needs them)."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    buffer = _buffer()
    buffer.depth += 1
    if buffer.depth == 1:
        connection.execute_wrappers.append(_before_statement)
    try:
        yield
        if buffer.depth == 1:
            buffer.send()
    except BaseException:
        if buffer.depth == 1:
            buffer.drop()
        raise
    finally:
        buffer.depth -= 1
        if buffer.depth == 0:
            connection.execute_wrappers.remove(_before_statement)


def flush() -> None:
    """Send what is buffered now (a caller about to use the primary keys of new rows)."""
    buffer = _active()
    if buffer is not None:
        buffer.send()


def insert(objs: Iterable[models.Model]) -> list[models.Model]:
    """Insert new rows of one model (as ``bulk_create``); their primary keys are set once sent."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    buffer = _active()
    if buffer is None:
        return model._base_manager.bulk_create(objs)
    for obj in objs:
        _check_related(obj, buffer)
    for keyed in (True, False):  # rows with and without a primary key go in separate INSERTs
        group = [o for o in objs if (o.pk is not None) == keyed]
        if group:
            buffer.add(_Op("insert", model, objs=group, tables={model._meta.db_table}))
    return objs


def update(queryset: models.QuerySet, **values) -> None:
    """``queryset.update(**values)``; the number of rows is not reported."""
    buffer = _active()
    if buffer is None:
        queryset.update(**values)
        return
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(values)
    buffer.add(_Op("update", queryset.model, query=query, tables=_tables(queryset.query)))


def save_fields(obj: models.Model, names: list[str]) -> None:
    """``obj.save(update_fields=names)`` for a row that exists."""
    if _active() is None:
        obj.save(update_fields=names)
        return
    meta = obj._meta
    update_rows(type(obj), {"pk": obj.pk}, **{name: meta.get_field(name).pre_save(obj, False) for name in names})


def delete(queryset: models.QuerySet) -> None:
    """``queryset.delete()``, cascades included; the number of rows is not reported."""
    buffer = _active()
    tree = _cascade(queryset.model) if buffer is not None else None
    if buffer is None or tree is None:
        if buffer is not None:
            buffer.send()
        queryset.delete()
        return
    buffer.add(_Op("delete", queryset.model, query=queryset, tables=_tables(queryset.query) | tree))


def update_rows(model: type[models.Model], where: dict, **values) -> None:
    """``update`` of the rows matching ``where`` (see ``_where``), the statement built without
    the ORM: the engine's commands send these on every step."""
    buffer = _active()
    if buffer is None:
        write_sql.queryset(model, where).update(**values)
        return
    db = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    assignments, params = [], []
    for name, value in values.items():
        f = meta.get_field(name)
        if hasattr(value, "resolve_expression") or hasattr(f, "get_placeholder"):
            update(write_sql.queryset(model, where), **values)
            return
        if f.is_relation and isinstance(value, models.Model):
            value = value.pk
        assignments.append(f'"{f.column}" = %s')
        params.append(f.get_db_prep_save(value, db))
    condition, condition_params = write_sql.where(db, model, where)
    text = f'UPDATE "{meta.db_table}" SET {", ".join(assignments)} WHERE {condition}'
    buffer.add(_Op("update", model, text=(text, params + condition_params), tables={meta.db_table}))


def delete_rows(model: type[models.Model], where: dict) -> None:
    """``delete`` of the rows matching ``where`` (see ``_where``), cascades included, the
    statement built without the ORM."""
    buffer = _active()
    tree = _cascade(model) if buffer is not None else None
    if buffer is None or tree is None:
        delete(write_sql.queryset(model, where))
        return
    db = connections[DEFAULT_DB_ALIAS]
    condition, params = write_sql.where(db, model, where)
    text = f'DELETE FROM "{model._meta.db_table}" WHERE {condition}'
    buffer.add(_Op("delete", model, text=(text, params), tables=tree))


def _tables(query) -> set[str]:
    used = {alias for alias, count in query.alias_refcount.items() if count}  # joins trimmed away count 0
    return {join.table_name for alias, join in query.alias_map.items() if alias in used} | {query.model._meta.db_table}


def _check_related(obj: models.Model, buffer: _Buffer) -> None:
    """As ``save()``: a foreign key to an unsaved row is refused, unless that row waits in the buffer."""
    pending = {id(o) for op in buffer.ops if op.kind == "insert" for o in op.objs}
    for f in obj._meta.concrete_fields:
        if f.is_relation and f.is_cached(obj):
            related = f.get_cached_value(obj)
            if related is not None and related.pk is None and id(related) not in pending:
                raise ValueError(f"save() prohibited to prevent data loss due to unsaved related object '{f.name}'.")


def _cascade(model: type[models.Model], seen: frozenset = frozenset()) -> set[str] | None:
    """The tables a delete of ``model`` rows reaches, or None when the ORM must do it."""
    if model in seen:
        return None
    if any(s.has_listeners(model) for s in (signals.pre_delete, signals.post_delete, signals.m2m_changed)):
        return None
    if any(hasattr(f, "bulk_related_objects") for f in model._meta.private_fields):
        return None
    tables = {model._meta.db_table}
    for relation in write_sql.reverse_relations(model):
        on_delete = relation.on_delete
        if on_delete is models.DO_NOTHING:
            continue
        if on_delete is models.SET_NULL:
            tables.add(relation.related_model._meta.db_table)
            continue
        if on_delete is not models.CASCADE:
            return None
        below = _cascade(relation.related_model, seen | {model})
        if below is None:
            return None
        tables |= below
    return tables


# --- building and sending the statement -------------------------------------------------


def _chunks(ops: list[_Op]) -> Iterator[list[_Op]]:
    chunk, rows = [], 0
    for op in ops:
        if chunk and rows + len(op.objs) > ROWS_PER_STATEMENT:
            yield chunk
            chunk, rows = [], 0
        chunk.append(op)
        rows += len(op.objs)
    if chunk:
        yield chunk
