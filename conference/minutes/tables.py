"""Minutes (会议纪要) of a held meeting: one record per meeting, every save a numbered version,
the convenor's comments and decisions, and each published PDF stored once with its SHA-256.

`Minutes.status`: draft → submitted → returned | published; a correction after publication opens a
new draft (with its reason) while the published copy stays in force until the correction is signed.
"""

from __future__ import annotations

from piccolo.columns import Bytea, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.accounts.tables import User
from conference.meetings.tables import Meeting
from conference.registry.tables import Conference

MINUTES_STATES = ("draft", "submitted", "returned", "published")


class Minutes(Table, tablename="minutes"):
    id = Serial(primary_key=True)
    meeting = ForeignKey(Meeting, unique=True, index=True, on_delete=OnDelete.restrict)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)  # copied from the meeting for scope checks
    status = Varchar(length=16, default="draft", index=True)
    current_version = Integer(default=1)  # the latest saved version's number
    submitted_version = Integer(null=True, default=None)  # the version the convenor reviews
    published_version = Integer(null=True, default=None)  # the version in force
    correction_reason = Text(default="")  # set while a correction of the published copy is drafted
    # 第N期: numbered per conference and calendar year of the meeting; unique together with the
    # conference (an index made by migration 2026-12-03T09:41), so two drafts started at once
    # cannot take the same number.
    issue_year = Integer(null=True, default=None)
    issue_number = Integer(null=True, default=None)
    # 文号 (兰联办〔2026〕6号), given once at the first publication (conference.documents.numbers);
    # "" before it, or when the conference has no 发文机关代字. A correction keeps it.
    doc_number = Varchar(length=40, default="")
    created_at = Timestamptz()
    version = Integer(default=1)  # row version (optimistic locking, conference.records)


class MinutesVersion(Table, tablename="minutes_version"):
    """One saved text: the office's free-text sections and the snapshot of the records (meeting
    facts, resolutions) it was drafted from, both as JSON text. Never updated after submission."""

    id = Serial(primary_key=True)
    minutes = ForeignKey(Minutes, index=True, on_delete=OnDelete.restrict)
    number = Integer()
    sections = Text()  # JSON object: section key -> text
    records = Text()  # JSON object: the meeting facts and resolutions at the time of saving
    correction_reason = Text(default="")  # non-empty for a version correcting a published one
    author = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    author_name = Varchar(length=60, default="")
    created_at = Timestamptz()
    submitted_at = Timestamptz(null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    approved_by_name = Varchar(length=60, default="")


class MinutesComment(Table, tablename="minutes_comment"):
    """The convenor's (or the office's) remark on a version, on the whole text or one section;
    returns and approvals are recorded here too, with kind return / approve."""

    id = Serial(primary_key=True)
    minutes = ForeignKey(Minutes, index=True, on_delete=OnDelete.restrict)
    version_number = Integer()
    section = Varchar(length=40, default="")  # "" = the whole text
    kind = Varchar(length=16, default="comment")  # comment | return | approve
    text = Text(default="")
    author = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    author_name = Varchar(length=60, default="")
    created_at = Timestamptz()


class MinutesPublication(Table, tablename="minutes_publication"):
    """A signed copy: the PDF/A bytes rendered once at approval and served unchanged ever after.
    `seq` 1 is the original publication, 2 the first correction, and so on."""

    id = Serial(primary_key=True)
    minutes = ForeignKey(Minutes, index=True, on_delete=OnDelete.restrict)
    seq = Integer()
    version_number = Integer()
    reason = Text(default="")  # the correction's reason; "" for the original
    pdf = Bytea()
    sha256 = Varchar(length=64)
    size = Integer()
    published_at = Timestamptz()
    published_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    published_by_name = Varchar(length=60, default="")
