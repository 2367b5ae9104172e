"""The states of a message in the mail outbox: an enum of the strings stored in the database with
its Chinese labels."""

from __future__ import annotations

from enum import StrEnum

from conference.i18n import gettext as _


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


MAIL_STATUS_LABELS: dict[str, str] = {
    MailStatus.QUEUED: _("待发送"), MailStatus.SENDING: _("发送中"), MailStatus.SENT: _("已发送"),
    MailStatus.DEAD: _("发送失败"),
}
