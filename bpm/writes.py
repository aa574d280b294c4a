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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals, sql
from django.db.models.expressions import RawSQL

from bpm import prepared

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
                _send(chunk)
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
    buffer = _active()
    if buffer is None:
        obj.save(update_fields=names)
        return
    meta = obj._meta
    fields = [meta.get_field(name) for name in names]
    values = [f.pre_save(obj, False) for f in fields]
    if any(
        hasattr(v, "resolve_expression") or hasattr(f, "get_placeholder") for f, v in zip(fields, values, strict=True)
    ):
        queryset = type(obj)._base_manager.filter(pk=obj.pk)
        query = queryset.query.chain(sql.UpdateQuery)
        query.add_update_fields([(f, None, v) for f, v in zip(fields, values, strict=True)])
        buffer.add(_Op("update", type(obj), query=query, tables={meta.db_table}))
        return
    # the statement Django would build, built directly (the compiler costs more than the row)
    db = connections[DEFAULT_DB_ALIAS]
    assignments = ", ".join(f'"{f.column}" = %s' for f in fields)
    text = f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.db_table}"."{meta.pk.column}" = %s'
    params = [f.get_db_prep_save(v, db) for f, v in zip(fields, values, strict=True)] + [
        meta.pk.get_db_prep_value(obj.pk, db)
    ]
    buffer.add(_Op("update", type(obj), text=(text, params), tables={meta.db_table}))


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
        _queryset(model, where).update(**values)
        return
    db = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    assignments, params = [], []
    for name, value in values.items():
        f = meta.get_field(name)
        if hasattr(value, "resolve_expression") or hasattr(f, "get_placeholder"):
            update(_queryset(model, where), **values)
            return
        if f.is_relation and isinstance(value, models.Model):
            value = value.pk
        assignments.append(f'"{f.column}" = %s')
        params.append(f.get_db_prep_save(value, db))
    condition, condition_params = _where(db, model, where)
    text = f'UPDATE "{meta.db_table}" SET {", ".join(assignments)} WHERE {condition}'
    buffer.add(_Op("update", model, text=(text, params + condition_params), tables={meta.db_table}))


def delete_rows(model: type[models.Model], where: dict) -> None:
    """``delete`` of the rows matching ``where`` (see ``_where``), cascades included, the
    statement built without the ORM."""
    buffer = _active()
    tree = _cascade(model) if buffer is not None else None
    if buffer is None or tree is None:
        delete(_queryset(model, where))
        return
    db = connections[DEFAULT_DB_ALIAS]
    condition, params = _where(db, model, where)
    text = f'DELETE FROM "{model._meta.db_table}" WHERE {condition}'
    buffer.add(_Op("delete", model, text=(text, params), tables=tree))


def _where(db, model: type[models.Model], where: dict) -> tuple[str, list]:
    """Conditions joined by AND: ``"field": value`` (a related row or its key for a foreign key),
    ``"field__in": values``, or ``("field", "field"): [(value, value), ...]`` for row values."""
    meta = model._meta
    parts, params = [], []

    def field(name: str):
        return meta.pk if name == "pk" else meta.get_field(name)

    def prep(name: str, value):
        f = field(name)
        if f.is_relation:
            value = value.pk if isinstance(value, models.Model) else value
            f = f.target_field
        return f.get_db_prep_value(value, db)

    def column(name: str) -> str:
        return f'"{meta.db_table}"."{field(name).column}"'

    for key, value in where.items():
        if isinstance(key, tuple):
            rows = list(value)
            marks = ", ".join("(" + ", ".join(["%s"] * len(key)) + ")" for _ in rows)
            parts.append(f"({', '.join(column(k) for k in key)}) IN ({marks})" if rows else "FALSE")
            params += [prep(k, v) for row in rows for k, v in zip(key, row, strict=True)]
        elif key.endswith("__in"):
            name, values = key[: -len("__in")], list(value)
            parts.append(f"{column(name)} IN ({', '.join(['%s'] * len(values))})" if values else "FALSE")
            params += [prep(name, v) for v in values]
        elif value is None:
            parts.append(f"{column(key)} IS NULL")
        else:
            parts.append(f"{column(key)} = %s")
            params.append(prep(key, value))
    return " AND ".join(parts) or "TRUE", params


def _queryset(model: type[models.Model], where: dict) -> models.QuerySet:
    """The same rows as a queryset, for writes that go out through the ORM."""
    condition = models.Q()
    for key, value in where.items():
        if isinstance(key, tuple):
            pairs = models.Q(pk__in=[])
            for row in value:
                pairs |= models.Q(**dict(zip(key, row, strict=True)))
            condition &= pairs
        else:
            condition &= models.Q(
                **{key if value is not None else f"{key}__isnull": value if value is not None else True}
            )
    return model._base_manager.filter(condition)


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
    for relation in _reverse_relations(model):
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


def _reverse_relations(model: type[models.Model]):
    return [
        r
        for r in model._meta.get_fields(include_hidden=True)
        if r.auto_created and not r.concrete and (r.one_to_one or r.one_to_many)
    ]


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


class _Statement:
    def __init__(self) -> None:
        self.ctes: list[str] = []
        self.params: list = []
        self.inserted: list[tuple[str, list[models.Model]]] = []  # CTE name, rows in order
        self.name_of: dict[int, str] = {}  # id(row) -> the single-row CTE that inserts it

    def cte(self, sql_text: str, params) -> str:
        name = f"c{len(self.ctes)}"
        self.ctes.append(f"{name} AS ({sql_text})")
        self.params.extend(params)
        return name


def _send(ops: list[_Op]) -> None:
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs a lookup per attribute
    statement = _Statement()
    parents = {id(f.get_cached_value(o)) for op in ops for o in op.objs for f in _pending_fks(o)}
    for op in ops:
        if op.kind == "insert":
            alone = [o for o in op.objs if id(o) in parents]
            together = [o for o in op.objs if id(o) not in parents]
            for obj in alone:
                statement.name_of[id(obj)] = _insert(db, statement, [obj])
            if together:
                _insert(db, statement, together)
        elif op.kind == "update":
            text, params = op.text or op.query.get_compiler(connection=db).as_sql()
            statement.cte(text, params)
        else:
            _delete(db, statement, op)
    columns = ", ".join(f'array(SELECT "{rows[0]._meta.pk.column}" FROM {name})' for name, rows in statement.inserted)
    result = prepared.fetchone(f"WITH {', '.join(statement.ctes)} SELECT {columns or '1'}", statement.params)
    for (_, rows), keys in zip(statement.inserted, result if statement.inserted else (), strict=True):
        for obj, key in zip(rows, keys, strict=True):
            obj.pk = key
            obj._state.adding, obj._state.db = False, db.alias
    for op in ops:  # rows that pointed at rows new in this statement now hold their keys
        for obj in op.objs:
            for f in obj._meta.concrete_fields:
                if f.is_relation and f.is_cached(obj) and getattr(obj, f.attname) is None:
                    related = f.get_cached_value(obj)
                    if related is not None:
                        obj.__dict__[f.attname] = related.pk


def _pending_fks(obj: models.Model) -> list:
    return [
        f
        for f in obj._meta.concrete_fields
        if f.is_relation
        and f.is_cached(obj)
        and f.get_cached_value(obj) is not None
        and f.get_cached_value(obj).pk is None
    ]


def _insert(db, statement: _Statement, objs: list[models.Model]) -> str:
    meta = objs[0]._meta
    restore = []
    for obj in objs:
        for f in meta.concrete_fields:
            if not (f.is_relation and f.is_cached(obj)):
                continue
            related = f.get_cached_value(obj)
            if related is None:
                continue
            if related.pk is None:  # inserted earlier in this statement
                restore.append((obj, f.attname))  # through __dict__: the descriptor would forget ``related``
                key = RawSQL(f'(SELECT "{related._meta.pk.column}" FROM {statement.name_of[id(related)]})', ())
                obj.__dict__[f.attname] = key
            elif getattr(obj, f.attname) is None:
                obj.__dict__[f.attname] = related.pk
    pk_set = all(o.pk is not None for o in objs)
    fields = [f for f in meta.local_concrete_fields if not f.generated and (pk_set or f is not meta.auto_field)]
    direct = _insert_directly(db, statement, objs, fields)
    if direct is not None:
        for obj, attname in restore:
            obj.__dict__[attname] = None
        name = statement.cte(*direct)
        statement.inserted.append((name, objs))
        return name
    query = sql.InsertQuery(type(objs[0]))
    query.insert_values(fields, objs, raw=False)
    compiler = query.get_compiler(connection=db)
    compiler.returning_fields = [meta.pk]
    [(text, params)] = compiler.as_sql()
    for obj, attname in restore:
        obj.__dict__[attname] = None
    name = statement.cte(text, params)
    statement.inserted.append((name, objs))
    return name


def _insert_directly(db, statement: _Statement, objs: list[models.Model], fields: list) -> tuple[str, list] | None:
    """The INSERT Django's compiler would build, built directly (it costs more than the rows):
    None when a field has its own placeholder or a value is an expression other than the key
    of a row inserted earlier in the statement."""
    if any(hasattr(f, "get_placeholder") for f in fields):
        return None
    rows, params = [], []
    for obj in objs:
        marks = []
        for f in fields:
            value = f.pre_save(obj, True)
            if isinstance(value, RawSQL) and f.is_relation:  # the key of a row new in this statement
                marks.append(value.sql)
                continue
            if hasattr(value, "resolve_expression"):
                return None
            marks.append("%s")
            params.append(f.get_db_prep_save(value, db))
        rows.append(f"({', '.join(marks)})")
    meta = objs[0]._meta
    columns = ", ".join(f'"{f.column}"' for f in fields)
    text = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join(rows)} RETURNING "{meta.db_table}"."{meta.pk.column}"'
    return text, params


def _delete(db, statement: _Statement, op: _Op) -> None:
    """The rows of the operation, then what cascades from them."""
    model = op.model
    if op.text is not None:
        text, params = op.text
    else:
        query = op.query.query.clone()
        query.__class__ = sql.DeleteQuery
        text, params = query.get_compiler(connection=db).as_sql()
    name = statement.cte(f'{text} RETURNING "{model._meta.db_table}"."{model._meta.pk.column}"', params)
    _cascade_from(statement, model, name)


def _cascade_from(statement: _Statement, model: type[models.Model], source: str) -> None:
    for relation in _reverse_relations(model):
        child, fk = relation.related_model, relation.field
        target = fk.target_field.column
        if relation.on_delete is models.DO_NOTHING:
            continue
        pk = model._meta.pk.column
        keys = f'SELECT "{pk}" FROM {source}'
        if target != pk:  # a key to another column: read it from the deleted rows (same snapshot)
            keys = f'SELECT "{target}" FROM "{model._meta.db_table}" WHERE "{pk}" IN ({keys})'
        condition = f'"{fk.column}" IN ({keys})'
        table = child._meta.db_table
        if relation.on_delete is models.SET_NULL:
            statement.cte(f'UPDATE "{table}" SET "{fk.column}" = NULL WHERE {condition}', ())
            continue
        name = statement.cte(f'DELETE FROM "{table}" WHERE {condition} RETURNING "{child._meta.pk.column}"', ())
        _cascade_from(statement, child, name)
