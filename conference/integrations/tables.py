"""Targets an office registers, the events written in the transaction of each change (the outbox),
and one delivery per target and event (migration 2026-12-04T13:00)."""

from __future__ import annotations

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.registry.tables import Conference, MemberUnit

# webhook: a receiving system's HTTPS endpoint (JSON, HMAC-signed); wecom / dingtalk: a group robot.
TARGET_KINDS = ("webhook", "wecom", "dingtalk")
# queued -> sending (claimed) -> delivered | queued again (retry) | dead (retry period over)
DELIVERY_STATUSES = ("queued", "sending", "delivered", "dead")


class IntegrationTarget(Table, tablename="integration_target"):
    id = Serial(primary_key=True)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.cascade)
    # A robot for one unit's group: it gets only that unit's notices, and @s that unit's liaison.
    unit = ForeignKey(MemberUnit, null=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=12, default="webhook")
    name = Varchar(length=60, default="")
    url = Varchar(length=500, default="")
    # The webhook's HMAC key (shown once), or DingTalk's 加签 secret; kept in clear because signing needs it.
    secret = Varchar(length=100, default="")
    events = JSON(default="[]")
    active = Boolean(default=True)
    created_at = Timestamptz()
    version = Integer(default=1)


class IntegrationEvent(Table, tablename="integration_event"):
    id = Serial(primary_key=True)
    type = Varchar(length=40)
    conference = ForeignKey(Conference, null=True, on_delete=OnDelete.cascade)
    entity = Varchar(length=40, default="")
    entity_id = Integer(null=True, default=None)
    occurred_at = Timestamptz()
    payload = JSON(default="{}")


class IntegrationDelivery(Table, tablename="integration_delivery"):
    id = Serial(primary_key=True)
    target = ForeignKey(IntegrationTarget, on_delete=OnDelete.cascade)
    event = ForeignKey(IntegrationEvent, index=True, on_delete=OnDelete.cascade)
    body = Text(default="")  # the exact JSON posted (signed at send time)
    status = Varchar(length=12, default="queued")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    failing_since = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    response_status = Integer(null=True, default=None)
    created_at = Timestamptz()
    delivered_at = Timestamptz(null=True, default=None)
