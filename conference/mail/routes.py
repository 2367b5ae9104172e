"""E-mail pages for the office: dead letters with their error and a retry button, one message as
sent (readable, raw .eml or download) and the messages about one meeting."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, cast

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import CurrentActor
from conference.i18n import gettext as _
from conference.mail import services
from conference.mail.compose import summary
from conference.notifications.services import mask_links
from conference.notifications.states import MAIL_STATUS_LABELS
from conference.notifications.tables import Notification
from conference.roles import OFFICE_ROLES
from conference.settings import get_settings
from conference.web.listing import paginate
from conference.web.templating import redirect, render

N = Notification
# The readable view hides personal links (mask_links), as the outbox page does; the raw .eml is the exact message.


@get("/dead-letters", opt={"roles": OFFICE_ROLES})
async def dead_letters(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = dict(request.query_params)
    condition = await services.dead_letters_condition(actor)
    if "sort" not in query:
        query["desc"] = "1"
    columns = [N.id, N.created_at, N.event, N.email, N.subject, N.attempts, N.last_error,
               N.unit.name.as_alias("unit_name"), N.street.name.as_alias("street_name")]
    page = await paginate(N, columns, query, search=[N.subject, N.email, N.last_error], sorts={"created": N.id},
                          default_sort="created", where=condition)
    return render(request, "mail/dead_letters.html", page=page, retry_hours=f"{get_settings().mail_retry_hours:g}")


@post("/dead-letters/{notification_id:int}/retry", opt={"roles": OFFICE_ROLES})
async def dead_letter_retry(actor: CurrentActor, notification_id: FromPath[int]) -> Redirect:
    await services.retry(actor, notification_id)
    return redirect("/mail/dead-letters", _("邮件已重新排队，将在几分钟内再次发送。"))


@post("/dead-letters/retry-all", opt={"roles": OFFICE_ROLES})
async def dead_letters_retry_all(actor: CurrentActor) -> Redirect:
    count = await services.retry_all(actor)
    return redirect("/mail/dead-letters", _("已将 {n} 封邮件重新排队。").format(n=count))


@get("/messages/{notification_id:int}", opt={"roles": OFFICE_ROLES})
async def message_page(request: Request[Any, Any, Any], actor: CurrentActor, notification_id: FromPath[int]) -> Template:
    row = await services.message_for(actor, notification_id)
    data, from_file = services.message_bytes(row)
    parsed = cast(EmailMessage, email.message_from_bytes(data, policy=default_policy))
    view = summary(parsed)
    view["text"] = mask_links(view["text"])
    # Unfolded (RFC 5545 §3.1) for reading, which also keeps a folded token from escaping the redaction.
    view["calendar"] = mask_links(re.sub(r"\r?\n[ \t]", "", view["calendar"]))
    return render(request, "mail/message.html", row=row, view=view, from_file=from_file, status_labels=MAIL_STATUS_LABELS)


@get("/eml/{notification_id:int}", opt={"roles": OFFICE_ROLES})
async def message_eml(request: Request[Any, Any, Any], actor: CurrentActor, notification_id: FromPath[int]) -> Response[bytes]:
    """The message itself: as text/plain to read in the browser, or ?download=1 as message/rfc822."""
    row = await services.message_for(actor, notification_id)
    data, _from_file = services.message_bytes(row)
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; sandbox"}
    if request.query_params.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="message-{notification_id}.eml"'
        return Response(content=data, media_type="message/rfc822", headers=headers)
    return Response(content=data, media_type="text/plain", headers=headers)


@get("/meetings/{meeting_id:int}", opt={"roles": OFFICE_ROLES})
async def meeting_mail(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template:
    from conference.meetings.tables import Meeting

    rows = await services.meeting_messages(actor, meeting_id)
    meeting = await Meeting.select(Meeting.id, Meeting.title).where(Meeting.id == meeting_id).first()
    return render(request, "mail/meeting.html", rows=rows, meeting=meeting, status_labels=MAIL_STATUS_LABELS)


@get("/replies", opt={"roles": OFFICE_ROLES})
async def calendar_replies(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    """Replies read from the office mailbox; by default those that could not be recorded (no
    matching invitation, an older version, a stranger's address), which the office follows up by hand."""
    from conference.mail.inbox import OUTCOME_LABELS
    from conference.mail.tables import CalendarReply as R

    query = dict(request.query_params)
    show_all = query.get("all") == "1"
    where = await services.reply_scope(actor)
    if not show_all:
        where = R.outcome != "applied" if where is None else (R.outcome != "applied") & where
    if "sort" not in query:
        query["desc"] = "1"
    columns = [R.id, R.received_at, R.sender, R.subject, R.attendee, R.partstat, R.delegate, R.comment, R.outcome,
               R.sequence, R.meeting, R.meeting.title.as_alias("meeting_title")]
    page = await paginate(R, columns, query, search=[R.sender, R.subject, R.attendee], sorts={"received": R.id},
                          default_sort="received", where=where)
    return render(request, "mail/replies.html", page=page, show_all=show_all, outcome_labels=OUTCOME_LABELS,
                  imap_on=bool(get_settings().imap_host))


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES: list[Any] = [
    Router("/mail", route_handlers=[calendar_replies, dead_letters, dead_letter_retry, dead_letters_retry_all, message_page,
                                    message_eml, meeting_mail], include_in_schema=False),
]
