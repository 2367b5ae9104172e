"""Personal task links: what a link opens and who acts through it, and the office's revoke and
re-send. The actions themselves are the ordinary task services (conference.tasks.services), called
with the link's actor: the unit (or street) named in the task, marked `via_link`, so every rule,
state check, audit event and message is the same as for a logged-in account.

A unit's link works while the task is open; a street's rating link while the task is closed (a
reopened task is not rateable). Anything else — wrong task id, unknown, revoked or expired token —
is the same 404."""

from __future__ import annotations

from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.audit.services import record
from conference.errors import Conflict, NotFound
from conference.i18n import gettext as _
from conference.registry.tables import MemberUnit, Street
from conference.roles import Role
from conference.tasks import tokens
from conference.tasks.services import require_office, send_rating_link, send_unit_link, task_for
from conference.tasks.states import OPEN, TASK_STATUS_LABELS
from conference.tasks.tables import Task

LINK_NOT_FOUND = _("链接无效或已失效。")
HOLDER_LABELS = {tokens.UNIT: _("承办单位办理链接"), tokens.STREET: _("街道评价链接")}


def usable(holder: str, task: dict[str, Any]) -> bool:
    """The link works only while its holder has something to do or see on the task."""
    if holder == tokens.UNIT:
        return task["status"] in OPEN
    return task["status"] == "closed" and task["street"] is not None


async def link_actor(holder: str, task: dict[str, Any]) -> Actor:
    """The unit or street named in the task, acting through its link (no account)."""
    if holder == tokens.UNIT:
        unit = await MemberUnit.select(MemberUnit.name).where(MemberUnit.id == task["unit"]).first()
        name = unit["name"] if unit else ""
        return Actor(id=0, username="", display_name=_("{name}（办理链接）").format(name=name)[:60], role=Role.UNIT,
                     unit_id=task["unit"], via_link=True)
    street = await Street.select(Street.name).where(Street.id == task["street"]).first()
    name = street["name"] if street else ""
    return Actor(id=0, username="", display_name=_("{name}（评价链接）").format(name=name)[:60], role=Role.STREET,
                 street_id=task["street"], via_link=True)


async def task_by_link(task_id: int, token: str) -> tuple[Actor, dict[str, Any]]:
    """The link's actor and its task; NotFound for a wrong, revoked or expired link, a link of
    another task, or a task its holder can no longer act on."""
    link = await tokens.find(task_id, token)
    if link is None:
        raise NotFound(LINK_NOT_FOUND)
    task = await Task.select().where(Task.id == task_id).first()
    if task is None or not usable(link["holder"], task):
        raise NotFound(LINK_NOT_FOUND)
    return await link_actor(link["holder"], task), task


async def office_view(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The links of a task as its office sees them: per holder, the live link (when sent, until
    when) and whether a new one can be sent now."""
    live = await tokens.live(task["id"])
    holders = [tokens.UNIT] + ([tokens.STREET] if task["street"] is not None else [])
    return [{"holder": h, "label": HOLDER_LABELS[h], "live": live.get(h),
             "can_resend": usable(h, task) and not (h == tokens.STREET and task["rating"])} for h in holders]


async def _titles(task_id: int) -> tuple[str, str, str]:
    row = await Task.select(Task.resolution._.item._.title.as_alias("title"), Task.resolution.text.as_alias("text"),
                            Task.unit.name.as_alias("unit_name")).where(Task.id == task_id).first()
    assert row is not None
    return row["title"], row["text"], row["unit_name"]


# ---------------------------------------------------------------- the office (buttons on the task page)


async def revoke_link(actor: Actor, task_id: int, holder: str) -> int:
    """Stops the holder's link (e.g. forwarded by mistake); audited. Returns how many ended."""
    require_office(actor)
    if holder not in HOLDER_LABELS:
        raise NotFound(LINK_NOT_FOUND)
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        ended = await tokens.revoke(task_id, holder)
        await record(actor, "revoke_link", "task", task_id, after={"holder": holder, "ended": ended},
                     conference_id=task["conference"])
        return ended


async def resend_link(actor: Actor, task_id: int, holder: str) -> None:
    """A new link for the holder, sent at once; the older one stops working. Audited."""
    require_office(actor)
    if holder not in HOLDER_LABELS:
        raise NotFound(LINK_NOT_FOUND)
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if not usable(holder, task):
            if holder == tokens.UNIT:
                raise Conflict(_("任务当前状态为“{state}”，承办单位无需办理，不能发送办理链接。").format(
                    state=TASK_STATUS_LABELS.get(task["status"], task["status"])))
            raise Conflict(_("只有已销号、由街道提请的任务才能发送评价链接。"))
        if holder == tokens.STREET and task["rating"]:
            raise Conflict(_("该任务已经评价过了。"))
        title, text, unit_name = await _titles(task_id)
        if holder == tokens.UNIT:
            await send_unit_link(task, title, text, event="task_link_resent",
                                 intro=_("联席会议办公室重新发送了办理链接，此前的链接已失效。"))
        else:
            await send_rating_link(task, title, unit_name, event="task_rating_link_resent")
        await record(actor, "resend_link", "task", task_id, after={"holder": holder}, conference_id=task["conference"])
