"""Search, sort and pagination for long lists, shared by every list page and API list endpoint."""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import And, Or, Where, WhereRaw
from piccolo.query.mixins import WhereDelegate
from piccolo.querystring import QueryString
from piccolo.table import Table

from conference.db import fetch
from conference.sqlcompile import SQL

PER_PAGE = 20
MAX_PER_PAGE = 200


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows fill (an empty list is one empty page)."""
    return max(1, math.ceil(total / per_page))


@dataclass(frozen=True)
class Paging:
    """Where one page of a list sits: the one pagination rule of every list page and API list.

    `paging` reads page and per_page from a query (unreadable -> page 1 and the default size, past
    the last page -> the last page, more rows than allowed -> the maximum); the rows are then read
    with LIMIT `limit` OFFSET `offset`. The pager shows page `page` of `pages`, with a link back
    when `has_prev` and on when `has_next`; the API's Page[T] carries total, page and per_page."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def limit(self) -> int:
        return self.per_page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paging(total: int, page: object, per_page: object = None, *, default: int = PER_PAGE) -> Paging:
    """The page to show of a list of `total` rows, from the query's page and per_page values (see
    Paging); `per_page=None` (a list whose size is fixed) is `default` rows a page."""
    size = page_size(per_page, default)
    return Paging(page=page_number(page, page_count(total, size)), per_page=size, total=total)


def requested(page: object, per_page: object = None, *, default: int = PER_PAGE) -> Paging:
    """The page asked for before the total is known (a list read with its count in one statement):
    `offset` and `limit` to read it with; `clamped(total)` then gives the page to show."""
    return Paging(page=page_number(page), per_page=page_size(per_page, default), total=0)


def clamped(asked: Paging, total: int) -> Paging:
    """`asked` with the list's total known: past the last page, the last page."""
    return Paging(page=min(asked.page, page_count(total, asked.per_page)), per_page=asked.per_page, total=total)


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    q: str
    sort: str
    desc: bool
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def paging(self) -> Paging:
        return Paging(page=self.page, per_page=self.per_page, total=self.total)

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.paging.has_prev

    @property
    def has_next(self) -> bool:
        return self.paging.has_next

    def url(self, **changes: Any) -> str:
        """The query string of this list with some parameters changed (for pager and sort links)."""
        params: dict[str, Any] = {"q": self.q, "sort": self.sort, "desc": "1" if self.desc else "", "page": self.page}
        params.update(self.extra)
        params.update(changes)
        return "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def sort_url(self, key: str) -> str:
        return self.url(sort=key, desc="" if (self.sort == key and self.desc) else ("1" if self.sort == key else ""), page=1)


MAX_ID = 2**31 - 1  # ids are 32-bit serials: a larger number cannot exist, and PostgreSQL would refuse it
MAX_PAGE = 1_000_000  # far beyond any list; keeps OFFSET = (page - 1) * per_page well inside 64 bits
MIN_YEAR, MAX_YEAR = 2000, 2100  # the years any date filter accepts (see parse_day)


def parse_int(value: object, lo: int, hi: int) -> int | None:
    """The one reader of numeric query-string values: ids, page, per_page, year and the like.

    Only plain ASCII digits count (at most 10 of them, then lo <= n <= hi); anything else -- empty,
    a sign, "1e9", "3.0", "²" or full-width "１２" (which str.isdigit() accepts but int() refuses or
    reads differently), or a number out of range -- gives None. The callers apply one rule to None:

    * pages (HTML): a filter that cannot be read is no filter, as if the parameter were absent (a
      person who edits a link sees the whole list rather than an error page), and a page number or
      page size is clamped into range (see `page_number`); the supervision pages also name the bad
      field beside the form;
    * JSON API: the typed parameters of `conference.registry.api` (RecordId, OptionalId, PageNo,
      PerPage) carry the same bounds, and a value outside them is a 400 naming the field in Chinese.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 10:
            return None
        number = int(text)
    else:
        return None
    return number if lo <= number <= hi else None


def page_number(value: object, pages: int = MAX_PAGE) -> int:
    """A page number for a list page: unreadable -> 1, beyond the last page -> the last page."""
    return min(parse_int(value, 1, 9_999_999_999) or 1, max(1, pages), MAX_PAGE)


def page_size(value: object, default: int = PER_PAGE) -> int:
    """Rows per page for a list page: unreadable -> the default, more than allowed -> the maximum."""
    number = parse_int(value, 1, 9_999_999_999)
    return default if number is None else min(number, MAX_PER_PAGE)


def escape_like(text: str) -> str:
    # Piccolo's LIKE has no ESCAPE clause; wildcards typed by a user are searched as ordinary text
    # by dropping them, which never widens a search into "match everything".
    return text.replace("%", "").replace("_", "")


async def paginate(
    table: type[Table],
    columns: list[Any],
    query: dict[str, str],
    *,
    search: list[Column],
    sorts: dict[str, Column],
    default_sort: str,
    where: Where | And | Or | WhereRaw | None = None,
) -> Page:
    q = (query.get("q") or "").replace("\x00", "").strip()[:100]  # PostgreSQL rejects NUL in text
    sort = query.get("sort") or default_sort
    if sort not in sorts:
        sort = default_sort
    desc = query.get("desc") == "1"
    condition = where
    term = escape_like(q)
    if term:
        match: Any = None
        for column in search:
            clause = column.ilike(f"%{term}%")
            match = clause if match is None else (match | clause)
        condition = match if condition is None else (condition & match)
    order, key = sorts[sort], table._meta.primary_key
    heads = _constant_heads(table, columns, condition, (order, key))
    if heads is None:
        count = table.count()
        select = table.select(*columns)
        if condition is not None:
            count = count.where(condition)
            select = select.where(condition)
        at = paging(await count, query.get("page"), query.get("per_page"))
        rows = await select.order_by(order, ascending=not desc).order_by(key).limit(at.limit).offset(at.offset)
    else:
        select_head, count_head = heads
        filtered = SQL(" WHERE {}", condition.querystring) if condition is not None else SQL("")
        at = paging((await fetch(SQL("{}{}", count_head, filtered)))[0]["count"], query.get("page"),
                    query.get("per_page"))
        rows = await fetch(SQL("{}{}{} LIMIT {} OFFSET {}", select_head, filtered,
                               _order_by(order, key, desc), at.limit, at.offset))
    return Page(rows=rows, total=at.total, page=at.page, per_page=at.per_page, q=q, sort=sort, desc=desc)


# (table, engine type, selected column names) -> the constant SQL Piccolo writes for the list's
# select and count without their conditions: made once, not for every page (conference.agenda.views
# does the same for the item list).
_HEADS: dict[tuple[Any, ...], tuple[QueryString, QueryString]] = {}


def _constant(sql: str) -> QueryString:
    return SQL(sql.replace("{", "{{").replace("}", "}}"))  # braces are text, not placeholders


def piccolo_sql(query: Any, engine_type: str) -> QueryString:
    """The SQL Piccolo writes for a query that binds no value (a select's columns and joins) as a
    constant fragment: made once by a caller that keeps it, composed with bound conditions on every
    request (paginate below; the item list, conference.agenda.views)."""
    sql, args = query.querystrings[0].compile_string(engine_type=engine_type)
    assert not args, "a constant part binds no value"
    return _constant(sql)


def _constant_heads(table: type[Table], columns: list[Any], condition: Any,
                    order: tuple[Column, ...]) -> tuple[QueryString, QueryString] | None:
    """The select's and the count's SQL up to their WHERE, as Piccolo writes them, when the page
    needs no join (every column, condition and order on the table itself); None otherwise, and the
    page runs Piccolo's own queries. The rows are the same: Piccolo returns a select's rows as the
    engine gives them (no JSON loading, no objects, no many-to-many columns here)."""
    for column in (*columns, *order):
        if not isinstance(column, Column) or column._meta.call_chain or column._alias is not None \
                or column._meta.table is not table:
            return None
    if condition is not None:
        delegate = WhereDelegate()
        delegate._where = condition
        if any(getattr(getattr(c, "_meta", None), "call_chain", True) for c in delegate.get_where_columns()):
            return None
    kind = table._meta.db.engine_type
    key = (table, kind, tuple(c._meta.name for c in columns))
    found = _HEADS.get(key)
    if found is None:
        found = _HEADS[key] = (piccolo_sql(table.select(*columns), kind), piccolo_sql(table.count(), kind))
    return found


def _order_by(order: Column, key: Column, desc: bool) -> QueryString:
    """Piccolo's ORDER BY for order_by(order, ascending=not desc).order_by(key)."""
    return _constant(f" ORDER BY {order._meta.get_full_name(with_alias=False)} {'DESC' if desc else 'ASC'}, "
                     f"{key._meta.get_full_name(with_alias=False)} ASC")


MIN_DAY, MAX_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def parse_day(value: object) -> dt.date | None:
    """A date filter from a query string; unreadable or absurd dates (year 9999 would overflow
    date arithmetic) count as no filter rather than an error page."""
    if not isinstance(value, str) or not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if MIN_DAY <= day <= MAX_DAY else None


def parse_id(value: object) -> int | None:
    """A record id from a query string or form; anything that is not one counts as absent."""
    return parse_int(value, 1, MAX_ID)
