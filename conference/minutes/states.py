"""The states of a meeting's minutes: an enum of the strings stored in the database with its
Chinese labels."""

from __future__ import annotations

from enum import StrEnum

from conference.i18n import gettext as _


class MinutesStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"


MINUTES_STATUS_LABELS: dict[str, str] = {
    MinutesStatus.DRAFT: _("起草中"), MinutesStatus.SUBMITTED: _("待签发"), MinutesStatus.RETURNED: _("已退回修改"),
    MinutesStatus.PUBLISHED: _("已签发印发"),
}
