"""A cheaper attribute check in Piccolo's ForeignKey (piccolo 1.x, columns/column_types.py).

`ForeignKey.__getattribute__` asks `name not in dir(self)` for every public attribute read on a
foreign key: each join in a select (`AgendaItem.conference.name`) and each join Piccolo writes
(`key.table_alias` in Select._get_joins) sorts the few hundred names of the column and its classes,
about 15 µs a time and 30 or more times a list page. `dir` of an object that defines neither
`__dir__` nor `__slots__` (Piccolo's columns define neither) lists the names of its `__dict__` and
of the classes of its type's MRO; `AttributeNames` answers `in` over the same names without
building and sorting the list. It replaces `dir` in that module only, where the check above is its
one use (piccolo 1.38)."""

from __future__ import annotations

from typing import Any

from piccolo.columns import column_types


class AttributeNames:
    """`name in AttributeNames(obj)` is `name in dir(obj)` for an object without __dir__."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __contains__(self, name: object) -> bool:
        if name in object.__getattribute__(self.obj, "__dict__"):
            return True
        return any(name in cls.__dict__ for cls in type(self.obj).__mro__)


def install() -> None:
    column_types.dir = AttributeNames  # type: ignore[attr-defined]  # module global: shadows the builtin there
