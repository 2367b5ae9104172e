"""A cheaper attribute check in Piccolo's ForeignKey (piccolo 1.x, columns/column_types.py).

`ForeignKey.__getattribute__` asks `name not in dir(self)` for every public attribute read on a
foreign key: each join in a select (`AgendaItem.conference.name`) and each join Piccolo writes
(`key.table_alias` in Select._get_joins) sorts the few hundred names of the column and its classes,
about 15 µs a time and 30 or more times a list page. `dir` of an object that defines neither
`__dir__` nor `__slots__` (Piccolo's columns define neither) lists the names of its `__dict__` and
of the classes of its type's MRO; `AttributeNames` answers `in` over the same names without
building and sorting the list. It replaces `dir` in that module only, where the check above is its
one use (piccolo 1.38).

Also SQLite's INTEGER converter: Piccolo's decodes the bytes to text and goes through Decimal
(so that 1.0 stored in an INTEGER column reads as 1), ~1 µs a value, every integer of every row.
`int(b"12")` reads the common case directly; anything int() refuses gets Piccolo's converter."""

from __future__ import annotations

import sqlite3
from typing import Any

from piccolo.columns import column_types
from piccolo.engine import sqlite as piccolo_sqlite


class AttributeNames:
    """`name in AttributeNames(obj)` is `name in dir(obj)` for an object without __dir__."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __contains__(self, name: object) -> bool:
        if name in object.__getattribute__(self.obj, "__dict__"):
            return True
        return any(name in cls.__dict__ for cls in type(self.obj).__mro__)


def integer_out(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:  # 1.0 or 1.5 in an INTEGER column: Piccolo's rule (through Decimal)
        return piccolo_sqlite.convert_int_out(value)


def install() -> None:
    column_types.dir = AttributeNames  # type: ignore[attr-defined]  # module global: shadows the builtin there
    sqlite3.register_converter("INTEGER", integer_out)
