"""Search, sort and pagination for long lists, shared by every list page and API list endpoint."""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import And, Or, Where, WhereRaw
from piccolo.table import Table

PER_PAGE = 20
MAX_PER_PAGE = 200


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
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    def url(self, **changes: Any) -> str:
        """The query string of this list with some parameters changed (for pager and sort links)."""
        params: dict[str, Any] = {"q": self.q, "sort": self.sort, "desc": "1" if self.desc else "", "page": self.page}
        params.update(self.extra)
        params.update(changes)
        return "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def sort_url(self, key: str) -> str:
        return self.url(sort=key, desc="" if (self.sort == key and self.desc) else ("1" if self.sort == key else ""), page=1)


def _int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(value or default), lo), hi)
    except ValueError:
        return default


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
    per_page = _int(query.get("per_page"), PER_PAGE, 1, MAX_PER_PAGE)
    condition = where
    term = escape_like(q)
    if term:
        match: Any = None
        for column in search:
            clause = column.ilike(f"%{term}%")
            match = clause if match is None else (match | clause)
        condition = match if condition is None else (condition & match)
    count = table.count()
    select = table.select(*columns)
    if condition is not None:
        count = count.where(condition)
        select = select.where(condition)
    total = await count
    pages = max(1, math.ceil(total / per_page))
    page = _int(query.get("page"), 1, 1, pages)
    rows = await select.order_by(sorts[sort], ascending=not desc).order_by(table._meta.primary_key).limit(per_page).offset((page - 1) * per_page)
    return Page(rows=rows, total=total, page=page, per_page=per_page, q=q, sort=sort, desc=desc)


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
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None
