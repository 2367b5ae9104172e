"""Importing member units from an uploaded file (read by conference.registry.import_file), with a
report row by row.

Behaviour (what the office sees):

* Row by row, not all-or-nothing: every valid row is created, every invalid row is listed with its
  row number as Excel shows it (header = row 1), the unit name and every reason, so the office can
  fix just those rows and import them again. Importing the whole file again rejects the rows that
  went in the first time as "already exists" -- harmless and clearly reported.
* Each row is checked as the unit form checks it. 上级单位 names a unit already in the system or
  one on an earlier row of the same file.
* The valid rows are written in one transaction, together with one audit event per unit (and per
  membership) and one summary event (action "import"). Should someone create a unit of the same
  name while the import runs, nothing is written and the office is asked to import again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from typing import Any

import asyncpg

from conference import db
from conference.accounts.actor import Actor
from conference.audit.services import record
from conference.errors import Conflict, NotFound, ValidationFailed
from conference.i18n import gettext as _
from conference.records import insert_audited
from conference.registry import import_file, services
from conference.registry.services import KIND_LABELS, UNIT_FIELDS
from conference.registry.tables import Membership, MemberUnit
from conference.timefmt import now, today


@dataclass(frozen=True)
class CreatedUnit:
    row: int
    id: int
    name: str


@dataclass(frozen=True)
class RejectedRow:
    row: int
    name: str
    reasons: list[str]


@dataclass
class ImportReport:
    filename: str
    rows: int = 0  # data rows read (blank rows are not counted)
    created: list[CreatedUnit] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    conference: dict[str, Any] | None = None  # {"id", "name"} when memberships were added


@dataclass
class _Valid:
    row: int
    values: dict[str, Any]
    parent_in_file: str | None  # name of an earlier row of this file, resolved when written


def _kind_code(text: str) -> str:
    by_label = {label: code for code, label in KIND_LABELS.items()}
    return by_label.get(text, text)  # a code (department ...) passes as itself; anything else fails as a choice


async def import_units(actor: Actor, filename: str, content: bytes, conference_id: int | None) -> ImportReport:
    report = ImportReport(filename=PureWindowsPath(filename).name)
    if conference_id is not None:
        try:
            conference = await services.require_visible_conference(actor, conference_id)
        except NotFound:
            raise ValidationFailed({"conference": _("所选联席会议不存在，或您无权操作。")}) from None
        report.conference = {"id": conference["id"], "name": conference["name"]}
    rows = await import_file.read_rows_in_worker(filename, content)
    report.rows = len(rows)

    # One read transaction for the checks: a snapshot, and one connection instead of one per query.
    async with db.engine().transaction():
        valid = await _check_rows(report, rows)
    await _write(actor, report, valid, conference_id)
    return report


async def _check_rows(report: ImportReport, rows: list[tuple[int, dict[str, str]]]) -> list[_Valid]:
    """Validates each row like the unit form does, plus parents by name and repeats within the file;
    rejected rows go into the report, valid ones are returned in file order."""
    existing = {r["name"]: r["id"] for r in await MemberUnit.select(MemberUnit.id, MemberUnit.name)}
    first_row_of: dict[str, int] = {}  # name -> the first row of this file that used it
    accepted: set[str] = set()
    rejected_rows: dict[str, int] = {}
    valid: list[_Valid] = []
    for number, data in rows:
        name = data.get("name", "").strip()
        parent_name = data.get("parent_unit", "").strip()
        raw_kind = data.get("kind", "").strip()
        problems: dict[str, list[str]] = {}
        parent_in_file: str | None = None
        form_data = {**data, "kind": _kind_code(raw_kind), "parent_unit": ""}
        if parent_name:
            if parent_name in existing:
                form_data["parent_unit"] = str(existing[parent_name])
            elif parent_name == name:
                problems["parent_unit"] = [_("上级单位不能是本单位。")]
            elif parent_name in accepted:
                parent_in_file = parent_name
            elif parent_name in rejected_rows:
                problems["parent_unit"] = [_("上级单位“{name}”（第 {n} 行）未能导入，请先修正那一行。")
                                           .format(name=parent_name, n=rejected_rows[parent_name])]
            else:
                problems["parent_unit"] = [_("找不到上级单位“{name}”：应为系统中已有的单位，或本文件中排在前面的单位。")
                                           .format(name=parent_name)]
        values, _version, form = await services.unit_values(form_data, None)
        for key, message in form.errors.items():
            if key == "kind" and raw_kind:
                message = _("单位类别“{value}”无效，应为：{choices}。").format(
                    value=raw_kind, choices="、".join(KIND_LABELS.values()))
            elif key == "name" and name in existing:
                message = _("系统中已有同名成员单位（可能已经导入过）。")
            problems.setdefault(key, []).insert(0, message)
        if name and name in first_row_of:
            problems.setdefault("name", []).append(_("与本文件第 {n} 行的单位名称重复。").format(n=first_row_of[name]))
        if name:
            first_row_of.setdefault(name, number)
        if problems:
            reasons = [m for key in (*UNIT_FIELDS, *sorted(problems.keys() - set(UNIT_FIELDS))) for m in problems.get(key, [])]
            report.rejected.append(RejectedRow(number, name, reasons))
            if name:
                rejected_rows.setdefault(name, number)
            continue
        accepted.add(name)
        valid.append(_Valid(number, values, parent_in_file))
    return valid


async def _write(actor: Actor, report: ImportReport, valid: list[_Valid], conference_id: int | None) -> None:
    created_on = today()
    try:
        async with db.atomic():
            names = [v.values["name"] for v in valid]
            for start in range(0, len(names), 500):
                taken = await MemberUnit.select(MemberUnit.name).where(MemberUnit.name.is_in(names[start:start + 500]))
                if taken:
                    raise _concurrent()
            ids: dict[str, int] = {}
            for item in valid:
                values = {**item.values, "owner_conference": services.owner_of(actor), "created_at": now()}
                if item.parent_in_file is not None:
                    values["parent_unit"] = ids[item.parent_in_file]
                unit_id = await insert_audited(actor, MemberUnit, "member_unit", values, conference_id=conference_id)
                ids[values["name"]] = unit_id
                if conference_id is not None:
                    membership = {"unit": unit_id, "conference": conference_id, "start_date": created_on, "end_date": None}
                    await insert_audited(actor, Membership, "membership", membership, conference_id=conference_id)
                report.created.append(CreatedUnit(item.row, unit_id, values["name"]))
            await record(actor, "import", "member_unit", 0, conference_id=conference_id, after={
                "filename": report.filename, "rows": report.rows, "created": len(report.created),
                "rejected": len(report.rejected), "rejected_rows": [r.row for r in report.rejected][:200],
                "conference_id": conference_id,
            })
    except (sqlite3.IntegrityError, asyncpg.UniqueViolationError):
        report.created.clear()
        raise _concurrent() from None


def _concurrent() -> Conflict:
    return Conflict(_("导入过程中有其他人新增了同名的成员单位，本次没有导入任何单位。请重新上传文件。"))
