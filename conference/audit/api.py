"""The audit trail over the JSON API (issue 15 item 1), read only: GET /api/audit with the filters of
the /audit page (record type, action, person, dates), in the office's scope, each event as the page
presents it (Chinese labels, before → after per field). The scope and filters are the page's own
(conference.audit.routes), so both always show the same events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from conference.accounts.actor import CurrentActor
from conference.accounts.scope import read_once
from conference.audit import routes, views
from conference.audit.tables import AuditEvent
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES
from conference.web.apikit import READ_ERRORS, Page, PageQuery, PerPageQuery, TextQuery, answers, page_fields, relabelled
from conference.web.listing import PER_PAGE, paginate

LABELS = {"entity": _("记录类型"), "action": _("操作"), "start": _("开始日期"), "end": _("结束日期")}


class ChangeOut(msgspec.Struct):
    label: str
    before: str | None
    after: str | None


class AuditEntryOut(msgspec.Struct):
    id: int
    at: dt.datetime
    actor: str
    action: str  # in Chinese, e.g. 销号
    entity: str  # code, e.g. task
    entity_id: int
    record: str  # the kind of record in Chinese
    title: str
    url: str | None  # the record's page, when the caller may open it
    changes: list[ChangeOut]


@get("/", opt={"roles": OFFICE_ROLES}, tags=["操作日志"], summary=_("操作日志"), responses=answers(Page[AuditEntryOut], READ_ERRORS))
async def list_audit(
    request: Request[Any, Any, Any],
    actor: CurrentActor,
    entity: Annotated[str | None, QueryParameter(max_length=40, description=_("记录类型，如 task、agenda_item、meeting"))] = None,
    action: Annotated[str | None, QueryParameter(max_length=40, description=_("操作，如 create、update、close"))] = None,
    start: Annotated[dt.date | None, QueryParameter(description=_("不早于该日（北京时间）"))] = None,
    end: Annotated[dt.date | None, QueryParameter(description=_("不晚于该日（北京时间）"))] = None,
    q: TextQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = PER_PAGE,
) -> Page[AuditEntryOut]:
    """办公室看到其联席会议（含下级）的操作和自己的操作，管理员看到全部；最新的在前。q 按操作人姓名搜索。"""
    with read_once():  # the filter and the records' links ask for the same scope
        flt = await routes.audit_filter(request, actor)  # the page's scope and filters, read from the same parameters
        listing = await paginate(AuditEvent, [], {k: v for k, v in flt.query.items() if k != "q"}, search=[],
                                 sorts={"at": AuditEvent.at}, default_sort="at", where=flt.where)
        entries = await views.present(actor, listing.rows)
    items = [_entry_out(entry) for entry in entries]
    return Page(items=items, **page_fields(listing))


def _entry_out(entry: views.Entry) -> AuditEntryOut:
    # An entry and its changes are tuples (unpacked by the page's loop): objects here, by their names.
    return msgspec.convert({**entry._asdict(), "changes": [change._asdict() for change in entry.changes]}, AuditEntryOut)


ROUTES: list[Any] = [Router(path="/api/audit", route_handlers=[list_audit], exception_handlers={ValidationException: relabelled(LABELS)})]
