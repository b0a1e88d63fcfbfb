"""Statements the billing writer runs for every PBX event, compiled once and sent
straight to the driver's cursor.

`Connection.execute` spends more time in SQLAlchemy than SQLite spends running a
one-row INSERT or UPDATE: a cache key walked over the statement, an execution context,
a result object. On the writer's hot path that is half of what an event costs, and
every event of a burst waits for those before it (benchmarks/cutoff.py). A
`PreparedStatement` keeps SQLAlchemy's compiler and its types — the SQL, the bind order
and each column type's own bind conversion are the ones `execute` would use, on any
dialect — and drops the machinery around them.

Only for plain statements: no parameters completed at execution (an IN list, a
callable value) and no Python-side defaults but constants; anything else is refused
when it is compiled, not silently mis-sent. A failing statement raises the driver's
own error (sqlite3's, psycopg's), not SQLAlchemy's wrapper of it: callers catch
`Exception`, as the tracker's savepoint around each event does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnDefault, Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

#: A parameter without a value of its own: `values` must give it.
_REQUIRED = object()


class PreparedStatement:
    """`statement` (an INSERT, UPDATE or DELETE) compiled for `dialect`, with the value
    columns `keys`. A RETURNING row comes as the driver gives it, without SQLAlchemy's
    result types: return ids and plain numbers only."""

    def __init__(self, statement: ClauseElement, dialect: Dialect,
                 keys: Iterable[str] = ()) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
        assert isinstance(compiled, SQLCompiler)    # not a DDL statement's
        self.sql = compiled.string
        # Constant defaults of the columns not given (`default=""` and the like).
        self._defaults: dict[str, Any] = {}
        prefetch = [(column, column.default) for column in compiled.insert_prefetch]
        prefetch += [(column, column.onupdate) for column in compiled.update_prefetch]
        for column, default in prefetch:
            if not isinstance(default, ColumnDefault) or not default.is_scalar:
                raise ValueError(f"{column} has a default computed in Python; execute "
                                 "this statement with Connection.execute")
            self._defaults[column.key] = default.arg
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(f"{self.sql!r} is completed at execution; execute it with "
                             "Connection.execute")
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        if names is None:
            raise ValueError(f"cannot read the parameters of {self.sql!r}")
        # (name given in values, name the driver knows, conversion, value if not given:
        # the column's constant default, the bind's own value, or REQUIRED)
        self._binds: list[tuple[str, str, Callable[[Any], Any] | None, Any]] = []
        for name in names:
            bind = compiled.binds[name]
            if bind.callable is not None:
                raise ValueError(f"{self.sql!r}: the value of {name} is computed at "
                                 "execution; execute it with Connection.execute")
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            wire = compiled.escaped_bind_names.get(name, name)
            fixed = self._defaults.get(name, _REQUIRED if bind.required else bind.value)
            self._binds.append((name, wire, convert, fixed))
        self._positional = compiled.positional

    def parameters(self, values: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        """What the driver gets for `values` (by column or bind name)."""
        converted = []
        for name, _, convert, fixed in self._binds:
            value = values.get(name, fixed)
            if value is _REQUIRED:
                raise KeyError(f"{self.sql!r} needs a value for {name}")
            converted.append(value if convert is None else convert(value))
        if self._positional:
            return converted
        return {wire: value for (_, wire, _, _), value in zip(self._binds, converted,
                                                              strict=True)}

    def run(self, connection: Connection, values: Mapping[str, Any]) -> Any:
        """Execute on `connection` (in its transaction); the driver's cursor, to fetch
        a RETURNING row from."""
        cursor = connection.connection.cursor()
        cursor.execute(self.sql, self.parameters(values))
        return cursor


class PreparedStatements:
    """`statement`'s `PreparedStatement` for each set of value columns, compiled the
    first time it is used."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        # By engine dialect (one in the server) and set of value columns.
        self._compiled: dict[tuple[Dialect, frozenset[str]], PreparedStatement] = {}

    def run(self, connection: Connection, values: Mapping[str, Any],
            keys: Iterable[str] | None = None) -> Any:
        """`values` by column (and bind) name; `keys`: the value columns (default: all
        of `values`' names)."""
        wanted = frozenset(values if keys is None else keys)
        prepared = self._compiled.get((connection.dialect, wanted))
        if prepared is None:
            prepared = PreparedStatement(self.statement, connection.dialect, wanted)
            self._compiled[(connection.dialect, wanted)] = prepared
        return prepared.run(connection, values)
