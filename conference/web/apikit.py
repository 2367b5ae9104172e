"""Shared parts of the JSON API for the newer modules: one generic page of results, and the query
and path parameters with explicit markers (FromQuery/FromPath-style `QueryParameter`/`PathParameter`
kwargs), so that every handler declares where each value comes from. The error shape is the one of
conference.api / conference.registry.api (`Error`, READ_ERRORS, WRITE_ERRORS)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import PathParameter, QueryParameter

from conference.i18n import gettext as _
from conference.web.listing import MAX_ID, MAX_PAGE, MAX_PER_PAGE

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    """One page of a list: `items`, the `total` over all pages, and where this page is."""

    items: list[T]
    total: int
    page: int
    per_page: int


IdPath = Annotated[int, PathParameter(ge=1, le=MAX_ID, description=_("记录编号"))]
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
PageQuery = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description=_("页码，从 1 开始；超过末页时返回末页"))]
PerPageQuery = Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE, description=_("每页条数"))]
TextQuery = Annotated[str | None, QueryParameter(max_length=100, description=_("搜索词"))]
