"""Resolutions (议定事项) adopted at a meeting for an agenda item, and the supervised tasks
(督办任务) they create: one per named unit, with progress reports, closure and the street's rating."""

from __future__ import annotations

from piccolo.columns import Boolean, Bytea, Date, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.accounts.tables import User
from conference.agenda.tables import AgendaItem
from conference.meetings.tables import Meeting
from conference.registry.tables import Conference, MemberUnit, Street

TASK_STATES = ("assigned", "acknowledged", "in_progress", "reported_done", "returned", "closed", "cancelled")


class Resolution(Table, tablename="resolution"):
    id = Serial(primary_key=True)
    meeting = ForeignKey(Meeting, index=True, on_delete=OnDelete.restrict)
    item = ForeignKey(AgendaItem, index=True, on_delete=OnDelete.restrict)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    number = Integer(default=1)  # 一、二、三、 in the minutes, in adoption order within the meeting
    text = Text()
    lead_unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.restrict)
    deadline = Date()
    deadline_workdays = Integer(null=True, default=None)  # when set as "N working days from the meeting"
    # 暂定: counted on weekdays only because the deadline reaches a year whose holidays are not yet
    # entered; recomputed when the office enters them (conference.holidays.services).
    deadline_provisional = Boolean(default=False)
    adopted_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    adopted_at = Timestamptz()
    note = Text(default="")  # 备注, editable with the resolution until the minutes are signed
    version = Integer(default=1)


class ResolutionAttachment(Table, tablename="resolution_attachment"):
    """A file the office attaches to a resolution (same checks and limits as task evidence)."""

    id = Serial(primary_key=True)
    resolution = ForeignKey(Resolution, index=True, on_delete=OnDelete.cascade)
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    size = Integer()
    sha256 = Varchar(length=64)
    data = Bytea()
    uploaded_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    uploaded_by_name = Varchar(length=60, default="")
    created_at = Timestamptz()


class ResolutionUnit(Table, tablename="resolution_unit"):
    id = Serial(primary_key=True)
    resolution = ForeignKey(Resolution, index=True, on_delete=OnDelete.cascade)
    unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.restrict)
    role = Varchar(length=16)  # lead | cooperate


class Task(Table, tablename="task"):
    """Conference and street are copied from the resolution and item so that dashboards and scope
    checks filter one table (the supervision figures run over hundreds of thousands of tasks)."""

    id = Serial(primary_key=True)
    resolution = ForeignKey(Resolution, index=True, on_delete=OnDelete.restrict)
    unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.restrict)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    street = ForeignKey(Street, null=True, index=True, on_delete=OnDelete.restrict)
    role = Varchar(length=16)  # lead | cooperate
    status = Varchar(length=16, default="assigned", index=True)
    assigned_at = Timestamptz(index=True)
    deadline = Date(index=True)
    deadline_provisional = Boolean(default=False)  # see Resolution.deadline_provisional
    ack_due = Date()  # 2 working days after assignment
    acknowledged_at = Timestamptz(null=True, default=None)
    reported_done_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None, index=True)
    evidence = Text(default="")
    extension_status = Varchar(length=16, default="")  # "" | requested | approved | declined
    extension_deadline = Date(null=True, default=None)
    extension_reason = Text(default="")
    rating = Varchar(length=24, default="")  # "" | satisfied | basically_satisfied | dissatisfied
    rating_comment = Text(default="")
    rated_at = Timestamptz(null=True, default=None)
    reopened = Integer(default=0)
    version = Integer(default=1)


class TaskReport(Table, tablename="task_report"):
    """The task's dated record: progress reports, completion reports, returns, extension requests
    and decisions, closure and ratings, each with its author."""

    id = Serial(primary_key=True)
    task = ForeignKey(Task, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=24)
    text = Text(default="")
    author = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    author_name = Varchar(length=60, default="")
    created_at = Timestamptz()


class TaskAttachment(Table, tablename="task_attachment"):
    """Evidence attached to a report (photos, documents); same limits as agenda attachments."""

    id = Serial(primary_key=True)
    report = ForeignKey(TaskReport, index=True, on_delete=OnDelete.cascade)
    task = ForeignKey(Task, index=True, on_delete=OnDelete.restrict)
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    size = Integer()
    sha256 = Varchar(length=64)
    data = Bytea()
    created_at = Timestamptz()


class TaskLink(Table, tablename="task_link"):
    """A personal action link (/t/<task>/<token>) for the task's unit (`holder` "unit": acknowledge,
    report, ask for an extension) or its street (`holder` "street": rate the closed task), used without
    a password. Only the token's SHA-256 is kept; a new link for the same holder revokes the older
    one (conference.tasks.tokens), and the link stops when revoked, expired or the task moves past
    what the holder may do."""

    id = Serial(primary_key=True)
    task = ForeignKey(Task, index=True, on_delete=OnDelete.cascade)
    holder = Varchar(length=16)  # unit | street
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
