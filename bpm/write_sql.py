"""The statement a command's buffered writes go out as (bpm/writes.py keeps the buffer).

``WITH c0 AS (INSERT ... RETURNING id), c1 AS (UPDATE ...), ... SELECT array(SELECT id FROM
c0), ...``, sent through a prepared, server-bound cursor (bpm/prepared.py). Inserts and
updates are built here the way Django's compiler builds them (``pre_save``,
``get_db_prep_save``), without the compiler: on the engine's path it cost more than the rows.
A field with its own placeholder, or an expression as a value, still goes through Django.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import sql
from django.db.models.expressions import RawSQL

from bpm import prepared


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


def send(ops: list) -> None:
    """One statement for the buffered operations (``writes._Op``); new rows get their keys."""
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


def _delete(db, statement: _Statement, op) -> None:
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
    for relation in reverse_relations(model):
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


def where(db, model: type[models.Model], where: dict) -> tuple[str, list]:
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


def queryset(model: type[models.Model], where: dict) -> models.QuerySet:
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


def reverse_relations(model: type[models.Model]):
    return [
        r
        for r in model._meta.get_fields(include_hidden=True)
        if r.auto_created and not r.concrete and (r.one_to_one or r.one_to_many)
    ]
