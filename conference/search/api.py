"""Search JSON API: GET /api/search, the same search as the /search page (the same scope per
role, the same rank), as plain text with the matched pieces marked."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Router, get
from litestar.params import Parameter

from conference.accounts.actor import CurrentActor
from conference.errors import ValidationFailed
from conference.i18n import gettext as _
from conference.roles import PEOPLE
from conference.search import services
from conference.web.apikit import READ_ERRORS, PageNo, PerPage, answers
from conference.web.listing import PER_PAGE

KIND_HELP = _("只查一类：item 议题、resolution 议定事项、report 工作进展、minutes 会议纪要、meeting 会议")


class Segment(msgspec.Struct):
    text: str
    match: bool  # the piece is an occurrence of a search term


class HitOut(msgspec.Struct):
    kind: str
    id: int  # the record's id (item, resolution, task report, minutes version, meeting)
    url: str  # its page
    title: str
    title_segments: list[Segment]
    snippet: str
    snippet_segments: list[Segment]
    context: str
    label: str
    at: dt.datetime | None
    score: int


class GroupOut(msgspec.Struct):
    kind: str
    label: str
    total: int
    hits: list[HitOut]


class SearchOut(msgspec.Struct):
    q: str
    terms: list[str]
    kind: str | None
    total: int
    page: int
    per_page: int
    groups: list[GroupOut]


def _segments(parts: list[tuple[str, bool]]) -> list[Segment]:
    return [Segment(text=text, match=hit) for text, hit in parts]


@get("/", opt={"roles": PEOPLE}, tags=["搜索"], summary=_("全文搜索"), responses=answers(SearchOut, READ_ERRORS))
async def search(
    actor: CurrentActor,
    q: Annotated[str, Parameter(max_length=200, description=_("搜索词；多个词用空格分开，须全部出现"))] = "",
    kind: Annotated[str | None, Parameter(description=KIND_HELP)] = None,
    page: PageNo = 1,
    per_page: PerPage = PER_PAGE,
) -> SearchOut:
    """在议题（名称、情况说明、研究结果、来源工单编号）、议定事项、工作进展、会议纪要和会议中查找，范围与各列表相同。
    不指定 kind 时每类返回最相关的前 5 条；指定 kind 时返回该类的一页。每类均给出命中总数。"""
    if kind is not None and kind not in services.KINDS:
        raise ValidationFailed({"kind": _("类别应为 item、resolution、report、minutes 或 meeting 之一。")})
    results = await services.search(actor, q, kind or "", page, per_page)
    groups = [GroupOut(kind=g.kind, label=g.label, total=g.total, hits=[HitOut(
        kind=h.kind, id=h.ref, url=h.url, title="".join(t for t, _m in h.heading), title_segments=_segments(h.heading),
        snippet="".join(t for t, _m in h.snippet), snippet_segments=_segments(h.snippet), context=h.context,
        label=h.label, at=h.at, score=h.score) for h in g.hits]) for g in results.groups]
    return SearchOut(q=results.q, terms=results.terms, kind=results.kind or None, total=results.total,
                     page=results.page, per_page=results.per_page, groups=groups)


ROUTES: list[Any] = [Router(path="/api/search", route_handlers=[search])]
