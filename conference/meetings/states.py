"""The states of a meeting, of an invitation (the unit's reply) and of a special-meeting request,
each an enum of the strings stored in the database with its Chinese labels."""

from __future__ import annotations

from enum import StrEnum

from conference.i18n import gettext as _


class MeetingStatus(StrEnum):
    DRAFT = "draft"
    NOTIFIED = "notified"
    HELD = "held"
    MINUTES_IN_REVIEW = "minutes_in_review"
    MINUTES_PUBLISHED = "minutes_published"
    CANCELLED = "cancelled"


MEETING_STATUS_LABELS: dict[str, str] = {
    MeetingStatus.DRAFT: _("草稿"), MeetingStatus.NOTIFIED: _("已通知"), MeetingStatus.HELD: _("已召开"),
    MeetingStatus.MINUTES_IN_REVIEW: _("纪要审签中"), MeetingStatus.MINUTES_PUBLISHED: _("纪要已印发"),
    MeetingStatus.CANCELLED: _("已取消"),
}


class Reply(StrEnum):
    """An invitation's state: the invited unit's reply."""

    PENDING = "pending"
    ATTENDING = "attending"
    LEAVE = "leave"
    DELEGATED = "delegated"
    TENTATIVE = "tentative"  # only from a calendar program's reply


REPLY_LABELS: dict[str, str] = {
    Reply.PENDING: _("未回复"), Reply.ATTENDING: _("参会"), Reply.LEAVE: _("请假"), Reply.DELEGATED: _("委托参会"),
    Reply.TENTATIVE: _("暂定"),
}


class RequestStatus(StrEnum):
    """A street's request for a special meeting."""

    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"


REQUEST_STATUS_LABELS: dict[str, str] = {
    RequestStatus.REQUESTED: _("待审批"), RequestStatus.APPROVED: _("已同意"), RequestStatus.DECLINED: _("未同意"),
}
