"""The audit trail as office staff read it: Chinese field names, values as the rest of the UI labels
them (statuses, ratings, units by name, times in Asia/Shanghai), each change as before → after, and
each record named by its title and linked to its page when the viewer may open that page (the
names of records, actions and fields are conference.audit.labels).

The trail stores codes and ids (`audit.services.record`); everything here is presentation, read in
a fixed number of queries per page (the names and records it mentions in one: conference.audit.lookups),
never one per row.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import msgspec

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.audit.labels import ACTION_LABELS, ENTITY_LABELS, VALUE_LABELS, action_label, field_label
from conference.audit.lookups import EMPTY, RECORD_QUERIES, REFERENCE_FIELDS, Lookups
from conference.db import as_date
from conference.i18n import gettext as _
from conference.roles import Role
from conference.spreadsheets import Column
from conference.timefmt import cn_date, cn_datetime, now

# Who may open the page a record links to, besides the admin: registry records (streets, units,
# convenors) any office; the accounts list nobody else; every other record the offices whose scope
# holds its conference (the same rule as the pages themselves).
OPEN_TO_EVERY_OFFICE = frozenset({"street", "member_unit", "person"})
ADMIN_ONLY = frozenset({"user"})

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Change(NamedTuple):
    """One changed field. A tuple, so that the page's loop unpacks it (`for label, before, after`)
    instead of reading each attribute through the template environment (~80 changes a page)."""

    label: str
    before: str | None  # None: the field had no earlier value in this event (a creation)
    after: str | None  # None: removed or not written


class Entry(NamedTuple):
    """One event as the page shows it. A tuple, so that the page's loop unpacks it instead of
    reading each field through the template environment (eleven reads a row)."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: int
    record: str  # "督办任务" etc.
    title: str  # the record's own title, or "#30" when it is gone
    url: str | None  # None when the viewer may not open it
    changes: list[Change]
    # `at` as the page writes it (made here, not by calls from the template per row)
    at_iso: str
    at_text: str


def _loads(value: Any) -> dict[str, Any]:
    """A before/after column as a dict (PostgreSQL gives one; SQLite the JSON text), {} if none.
    msgspec reads the text ~4x as fast as json; what it refuses (NaN, a huge integer) is json's."""
    if isinstance(value, str):
        try:
            value = msgspec.json.decode(value)
        except ValueError:
            try:
                value = json.loads(value)
            except ValueError:
                return {}
    return value if isinstance(value, dict) else {}


def _plain_value(value: Any, labels: Mapping[str, str] | None) -> str:
    """A stored value as text, without looking anything up."""
    if isinstance(value, str):  # most values: text, codes, times
        if labels is not None and value in labels:
            return labels[value] or EMPTY
        return _time_text(value) if value else EMPTY
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, (list, tuple)):
        return "、".join(_plain_value(v, labels) for v in value) or EMPTY
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _time_text(value: str) -> str:
    """An ISO timestamp or date as the UI writes it; any other text as it is."""
    if len(value) < 10 or value[4] != "-":  # both patterns need that (each \d is one character)
        return value
    if ISO_DATETIME.match(value):
        try:
            return cn_datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if ISO_DATE.match(value):
        try:
            return cn_date(dt.date.fromisoformat(value))
        except ValueError:
            return value
    return value


# (entity, field) -> its label, the kind of record its values name (shown by name) or else the
# labels of its codes: the same for every value of the pair, so worked out once per pair rather
# than per value (the labels are constants). Field names come from the trail's own JSON, a few
# hundred pairs; the bound keeps an unforeseen stream of names in check.
_FIELDS: dict[tuple[str, str], tuple[str, str | None, Mapping[str, str] | None]] = {}
FIELDS_KEPT = 5000


def _field(entity: str, name: str) -> tuple[str, str | None, Mapping[str, str] | None]:
    key = (entity, name)
    found = _FIELDS.get(key)
    if found is None:
        kind = REFERENCE_FIELDS.get(name)
        labels = None if kind is not None else (VALUE_LABELS.get(key) or VALUE_LABELS.get(("*", name)))
        found = (field_label(entity, name), kind, labels)
        if len(_FIELDS) < FIELDS_KEPT:
            _FIELDS[key] = found
    return found


# A Change made without the NamedTuple's own __new__ (a Python function): the same tuple, a page makes ~100.
_tuple = tuple.__new__
# Where a field naming another record goes in a change list until the page's names are read.
_PENDING = Change("", None, None)
# A field naming another record: (its place in the change list, its label, the kind of record, the field).
Reference = tuple[int, str, str, str]


def _changes(lookups: Lookups, entity: str, before: dict[str, Any], after: dict[str, Any]) -> tuple[list[Change], list[Reference]]:
    """One Change per field, those written after the event first (then the removed ones). A field
    naming other records is left in place for `_named` (the page's names are read at once, after
    every event has said which it needs) and its ids are wanted by `lookups`."""
    out: list[Change] = []
    references: list[Reference] = []
    for k in [*after, *(k for k in before if k not in after)] if before else after:
        label, kind, labels = _field(entity, k)
        if kind is not None:
            references.append((len(out), label, kind, k))
            out.append(_PENDING)
            if k in before:
                lookups.want(kind, before[k])
            if k in after:
                lookups.want(kind, after[k])
        else:
            out.append(_tuple(Change, (label, _plain_value(before[k], labels) if k in before else None,
                                       _plain_value(after[k], labels) if k in after else None)))
    return out, references


def _named(lookups: Lookups, changes: list[Change], references: list[Reference], before: dict[str, Any],
           after: dict[str, Any]) -> list[Change]:
    """The change list with its references shown by name (once the names are read)."""
    show = lookups.show
    for i, label, kind, k in references:
        changes[i] = Change(label, show(kind, before[k]) if k in before else None, show(kind, after[k]) if k in after else None)
    return changes


def _may_open(actor: Actor, entity: str, conference: Any, visible: set[int] | None) -> bool:
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.OFFICE or entity in ADMIN_ONLY:
        return False
    if entity in OPEN_TO_EVERY_OFFICE:
        return True
    return conference is not None and (visible is None or int(conference) in visible)


def _record(actor: Actor, entity: str, entity_id: int, row: Mapping[str, Any] | None,
            visible: set[int] | None) -> tuple[str, str | None]:
    """The record an event is about as (title, url or None): the url only where the viewer may open
    the page; "#30" when the record is gone."""
    if row is None:
        return f"#{entity_id}", None
    title = str(row["title"]) + (" · " + _("会议纪要") if entity == "minutes" else "")
    if row["day"]:
        title += " · " + cn_date(as_date(row["day"]))
    link = RECORD_QUERIES[entity][1].format(**row) if _may_open(actor, entity, row["conference"], visible) else None
    return title, link


async def present(actor: Actor, events: Sequence[Mapping[str, Any]]) -> list[Entry]:
    """The events of one page (or one export) as the audit page shows them."""
    lookups = Lookups()
    decoded = []
    for e in events:
        before, after = _loads(e["before"]), _loads(e["after"])
        lookups.want_record(e["entity"], int(e["entity_id"]))
        decoded.append((e, before, after, *_changes(lookups, str(e["entity"]), before, after)))
    await lookups.load()
    visible = await visible_conference_ids(actor) if lookups.records else set()
    entries = []
    for e, before, after, changes, references in decoded:
        entity, entity_id = str(e["entity"]), int(e["entity_id"])
        title, url = _record(actor, entity, entity_id, lookups.records.get((entity, entity_id)), visible)
        entries.append(Entry(
            id=int(e["id"]), at=e["at"], actor=str(e["actor_name"]), action=action_label(entity, str(e["action"])),
            entity=entity, entity_id=entity_id, record=ENTITY_LABELS.get(entity, entity), title=title, url=url,
            changes=_named(lookups, changes, references, before, after) if references else changes,
            at_iso=e["at"].isoformat(), at_text=cn_datetime(e["at"]),
        ))
    return entries


def change_text(change: Change) -> str:
    """One change on one line, for the spreadsheet: 字段：前 → 后."""
    if change.before is None:
        return f"{change.label}：{change.after}"
    if change.after is None:
        return f"{change.label}：{change.before} → {EMPTY}"
    return f"{change.label}：{change.before} → {change.after}"


EXPORT_COLUMNS = (
    Column("at", _("时间"), "text", 17), Column("actor", _("操作人"), "text", 14), Column("action", _("操作"), "text", 14),
    Column("record", _("记录类型"), "text", 11), Column("title", _("记录"), "text", 30),
    Column("changes", _("变更内容（修改前 → 修改后）"), "text", 60),
)


def export_row(entry: Entry) -> dict[str, Any]:
    return {"at": entry.at_text, "actor": entry.actor, "action": entry.action, "record": entry.record,
            "title": entry.title, "changes": "\n".join(change_text(c) for c in entry.changes)}


def export_subtitle(chosen: Mapping[str, str], total: int) -> str:
    """The filters the file was made with, so that a printed copy says what it holds."""
    parts = []
    if entity := chosen.get("entity"):
        parts.append(_("记录类型：{v}").format(v=ENTITY_LABELS.get(entity, entity)))
    if action := chosen.get("action"):
        parts.append(_("操作：{v}").format(v=ACTION_LABELS.get(action, action)))
    if q := chosen.get("q"):
        parts.append(_("操作人：{v}").format(v=q))
    start, end = chosen.get("start"), chosen.get("end")
    if start or end:
        parts.append(_("日期：{a}至{b}").format(a=_day_text(start), b=_day_text(end)))
    parts.append(_("导出时间：{t}").format(t=cn_datetime(now())))
    parts.append(_("共 {n} 条").format(n=total))
    return "　　".join(parts)


def _day_text(value: str | None) -> str:
    try:
        return cn_date(dt.date.fromisoformat(value)) if value else ""
    except ValueError:
        return ""
