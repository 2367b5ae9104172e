"""The states of a delivery to an integration target (webhook, WeCom or DingTalk robot): an enum
of the strings stored in the database with its Chinese labels."""

from __future__ import annotations

from enum import StrEnum

from conference.i18n import gettext as _


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


DELIVERY_STATUS_LABELS: dict[str, str] = {
    DeliveryStatus.QUEUED: _("等待发送"), DeliveryStatus.SENDING: _("发送中"), DeliveryStatus.DELIVERED: _("已送达"),
    DeliveryStatus.DEAD: _("投递失败"),
}
