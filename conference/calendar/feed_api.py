"""The calendar feed token of the caller's unit over the JSON API (issue 15 item 1), as the
/calendar/feed page: GET tells whether an address is in use (the address itself is never shown again,
only its hash is stored), POST makes a new one (shown in this answer only; every earlier address stops
working at once), DELETE revokes it. Member unit accounts only, through conference.calendar.feeds,
which writes the audit trail (issue_feed, revoke_feed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Response, Router, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from conference.accounts.actor import CurrentActor
from conference.calendar import feeds
from conference.i18n import gettext as _
from conference.roles import Role
from conference.settings import get_settings
from conference.web.apikit import READ_ERRORS, WRITE_ERRORS

UNIT = (Role.UNIT,)
TAGS = ["日历订阅"]
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}  # as the page


class FeedUrls(msgspec.Struct):
    https: str  # for web calendars ("从网址添加")
    webcal: str  # most calendar programs subscribe with one click


class FeedOut(msgspec.Struct):
    active: bool  # an address is in use
    created_at: dt.datetime | None
    masked_url: str | None  # where the feed lives, the secret part hidden
    urls: FeedUrls | None  # only in the answer to POST: the address is shown this once
    message: str


class RevokedOut(msgspec.Struct):
    revoked: int  # addresses stopped (0 when none was in use)
    message: str


def masked_url() -> str:
    return f"{get_settings().base_url.rstrip('/')}/feeds/********.ics"


def _ok(model: Any, example: Any, description: str, status: int = 200) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(model, description=description, generate_examples=False,
                                 examples=[Example(summary=_("示例"), value=example)])}


async def _state(unit_id: int, urls: dict[str, str] | None, message: str) -> FeedOut:
    current = await feeds.active_feed(unit_id)
    return FeedOut(active=current is not None, created_at=current["created_at"] if current else None,
                   masked_url=masked_url() if current else None,
                   urls=FeedUrls(**urls) if urls else None, message=message)


@get("/", opt={"roles": UNIT}, tags=TAGS, summary=_("本单位的日历订阅地址"),
     responses={**READ_ERRORS, **_ok(FeedOut, {"active": True, "created_at": "2026-12-05T09:30:00+08:00",
                                              "masked_url": "https://lxhy.example.gov.cn/feeds/********.ics", "urls": None,
                                              "message": "本单位的订阅地址正在使用。"}, _("订阅地址是否在用"))})
async def get_feed(actor: CurrentActor) -> Response[FeedOut]:
    """与“日历订阅”页面相同：只说明是否有在用的地址和生成时间；地址本身只在生成时显示一次（只保存其摘要），遗失请重新生成。"""
    current = await feeds.active_feed(actor.unit_id or 0)
    message = _("本单位的订阅地址正在使用。为安全起见，地址只在生成时显示一次；如已遗失，请重新生成。") if current \
        else _("本单位尚未生成订阅地址，或原地址已停用。")
    return Response(await _state(actor.unit_id or 0, None, message), headers=PRIVATE)


@post("/", opt={"roles": UNIT}, tags=TAGS, summary=_("生成或更换日历订阅地址"), status_code=201,
      responses={**WRITE_ERRORS, **_ok(FeedOut, {
          "active": True, "created_at": "2026-12-05T09:30:00+08:00",
          "masked_url": "https://lxhy.example.gov.cn/feeds/********.ics",
          "urls": {"https": "https://lxhy.example.gov.cn/feeds/3q2-7wX….ics", "webcal": "webcal://lxhy.example.gov.cn/feeds/3q2-7wX….ics"},
          "message": "已生成新的订阅地址，原地址已停用。请在日历软件中改用新地址。"}, _("新的订阅地址（只显示这一次）"), 201)})
async def rotate_feed(actor: CurrentActor) -> Response[FeedOut]:
    """生成新的订阅地址，原地址立即停用（无需请求体）。urls 只在本次答复中出现，请立即保存。"""
    had = await feeds.active_feed(actor.unit_id or 0)
    token = await feeds.issue_feed(actor)  # 403 unless a unit account; audited
    message = _("已生成新的订阅地址，原地址已停用。请在日历软件中改用新地址。") if had else _("已生成订阅地址。")
    return Response(await _state(actor.unit_id or 0, feeds.feed_urls(token), message), status_code=201, headers=PRIVATE)


@delete("/", opt={"roles": UNIT}, tags=TAGS, summary=_("停用日历订阅地址"), status_code=200,
        responses={**WRITE_ERRORS, **_ok(RevokedOut, {"revoked": 1, "message": "订阅地址已停用。"}, _("已停用"))})
async def revoke_feed(actor: CurrentActor) -> RevokedOut:
    """停用后已订阅的日历不再更新（原地址答复 404）；没有在用的地址时 revoked 为 0。"""
    count = await feeds.revoke_feed(actor)
    return RevokedOut(revoked=count, message=_("订阅地址已停用。") if count else _("当前没有可停用的订阅地址。"))


ROUTES: list[Any] = [Router(path="/api/calendar/feed", route_handlers=[get_feed, rotate_feed, revoke_feed])]
