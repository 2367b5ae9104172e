"""Piccolo QueryStrings compiled by a shorter walk than Piccolo's own (piccolo 1.x querystring.py).

`QueryString.compile_string` bundles a statement first: for every piece of every template it makes
a `Fragment` object, and it splits each template again on every call (`Formatter().parse`); a page's
report of nested fragments (joined conditions, bound id lists) spends ~100 µs there. `compile_query`
walks the same tree, with each template split once and kept: the same SQL text and the same values
in the same order, for both placeholder styles (`?` on SQLite, `$n` on PostgreSQL). The rules it
keeps from Piccolo's bundle: the i-th piece of a template is followed by the i-th argument (a
nested QueryString is walked in its place, any other value is bound); arguments beyond the pieces
are dropped and pieces beyond the arguments are plain text; a statement frozen with `freeze()`
gives its frozen result.

`compiled(query)` is `query` as an engine runs it (run_querystring asks it for compile_string), so
every read through conference.db.fetch takes the shorter walk."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import string
import uuid
from collections.abc import Sequence
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.querystring import QueryString

_parse = string.Formatter().parse


# Templates are constants of the code (a condition, an `IN` list of n placeholders, n <= MANY_IDS),
# so the kept splits stay few; the bound keeps even an unforeseen stream of templates in check.
@functools.lru_cache(maxsize=4096)
def _pieces(template: str) -> tuple[str, ...]:
    """The literal text around a template's placeholders, as QueryString.bundle splits it."""
    return tuple(literal for literal, *_rest in _parse(template))


# Values of these types are never QueryStrings: no isinstance() for them, which is slow for
# QueryString (an ABC: each call goes through ABCMeta.__instancecheck__, ~0.4 µs, on every value).
_SCALARS: frozenset[type] = frozenset({str, int, float, bool, bytes, type(None), dt.datetime, dt.date, dt.time,
                                       dt.timedelta, decimal.Decimal, uuid.UUID, list, tuple, dict})


def _walk(query: QueryString, sql: list[str], values: list[Any], numbered: bool) -> None:
    args = query.args
    count = len(args)
    for i, piece in enumerate(_pieces(query.template)):
        sql.append(piece)
        if i < count:
            value = args[i]
            kind = type(value)
            nested = _NESTED.get(kind)
            if nested is None:
                nested = _nested(kind)
            if nested:
                _walk(value, sql, values, numbered)
            else:
                values.append(value)
                sql.append(f"${len(values)}" if numbered else "?")


# Whether a value of a type is a fragment to walk, by type: an isinstance() per value is slow for
# QueryString (an ABC), and a statement's values are of a few types (text, numbers, dates, the state
# enums, fragments). Types come from the code, not from input; the bound is a safeguard.
_NESTED: dict[type, bool] = {kind: False for kind in _SCALARS}
KINDS_KEPT = 1000


def _nested(kind: type) -> bool:
    nested = issubclass(kind, QueryString)
    if len(_NESTED) < KINDS_KEPT:
        _NESTED[kind] = nested
    return nested


def compile_query(query: QueryString, engine_type: str = "postgres") -> tuple[str, list[Any]]:
    """What `query.compile_string(engine_type)` returns: the SQL text and its values."""
    frozen: tuple[str, list[Any]] | None = query._frozen_compiled_strings
    if frozen is not None:
        return frozen
    sql: list[str] = []
    values: list[Any] = []
    _walk(query, sql, values, numbered=engine_type in ("postgres", "cockroach"))
    if engine_type not in ("postgres", "cockroach", "sqlite"):
        raise ValueError(f"Engine type not recognised: {engine_type}")
    return "".join(sql), values


class SQL(QueryString):
    """The QueryString raw statements are built of (conference.db.fetch runs them; reports compose
    them): Piccolo's QueryString, the same attributes and SQL, cheaper to make and compiled by
    compile_query. Piccolo's __init__ checks every value against Column (an import on each call)
    and QueryString (an ABC: ~0.4 µs an isinstance): a home page makes ~50 fragments. Here plain
    values and fragments are known by their exact type, and anything else (a Column) takes
    Piccolo's way."""

    __slots__ = ()

    def process_args(self, args: Sequence[Any]) -> tuple[Sequence[Any], Sequence[Any]]:
        """QueryString.process_args: Columns made names, the columns of nested QueryStrings gathered."""
        columns: list[Any] = []
        for arg in args:
            kind = type(arg)
            if kind in _SCALARS:
                continue
            if kind in _FRAGMENTS:
                columns.extend(arg.columns)
                continue
            return super().process_args(args)
        return list(args), columns

    def compile_string(self, engine_type: str = "postgres") -> tuple[str, list[Any]]:
        return compile_query(self, engine_type)


class _Wrapper(SQL):
    """`query` inside an SQL: its template "{}" adds no text. Made without QueryString.__init__,
    whose work (Column arguments made names, the columns gathered) the wrapped query has done: the
    same attributes, set directly (~1 µs less a statement)."""

    __slots__ = ()

    def __init__(self, query: QueryString) -> None:  # QueryString.__init__ not called: see above
        self.template = "{}"
        self.args = [query]
        self.columns = query.columns
        self.query_type = query.query_type
        self.table = query.table
        self._frozen_compiled_strings = None
        self._alias = None


# The fragment types known without isinstance() (see SQL): Piccolo's own, and ours.
_FRAGMENTS = frozenset({QueryString, SQL, _Wrapper})


def compiled(query: QueryString) -> QueryString:
    """`query` as the engine should run it, compiled by compile_query, with the query's type and
    table (which the engines read); str() of it (the engines' query log) is the query's text. A
    frozen query is left as it is (Piccolo's compile_string gives its frozen result)."""
    if isinstance(query, SQL) or query._frozen_compiled_strings is not None:
        return query
    return _Wrapper(query)


class RawWhere(WhereRaw):
    """Piccolo's WhereRaw (a condition for `.where()`, combinable with & and |) whose SQL is an
    SQL: the same text and values, made without Piccolo's checks of every value (an id list of a
    visibility rule on every request)."""

    __slots__ = ()

    def __init__(self, sql: str, *args: Any) -> None:  # WhereRaw.__init__'s one step, with SQL
        self.querystring = SQL(sql, *args)
