"""The resolutions on a meeting page: numbered 一、二、三、 as in the minutes, with their lead and
cooperating units, the tasks the viewer may open and, for the office of a held meeting, the
options of the adoption form. A fixed number of queries whatever the number of resolutions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from piccolo.querystring import QueryString

from conference.accounts.actor import Actor
from conference.collation import sort_key
from conference.db import fetch
from conference.forms import safe_filename
from conference.registry.tables import Membership
from conference.roles import OFFICE_ROLES
from conference.tasks.forms import DEADLINE_MODES, RESOLUTION_EDIT_FORM
from conference.tasks.states import ROLE_LABELS, TASK_STATUS_LABELS
from conference.tasks.tables import Resolution
from conference.tasks.visibility import can_open, visible_resolutions
from conference.timefmt import today
from conference.visibility import scoped

ADOPTABLE = ("held", "minutes_in_review")  # as services.adopt_resolution requires
RESOLUTION_FIELDS = {f.name: f for f in RESOLUTION_EDIT_FORM.page_fields()} | {
    "cooperating": RESOLUTION_EDIT_FORM["cooperating"].page_field()}  # ticked on the page, ids in the API
_DIGITS = "零一二三四五六七八九"


def cn_numeral(n: int) -> str:
    """一, 二, ... 十一, 二十三: how resolutions are numbered in minutes (一、二、三、)."""
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


async def _unit_options(conference_id: int) -> list[tuple[str, str]]:
    """Current member units of the meeting's conference."""
    day = today()
    rows = await Membership.select(Membership.unit.id.as_alias("id"), Membership.unit.name.as_alias("name")).where(
        (Membership.conference == conference_id) & (Membership.start_date <= day)
        & (Membership.end_date.is_null() | (Membership.end_date >= day)) & Membership.unit.ended_on.is_null())
    return sorted({(str(r["id"]), r["name"]) for r in rows}, key=lambda o: (sort_key(o[1]), o[1]))


async def meeting_resolutions(actor: Actor, meeting: Mapping[str, Any]) -> dict[str, Any]:
    """The resolutions adopted at the meeting (numbered 一、二、三、) with their lead and cooperating
    units and links to the tasks the viewer may open; for the office of a held meeting, the options
    of the adoption form. At most five queries, whatever the number of resolutions and tasks."""
    meeting_id = int(meeting["id"])
    # The resolutions the viewer may see (visibility.visible_resolutions): on another conference's
    # meeting, which a street reaches only through its own items, those of its own items.
    rows = await fetch(QueryString(
        """SELECT r.id, r.number, r.text, r.deadline, r.deadline_workdays, r.deadline_provisional, r.item, r.lead_unit,
                  r.note, r.version, a.title AS item_title, a.street AS item_street, lu.name AS lead_name
           FROM {} r JOIN agenda_item a ON a.id = r.item JOIN member_unit lu ON lu.id = r.lead_unit
           WHERE r.meeting = {} ORDER BY r.number, r.id""", scoped(Resolution, await visible_resolutions(actor)), meeting_id))
    tasks = await fetch(
        """SELECT t.id, t.resolution, t.unit, t.street, t.role, t.status, t.deadline, t.deadline_provisional,
                  t.extension_status, u.name AS unit_name
           FROM task t JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit
           WHERE r.meeting = {} ORDER BY t.id""", meeting_id)
    named = await fetch(
        """SELECT ru.resolution, ru.unit, ru.role FROM resolution_unit ru JOIN resolution r ON r.id = ru.resolution
           WHERE r.meeting = {}""", meeting_id)
    attachments = await fetch(
        """SELECT ra.id, ra.resolution, ra.filename, ra.size FROM resolution_attachment ra
           JOIN resolution r ON r.id = ra.resolution WHERE r.meeting = {} ORDER BY ra.id""", meeting_id)
    by_resolution: dict[int, list[dict[str, Any]]] = {}
    for task in tasks:
        task["role_label"] = ROLE_LABELS.get(task["role"], task["role"])
        task["status_label"] = TASK_STATUS_LABELS.get(task["status"], task["status"])
        task["link"] = can_open(actor, task)
        by_resolution.setdefault(task["resolution"], []).append(task)
    cooperating_ids: dict[int, list[str]] = {}
    for unit in named:
        if unit["role"] == "cooperate":
            cooperating_ids.setdefault(unit["resolution"], []).append(str(unit["unit"]))
    files_of: dict[int, list[dict[str, Any]]] = {}
    for f in attachments:
        f["filename"] = safe_filename(f["filename"])
        files_of.setdefault(f["resolution"], []).append(f)
    for row in rows:
        row["numeral"] = cn_numeral(int(row["number"])) + "、"
        own = sorted(by_resolution.get(row["id"], []), key=lambda t: (t["role"] != "lead", t["id"]))
        for task in own:  # the task's own deadline where it differs (an approved extension, a reopening)
            task["own_deadline"] = task["deadline"] != row["deadline"] and task["status"] != "cancelled"
        row["tasks"] = own
        # The units named now (a unit removed by a correction keeps its cancelled task in the list).
        row["cooperating_ids"] = cooperating_ids.get(row["id"], [])
        current = set(row["cooperating_ids"])
        names = {str(t["unit"]): t["unit_name"] for t in own}
        row["cooperating_names"] = sorted({names[u] for u in current if u in names})
        row["files"] = files_of.get(row["id"], [])
    editable, correction = False, ""
    if actor.role in OFFICE_ROLES and (meeting["status"] in ADOPTABLE or meeting["status"] == "minutes_published"):
        from conference.tasks.amend import editable_state

        editable, correction = await editable_state(meeting)  # before sign-off, or during a minutes correction
    context: dict[str, Any] = {
        "resolutions": rows, "can_adopt": actor.role in OFFICE_ROLES and meeting["status"] in ADOPTABLE,
        "can_edit_resolutions": editable, "resolutions_correction": correction,
        "resolutions_signed": actor.role in OFFICE_ROLES and meeting["status"] == "minutes_published" and not editable,
        "resolution_items": [], "resolution_units": [], "resolution_selected": set(), "deadline_modes": DEADLINE_MODES,
        "resolution_fields": RESOLUTION_FIELDS,  # the adopt and correction forms' labels and limits
    }
    if context["can_adopt"]:
        context["resolution_items"] = await fetch(
            """SELECT a.id, a.title, sl.outcome FROM agenda_slot sl JOIN agenda_item a ON a.id = sl.item
               WHERE sl.meeting = {} ORDER BY sl.id""", meeting_id)
    if context["can_adopt"] or editable:
        context["resolution_units"] = await _unit_options(int(meeting["conference"]))
    return context
