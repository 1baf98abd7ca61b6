"""The single-row statements services write money and status with (the write rule: README, design),
sent without the ORM's compiler.

Compiling a statement through the ORM costs more than the round trip it makes. Measured alone in
bench/order_place.py's placements (2026-12-02, alternating slices in one run), the ORM's insert,
update and locking read in their place cost 30-70 %, 30-40 % and 80-120 % more CPU per order and
1-56 %, 1-39 % and 6-59 % of the rate. These helpers send the same statements; values are still
prepared by the model's own fields, so time zones, decimals, JSON and auto_now stamps are Django's.
No model signals are sent: nothing in the project listens to them.
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connections


@functools.cache
def _insert_sql(model) -> tuple[list, str]:
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    return fields, f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"


def row_insert(instance):
    """INSERT a new model instance, set its primary key from the database and return it."""
    meta = instance._meta
    fields, sql = _insert_sql(meta.model)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        db = cursor.db
        cursor.execute(sql, [field.get_db_prep_save(field.pre_save(instance, True), db) for field in fields])
        instance.pk = db.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    instance._state.adding = False
    instance._state.db = db.alias
    return instance


def row_update(instance, field_names: list[str]) -> None:
    """UPDATE these fields of the instance's row (what save(update_fields=...) sends)."""
    meta = instance._meta
    fields = [meta.get_field(name) for name in field_names]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        db = cursor.db
        assignments = ", ".join(f"{db.ops.quote_name(field.column)} = %s" for field in fields)
        values = [field.get_db_prep_save(field.pre_save(instance, False), db) for field in fields]
        cursor.execute(
            f"UPDATE {db.ops.quote_name(meta.db_table)} SET {assignments} WHERE {db.ops.quote_name(meta.pk.column)} = %s",
            [*values, instance.pk],
        )


def row_add(model, *, key: dict, add: dict) -> None:
    """Add `add` to the counters of the row `key` names, inserting it if missing, in one statement
    (an upsert on the unique key `key` covers): the sums a summary row keeps. Writers of one row queue
    on its lock until they commit, so no two insert it."""
    meta = model._meta
    values = {**key, **add}
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        db = cursor.db
        quote = db.ops.quote_name
        columns = {field.name: quote(field.column) for field in fields}
        row = [field.get_db_prep_save(values.get(field.name, field.get_default()), db) for field in fields]
        insert = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns.values())}) VALUES ({', '.join(['%s'] * len(fields))})"
        )
        if db.vendor == "mysql":
            sums = ", ".join(f"{columns[name]} = {columns[name]} + VALUES({columns[name]})" for name in add)
            cursor.execute(f"{insert} ON DUPLICATE KEY UPDATE {sums}", row)
        else:
            sums = ", ".join(f"{columns[name]} = {columns[name]} + excluded.{columns[name]}" for name in add)
            conflict = ", ".join(columns[name] for name in key)
            cursor.execute(f"{insert} ON CONFLICT ({conflict}) DO UPDATE SET {sums}", row)


def row_lock_sql() -> str:
    """What select_for_update() appends on this backend: FOR UPDATE, or nothing where the
    transaction itself locks (SQLite's IMMEDIATE transactions)."""
    db = connections[DEFAULT_DB_ALIAS]
    return db.ops.for_update_sql() if db.features.has_select_for_update else ""


@functools.cache
def _row_reader(model, columns: tuple[str, ...]):
    """How a row with these columns becomes an instance, worked out once per statement shape: each
    field's position, the columns whose values the backend or the field converts, and the extra
    columns."""
    db = connections[DEFAULT_DB_ALIAS]
    position = {column: index for index, column in enumerate(columns)}
    fields = model._meta.concrete_fields
    converted = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        if db.ops.get_db_converters(column) or column.get_db_converters(db):
            converted.append((position[field.column], column))
    field_columns = {field.column for field in fields}
    extras = [(column, index) for column, index in position.items() if column not in field_columns]
    return [position[field.column] for field in fields], converted, extras


def row_get(model, sql: str, params):
    """The instance a SELECT of one row with all the model's columns finds, extra columns set as
    attributes, like QuerySet.get() (what QuerySet.raw() does, minus its per-call set-up)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        db = cursor.db
        cursor.execute(sql, params)
        row = cursor.fetchone()
        columns = tuple(column[0] for column in cursor.description)
    if row is None:
        raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
    positions, converted, extras = _row_reader(model, columns)
    row = list(row)
    for index, column in converted:  # this connection's converters, as the ORM applies them
        for converter in db.ops.get_db_converters(column) + column.get_db_converters(db):
            row[index] = converter(row[index], column, db)
    instance = model.from_db(db.alias, None, [row[index] for index in positions])
    for column, index in extras:
        setattr(instance, column, row[index])
    return instance
