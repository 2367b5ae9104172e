"""Minutes JSON API: GET /api/minutes/{meeting_id}, the minutes' state and every published copy
with its URL and SHA-256 (the PDF itself is fetched from that URL, byte-identical to what was signed).

The office and the conference's convenor see the state of the drafting; a unit invited to the
meeting and a street whose item was on it see the minutes once published (404 before, like any
record out of scope)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Router, get

from conference.accounts.actor import CurrentActor
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.meetings.services import meeting_for
from conference.minutes import publication as minutes_publication
from conference.minutes import services
from conference.minutes.states import MINUTES_STATUS_LABELS
from conference.minutes.tables import MinutesPublication
from conference.roles import PEOPLE, SUPERVISORS
from conference.web.apikit import READ_ERRORS, RecordId, answers


class PublicationOut(msgspec.Struct):
    seq: int  # 1 = the original publication, 2 = the first correction, ...
    version: int
    url: str  # the PDF, served byte for byte as stored at sign-off (needs the same authorisation)
    sha256: str
    size: int
    published_at: dt.datetime
    published_by: str
    correction_reason: str


class MinutesOut(msgspec.Struct):
    meeting_id: int
    minutes_id: int
    status: str  # draft | submitted | returned | published
    status_label: str
    current_version: int | None  # None for readers who only see what is published
    published_version: int | None
    published: PublicationOut | None  # the copy in force
    publications: list[PublicationOut]


@get("/{meeting_id:int}", opt={"roles": PEOPLE}, tags=["会议纪要"], summary=_("会议纪要（印发件地址与 SHA-256）"),
     responses=answers(MinutesOut, READ_ERRORS))
async def get_minutes(actor: CurrentActor, meeting_id: RecordId) -> MinutesOut:
    """会议纪要的当前状态和已印发的各版（含下载地址和 SHA-256）；只有能看到该会议的账号可读。"""
    await meeting_for(actor, meeting_id)
    minutes = await services.minutes_of_meeting(meeting_id)
    if minutes is None:
        raise NotFound(_("该会议尚未起草纪要。"))
    drafts = actor.role in SUPERVISORS
    if drafts:
        await services.minutes_for(actor, minutes["id"])
    elif minutes["published_version"] is None:
        raise NotFound(_("该会议纪要尚未签发印发。"))
    rows = await MinutesPublication.select(
        MinutesPublication.seq, MinutesPublication.version_number, MinutesPublication.sha256, MinutesPublication.size,
        MinutesPublication.published_at, MinutesPublication.published_by_name, MinutesPublication.reason,
    ).where(MinutesPublication.minutes == minutes["id"]).order_by(MinutesPublication.seq, ascending=False)
    publications = [PublicationOut(
        seq=r["seq"], version=r["version_number"], url=minutes_publication.published_url(minutes["id"], r["seq"]), sha256=r["sha256"],
        size=r["size"], published_at=r["published_at"], published_by=r["published_by_name"], correction_reason=r["reason"],
    ) for r in rows]
    current = None
    if publications:
        current = msgspec.structs.replace(publications[0], url=minutes_publication.published_url(minutes["id"]))
    status = minutes["status"] if drafts else "published"
    return MinutesOut(
        meeting_id=meeting_id, minutes_id=minutes["id"], status=status, status_label=MINUTES_STATUS_LABELS[status],
        current_version=minutes["current_version"] if drafts else None, published_version=minutes["published_version"],
        published=current, publications=publications)


ROUTES: list[Any] = [Router("/api/minutes", route_handlers=[get_minutes])]
