"""What goes over the wire: webhook signatures, and group-robot messages in the formats the two
platforms document.

Webhook (our own format): the JSON event, with headers
  X-Conference-Event-Id: <event id>
  X-Conference-Timestamp: <Unix seconds>
  X-Conference-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>
Receivers recompute the HMAC over the raw body, compare with hmac.compare_digest, and refuse a
timestamp more than 5 minutes away from their clock (README, "Webhooks").

企业微信 group robot (POST to https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...):
  {"msgtype": "markdown", "markdown": {"content": "..."}}
WeCom's markdown cannot @ anyone by mobile number (only <@userid>, and the registry keeps mobiles,
not WeCom user ids), so a notice that must @ liaisons is sent as a text message instead:
  {"msgtype": "text", "text": {"content": "...", "mentioned_mobile_list": ["138..."]}}

钉钉 group robot (POST to https://oapi.dingtalk.com/robot/send?access_token=...):
  {"msgtype": "markdown", "markdown": {"title": "...", "text": "... @138..."}, "at": {"atMobiles": [...], "isAtAll": false}}
With 加签 the URL carries &timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))>;
DingTalk refuses a timestamp more than an hour old, so the URL is signed at each attempt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conference import db
from conference.i18n import gettext as _
from conference.timefmt import cn_date, cn_datetime

SIGNATURE_HEADER = "X-Conference-Signature"
TIMESTAMP_HEADER = "X-Conference-Timestamp"
EVENT_ID_HEADER = "X-Conference-Event-Id"
REPLAY_WINDOW_SECONDS = 300  # documented for receivers


def webhook_signature(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_headers(secret: str, event_id: int, timestamp: int, body: str) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", EVENT_ID_HEADER: str(event_id),
            TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: webhook_signature(secret, timestamp, body)}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot URL with DingTalk's 加签 parameters (none when the robot has no secret)."""
    if not secret:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


@dataclass
class Notice:
    title: str
    lines: list[str]
    link: str = ""
    # unit id -> its liaison's mobile ("" when the registry has none)
    unit_mobiles: dict[int, str] = field(default_factory=dict)

    @property
    def units(self) -> set[int]:
        return set(self.unit_mobiles)

    def mobiles_for(self, unit_id: int | None) -> list[str]:
        """A unit's robot @s that unit's liaison; a conference's robot @s every unit concerned."""
        chosen = [self.unit_mobiles.get(unit_id, "")] if unit_id is not None else list(self.unit_mobiles.values())
        return sorted({m for m in chosen if m})


def _mobile(phone: str | None) -> str:
    """Only a mobile number can be @-ed: 11 digits starting with 1 (a desk phone cannot)."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return digits if len(digits) == 11 and digits.startswith("1") else ""


def robot_body(kind: str, notice: Notice, mobiles: list[str]) -> str:
    heading = f"### {notice.title}"
    body_lines = [*notice.lines, *([f"[{_('查看详情')}]({notice.link})"] if notice.link else [])]
    payload: dict[str, Any]
    if kind == "dingtalk":
        mentions = " ".join(f"@{m}" for m in mobiles)
        text = "\n\n".join([heading, *body_lines, *([mentions] if mentions else [])])
        payload = {"msgtype": "markdown", "markdown": {"title": notice.title, "text": text},
                   "at": {"atMobiles": mobiles, "isAtAll": False}}
    elif mobiles:  # WeCom: only a text message can @ by mobile number (see the module's note)
        plain = "\n".join([notice.title, *notice.lines, *([notice.link] if notice.link else [])])
        payload = {"msgtype": "text", "text": {"content": plain, "mentioned_mobile_list": mobiles}}
    else:
        payload = {"msgtype": "markdown", "markdown": {"content": "\n".join([heading, *body_lines])}}
    return json.dumps(payload, ensure_ascii=False)


async def _units(sql: str, *params: Any) -> dict[int, str]:
    rows = await db.fetch(sql, *params)
    return {int(r["id"]): _mobile(r["liaison_phone"]) for r in rows}


async def notice_for(type_: str, entity: str, entity_id: int | None, after: Mapping[str, Any], *, title: str | None,
                     text: str | None, base_url: str) -> Notice:
    """The group message for an event: a title, a few lines and a link, with the units concerned."""
    from conference.agenda.states import ITEM_STATUS_LABELS
    from conference.tasks.states import TASK_STATUS_LABELS

    if entity == "task" and entity_id is not None:
        rows = await db.fetch(
            "SELECT t.id, t.unit, t.deadline, t.status, r.text, u.name AS unit_name, u.liaison_phone FROM task t "
            "JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit WHERE t.id = {}", entity_id)
        task = rows[0] if rows else None
        units = {int(task["unit"]): _mobile(task["liaison_phone"])} if task else {}
        link = f"{base_url}/tasks/{entity_id}"
        if title is not None:  # the reminder job's own words
            return Notice(title=title, lines=[line for line in (text or "").splitlines() if line], unit_mobiles=units)
        heading = {"task.assigned": _("【督办交办】"), "task.urged": _("【催办】")}.get(type_, _("【督办任务】"))
        lines = []
        if task:
            lines = [_("议定事项：{text}").format(text=task["text"]), _("承办单位：{unit}").format(unit=task["unit_name"]),
                     _("办理期限：{date}").format(date=cn_date(task["deadline"])),
                     _("当前状态：{state}").format(state=TASK_STATUS_LABELS.get(task["status"], task["status"]))]
        if type_ == "task.urged" and after.get("message"):
            lines.append(_("催办意见：{text}").format(text=after["message"]))
        return Notice(title=heading + (task["unit_name"] if task else ""), lines=lines, link=link, unit_mobiles=units)
    if entity == "meeting" and entity_id is not None:
        rows = await db.fetch("SELECT title, starts_at, location, cancel_reason FROM meeting WHERE id = {}", entity_id)
        meeting = rows[0] if rows else {"title": "", "starts_at": None, "location": "", "cancel_reason": ""}
        units = await _units("SELECT u.id, u.liaison_phone FROM invitation i JOIN member_unit u ON u.id = i.unit "
                             "WHERE i.meeting = {}", entity_id)
        heading = {"meeting.notified": _("【会议通知】"), "meeting.changed": _("【会议变更】"),
                   "meeting.cancelled": _("【会议取消】")}.get(type_, _("【会议】"))
        lines = [_("时间：{start}").format(start=cn_datetime(db.as_datetime(meeting["starts_at"]))),
                 _("地点：{location}").format(location=meeting["location"])]
        if type_ == "meeting.cancelled" and meeting.get("cancel_reason"):
            lines.append(_("取消原因：{reason}").format(reason=meeting["cancel_reason"]))
        return Notice(title=heading + str(meeting["title"] or ""), lines=lines, link=f"{base_url}/meetings/{entity_id}", unit_mobiles=units)
    if entity == "agenda_item" and entity_id is not None:
        rows = await db.fetch("SELECT title, status FROM agenda_item WHERE id = {}", entity_id)
        item = rows[0] if rows else {"title": "", "status": ""}
        return Notice(title=_("【议题】") + item["title"],
                      lines=[_("状态：{state}").format(state=ITEM_STATUS_LABELS.get(item["status"], item["status"]))],
                      link=f"{base_url}/items/{entity_id}")
    if entity == "minutes" and entity_id is not None:
        rows = await db.fetch("SELECT m.meeting, g.title FROM minutes m JOIN meeting g ON g.id = m.meeting WHERE m.id = {}",
                              entity_id)
        found = rows[0] if rows else None
        return Notice(title=_("【纪要印发】") + (found["title"] if found else ""), lines=[_("会议纪要已签发印发。")],
                      link=f"{base_url}/meetings/{found['meeting']}" if found else "")
    return Notice(title=title or type_, lines=[line for line in (text or "").splitlines() if line])
