"""Issue 10, item 10: reply and feed tokens stored as hashes (the clear token only in the notice
that carries it), never in the access log, and no link for a meeting that was never notified."""

from __future__ import annotations

import hashlib
import logging
import uuid

from conference.calendar.tables import CalendarFeed
from conference.meetings import lifecycle, services
from conference.meetings.tables import Invitation, Meeting
from conference.web import logmask
from tests.conftest import post_form
from tests.test_invitations import ATTENDING, MARKET, actor, browser_post, invitation, make_meeting
from tests.tokens import sent_reply_token


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_reply_tokens_are_stored_as_hashes(anon):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    token = inv["token"]
    assert token and (await browser_post(anon, f"/r/{token}", ATTENDING)).status_code == 303
    row = await Invitation.select().where(Invitation.id == inv["id"]).first()
    assert row["token_hash"] == sha256(token)
    assert not await Invitation.exists().where(Invitation.token_hash == token)
    assert all(token not in str(value) for value in row.values())


async def test_each_notice_carries_a_new_link_and_the_old_one_dies(anon):
    meeting = await make_meeting()
    first = (await invitation(meeting["id"], MARKET))["token"]
    office = await actor("office")
    await lifecycle.update_meeting(office, meeting["id"], {
        "title": meeting["title"], "date": "2030-11-30", "start_time": "09:00", "end_time": "11:00",
        "location": meeting["location"], "version": str(meeting["version"]), "kind": "plenary"})
    # saving a new date of a notified meeting sends the change notice with it
    second = (await invitation(meeting["id"], MARKET))["token"]
    assert second and second != first
    assert (await anon.get(f"/r/{first}")).status_code == 404
    assert (await anon.get(f"/r/{second}")).status_code == 200


async def test_the_link_of_a_draft_meeting_is_refused(anon):
    meeting = await make_meeting(notify=False)
    assert meeting["status"] == "draft"
    inv = await invitation(meeting["id"], MARKET)
    assert inv["token"] is None  # nothing was sent
    # Even a token known for the invitation (as if leaked before sending) opens nothing.
    token = await services.new_reply_token(inv["id"])
    response = await anon.get(f"/r/{token}")
    assert response.status_code == 404 and meeting["title"] not in response.text
    assert (await post_form(anon, f"/r/{token}", ATTENDING)).status_code == 404
    assert (await Meeting.select(Meeting.status).where(Meeting.id == meeting["id"]).first())["status"] == "draft"


async def test_feed_tokens_are_stored_as_hashes(as_user, anon):
    from tests.test_feeds import issue

    token = await issue(await as_user("unit_police"))
    assert (await anon.get(f"/feeds/{token}.ics")).status_code == 200
    assert await CalendarFeed.exists().where(CalendarFeed.token_hash == sha256(token))
    assert not await CalendarFeed.exists().where(CalendarFeed.token_hash == token)


def test_tokens_are_masked_in_the_access_log(caplog):
    """uvicorn's access log line, as uvicorn.protocols.http writes it."""
    logmask.install()
    logmask.install()  # once only
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, logmask.TokenMask) for f in access.filters) == 1
    token = uuid.uuid4().hex + "_-Ab"
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        for path in (f"/r/{token}", f"/r/{token}?x=1", f"/feeds/{token}.ics"):
            access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", path, "1.1", 200)
    text = caplog.text
    assert token not in text
    assert '"GET /r/*** HTTP/1.1" 200' in text and '"GET /r/***?x=1 HTTP/1.1"' in text
    assert '"GET /feeds/***.ics HTTP/1.1"' in text
    assert logmask.mask("/meetings/12/invite.ics") == "/meetings/12/invite.ics"


async def test_the_app_installs_the_mask(app):
    assert any(isinstance(f, logmask.TokenMask) for f in logging.getLogger("uvicorn.access").filters)


async def test_sent_token_helper_reads_the_outbox(database_url):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    assert await sent_reply_token(inv["id"]) == inv["token"]
