"""Read side of the minutes: the minutes page as plain values, a version as text blocks, and the
readable difference between two versions (difflib; line by line, then character by character
inside changed lines, since Chinese has no spaces between words). Templates escape every piece."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from conference.accounts.actor import Actor
from conference.db import fetch
from conference.i18n import gettext as _
from conference.minutes import pdf, services
from conference.minutes import workflow as minutes_workflow
from conference.minutes.services import RESOLUTIONS, SECTION_LABELS, SECTIONS
from conference.minutes.tables import MinutesComment, MinutesPublication, MinutesVersion
from conference.roles import Role

INLINE_LIMIT = 4000  # characters: longer changed lines are shown as removed + added, not compared by character


def resolution_lines(records: Mapping[str, Any]) -> list[str]:
    lines = []
    for r in records.get("resolutions", []):
        assignment = _("牵头单位：{lead}").format(lead=r["lead"])
        if r.get("cooperating"):
            assignment += _("；配合单位：{units}").format(units=_("、").join(r["cooperating"]))
        assignment += _("；完成时限：{deadline}。").format(deadline=r["deadline"])
        lines.append(pdf.cn_number(r["number"]) + _("、") + " ".join(pdf.paragraphs(r["text"])))
        lines.append(assignment)
    return lines


def text_blocks(sections: Mapping[str, str], records: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A version as labelled blocks of lines, in print order (议定事项 after the intro)."""
    blocks = []
    for s in SECTIONS:
        blocks.append({"key": s.key, "label": s.label, "lines": pdf.paragraphs(sections.get(s.key, ""))})
        if s.key == "decisions_intro":
            blocks.append({"key": RESOLUTIONS, "label": SECTION_LABELS[RESOLUTIONS], "lines": resolution_lines(records)})
    return blocks


def _inline(old: str, new: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Character-level segments: ("equal" | "delete" | "insert", text) for the old and the new line."""
    if len(old) > INLINE_LIMIT or len(new) > INLINE_LIMIT:
        return [("delete", old)], [("insert", new)]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    before: list[tuple[str, str]] = []
    after: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            before.append(("equal", old[i1:i2]))
            after.append(("equal", new[j1:j2]))
            continue
        if i2 > i1:
            before.append(("delete", old[i1:i2]))
        if j2 > j1:
            after.append(("insert", new[j1:j2]))
    return before, after


def diff_blocks(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per block: rows of kind equal / delete / insert / change (a line edited in place)."""
    result = []
    for old, new in zip(a, b, strict=True):
        rows: list[dict[str, Any]] = []
        matcher = difflib.SequenceMatcher(None, old["lines"], new["lines"], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                rows += [{"kind": "equal", "text": line} for line in old["lines"][i1:i2]]
            elif op == "delete":
                rows += [{"kind": "delete", "text": line} for line in old["lines"][i1:i2]]
            elif op == "insert":
                rows += [{"kind": "insert", "text": line} for line in new["lines"][j1:j2]]
            else:
                pairs = list(zip(old["lines"][i1:i2], new["lines"][j1:j2], strict=False))
                for before, after in pairs:
                    old_segments, new_segments = _inline(before, after)
                    rows.append({"kind": "change", "old": old_segments, "new": new_segments})
                rows += [{"kind": "delete", "text": line} for line in old["lines"][i1 + len(pairs):i2]]
                rows += [{"kind": "insert", "text": line} for line in new["lines"][j1 + len(pairs):j2]]
        changed = any(r["kind"] != "equal" for r in rows)
        result.append({"key": old["key"], "label": old["label"], "rows": rows, "changed": changed})
    return result


async def diff(actor: Actor, minutes_id: int, a: int, b: int) -> dict[str, Any]:
    minutes, version_a = await services.version_for(actor, minutes_id, a)
    _m, version_b = await services.version_for(actor, minutes_id, b)
    blocks = diff_blocks(text_blocks(*services.loads(version_a)), text_blocks(*services.loads(version_b)))
    return {"minutes": minutes, "a": version_a, "b": version_b, "blocks": blocks,
            "changes": sum(1 for block in blocks for row in block["rows"] if row["kind"] != "equal")}


async def versions(actor: Actor, minutes_id: int) -> list[dict[str, Any]]:
    rows = await MinutesVersion.select(
        MinutesVersion.id, MinutesVersion.number, MinutesVersion.author_name, MinutesVersion.created_at,
        MinutesVersion.submitted_at, MinutesVersion.approved_at, MinutesVersion.approved_by_name,
        MinutesVersion.correction_reason,
    ).where(MinutesVersion.minutes == minutes_id).order_by(MinutesVersion.number, ascending=False)
    return [r for r in rows if services.visible_to(actor, r)]


async def page(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """Everything /meetings/{id}/minutes shows, as plain values."""
    meeting = await services.meeting_in_scope(actor, meeting_id)
    meeting_row = (await fetch("""SELECT m.id, m.title, m.status, m.starts_at, m.location, c.name AS conference_name
                                  FROM meeting m JOIN conference c ON c.id = m.conference WHERE m.id = {}""", meeting["id"]))[0]
    minutes = await services.minutes_of_meeting(meeting_id)
    context: dict[str, Any] = {"meeting": meeting_row, "minutes": minutes, "versions": [], "comments": [],
                               "publications": [], "current": None, "stale": False}
    if minutes is None:
        return context
    if actor.role == Role.CONVENOR:
        await services.minutes_for(actor, minutes["id"])  # the conference's convenor only
    listed = await versions(actor, minutes["id"])
    context["versions"] = listed
    shown = None
    if actor.role == Role.CONVENOR:
        # The convenor reads the version under review, else the one in force, else the last submitted.
        wanted = minutes["submitted_version"] or minutes["published_version"]
        shown = next((v for v in listed if v["number"] == wanted), listed[0] if listed else None)
    elif listed:
        shown = listed[0]
    if shown is not None:
        version = await services.version_row(minutes["id"], shown["number"])
        sections, records = services.loads(version)
        context["current"] = {**shown, "sections": sections, "records": records, "blocks": text_blocks(sections, records)}
        if actor.role != Role.CONVENOR and minutes["status"] in services.EDITABLE:
            context["stale"] = await minutes_workflow.is_stale(meeting_id, version)
    comments = await MinutesComment.select().where(MinutesComment.minutes == minutes["id"]).order_by(MinutesComment.id)
    context["comments"] = comments
    context["publications"] = await MinutesPublication.select(
        MinutesPublication.seq, MinutesPublication.version_number, MinutesPublication.reason, MinutesPublication.sha256,
        MinutesPublication.size, MinutesPublication.published_at, MinutesPublication.published_by_name,
    ).where(MinutesPublication.minutes == minutes["id"]).order_by(MinutesPublication.seq, ascending=False)
    return context
