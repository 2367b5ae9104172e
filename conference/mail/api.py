"""The outbox and dead letters over the JSON API (issue 15 item 1), read only: GET /api/outbox with the
filters of the /outbox page (status, event, search); status=dead lists the dead letters of
/mail/dead-letters. Offices and admins only, in the office's scope (conference.mail.services.scope,
the pages' own); personal links in the bodies are masked as on the page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, get
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from conference.accounts.actor import CurrentActor
from conference.i18n import gettext as _
from conference.mail.services import scope
from conference.notifications.services import mask_links
from conference.notifications.tables import Notification
from conference.roles import OFFICE_ROLES
from conference.web.apikit import READ_ERRORS, Page, PageQuery, PerPageQuery, TextQuery, answers, page_fields, relabelled
from conference.web.listing import PER_PAGE, paginate

LABELS = {"status": _("状态"), "event": _("事件")}
N = Notification


class OutboxMessage(msgspec.Struct):
    id: int
    created_at: dt.datetime
    event: str
    email: str | None
    subject: str
    body: str  # personal links masked
    status: str  # queued | sending | sent | dead
    attempts: int
    sent_at: dt.datetime | None
    last_error: str | None
    unit_name: str | None
    street_name: str | None


@get("/", opt={"roles": OFFICE_ROLES}, tags=["邮件"], summary=_("发件箱与发送失败的邮件"), responses=answers(Page[OutboxMessage], READ_ERRORS))
async def list_outbox(
    actor: CurrentActor,
    status: Annotated[Literal["queued", "sending", "sent", "dead"] | None,
                      QueryParameter(description=_("状态；dead 为发送失败（死信）"))] = None,
    event: Annotated[str | None, QueryParameter(max_length=40, description=_("事件，如 meeting_notice"))] = None,
    q: TextQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = PER_PAGE,
) -> Page[OutboxMessage]:
    """与 /outbox 页面相同的范围：办公室看到其联席会议的邮件，管理员看到全部；最新的在前。q 搜索主题和收件地址。"""
    where = await scope(actor)
    for column, value in ((N.status, status), (N.event, event)):
        if value:
            where = (column == value) if where is None else (where & (column == value))
    query = {"q": (q or "").replace("\x00", ""), "page": str(page), "per_page": str(per_page), "desc": "1"}
    columns = [N.id, N.created_at, N.event, N.email, N.subject, N.body, N.status, N.attempts, N.sent_at, N.last_error,
               N.unit.name.as_alias("unit_name"), N.street.name.as_alias("street_name")]
    listing = await paginate(N, columns, query, search=[N.subject, N.email], sorts={"created": N.id},
                             default_sort="created", where=where)
    items = [msgspec.convert({**r, "body": mask_links(r["body"] or "")}, OutboxMessage) for r in listing.rows]
    return Page(items=items, **page_fields(listing))


ROUTES: list[Any] = [Router(path="/api/outbox", route_handlers=[list_outbox], exception_handlers={ValidationException: relabelled(LABELS)})]
