"""Webhook endpoints and group robots over the JSON API (issue 15 items 3 and 4), as the /integrations
pages: list, read, register, change, enable or disable a target of the office's own conferences; a
new webhook signing secret; a target's deliveries (status, attempts, the receiver's last answer) and
delivering a dead one again.

Handlers are thin: conference.integrations.services checks the office scope, the form rules (the SSRF
guard of conference.integrations.urls: https:// to public addresses only; at least one event; DingTalk's
SEC secret) and writes the audit trail. Secrets are write-only: a webhook's signing secret appears in
the answer that creates it (or makes a new one) and never again, a DingTalk secret never; the values in
a URL's query string (the robots' key / access_token) are shown masked. Targets are disabled, not deleted
(their deliveries stay on record), as on the page."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, get, patch, post
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, QueryParameter

from conference.accounts.actor import Actor, CurrentActor
from conference.errors import Conflict, ValidationFailed
from conference.i18n import gettext as _
from conference.integrations import services
from conference.integrations.events import EVENT_LABELS, ROBOT_DEFAULT_EVENTS
from conference.integrations.forms import TARGET_FORM
from conference.integrations.tables import IntegrationDelivery as D
from conference.integrations.tables import IntegrationTarget as T
from conference.roles import OFFICE_ROLES
from conference.web.apikit import READ_ERRORS, WRITE_ERRORS, IdPath, Page, PageQuery, PerPageQuery, TextQuery, page_fields, relabelled
from conference.web.listing import MAX_ID, PER_PAGE, paginate, paging

TAGS = ["推送地址"]
# The names msgspec's errors still need: the query parameters, a body without its kind, a PATCH's
# version; the bodies' fields are named by their spec (forms.TARGET_FORM, json_fields).
LABELS = {"kind": TARGET_FORM["kind"].label, "active": TARGET_FORM["active"].label, "version": _("版本"), "status": _("状态")}
MASK = "****"

Kind = Literal["webhook", "wecom", "dingtalk"]
DeliveryStatus = Literal["queued", "sending", "delivered", "dead"]
Ref = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


class TargetOut(msgspec.Struct):
    id: int
    kind: str  # webhook | wecom | dingtalk
    name: str
    conference: int
    conference_name: str
    unit: int | None  # a robot for one member unit's group
    unit_name: str | None
    url: str  # values in the query string masked (the robots' key / access_token)
    events: list[str]
    active: bool
    has_secret: bool  # the secret itself is never shown again
    pending: int  # deliveries waiting or being sent
    dead: int  # deliveries that failed for good (dead letters)
    created_at: dt.datetime
    version: int


class TargetCreated(msgspec.Struct):
    target: TargetOut
    secret: str | None  # a webhook's signing secret: shown in this answer only


# The request bodies, derived from the page's form (forms.TARGET_FORM), their JSON types checked by
# json_fields in Chinese. TargetIn: unit for robots only; secret is DingTalk's 加签 secret (SEC...),
# webhooks get one generated; events left out: every event for a webhook, the notices a group reads
# for a robot. TargetPatch: the version read; the masked URL as read counts as unchanged; a webhook's
# secret comes from POST .../secret; active switches the target on or off.
TargetIn = TARGET_FORM.struct("TargetIn", skip=("active",))
TargetPatch = TARGET_FORM.struct("TargetPatch", patch=True, skip=("kind",), extra=[("version", Ref)])


class SecretOut(msgspec.Struct):
    target: TargetOut
    secret: str


class DeliveryOut(msgspec.Struct):
    id: int
    created_at: dt.datetime
    event_id: int
    event_type: str
    status: str  # queued | sending | delivered | dead
    attempts: int
    last_error: str
    response_status: int | None
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None


TARGET_EXAMPLE = {"id": 7, "kind": "dingtalk", "name": "兰山街道议事群", "conference": 3,
                  "conference_name": "兰山街道城市基层党建联席会议", "unit": None, "unit_name": None,
                  "url": "https://oapi.dingtalk.com/robot/send?access_token=9f3a****",
                  "events": ["meeting.notified", "task.assigned", "task.urged"], "active": True, "has_secret": True,
                  "pending": 0, "dead": 0, "created_at": "2026-12-05T09:30:00+08:00", "version": 1}
DELIVERY_EXAMPLE = {"id": 120, "created_at": "2026-12-05T10:02:11+08:00", "event_id": 88, "event_type": "meeting.notified",
                    "status": "dead", "attempts": 9, "last_error": "HTTP 503", "response_status": 503,
                    "next_attempt_at": None, "delivered_at": None}


def _ok(model: Any, example: Any, description: str, status: int = 200) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(model, description=description, generate_examples=False,
                                 examples=[Example(summary=_("示例"), value=example)])}


def mask_url(url: str) -> str:
    """The URL with each query value cut to its first 4 characters and ****: enough to tell two robots
    apart, not enough to post to them."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return MASK
    if not parts.query:
        return url
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    return urllib.parse.urlunsplit(parts._replace(query="&".join(f"{k}={v[:4]}{MASK}" for k, v in pairs), fragment=""))


async def _targets(actor: Actor, target_id: int | None = None) -> list[TargetOut]:
    rows = await services.targets_for(actor)  # the page's list: scope, events, pending and dead counts
    if target_id is not None:
        rows = [r for r in rows if r["id"] == target_id]
    extra = {r["id"]: r for r in await T.select(T.id, T.conference, T.unit, T.secret, T.version).where(
        T.id.is_in([r["id"] for r in rows] or [0]))}
    found = []
    for row in rows:
        more = extra[row["id"]]
        found.append(TargetOut(
            id=row["id"], kind=row["kind"], name=row["name"], conference=more["conference"], conference_name=row["conference_name"],
            unit=more["unit"], unit_name=row["unit_name"], url=mask_url(row["url"]), events=row["events"],
            active=bool(row["active"]), has_secret=bool(more["secret"]), pending=row["pending"], dead=row["dead"],
            created_at=row["created_at"], version=more["version"]))
    return found


async def _target(actor: Actor, target_id: int) -> TargetOut:
    await services.target_for(actor, target_id)  # 403 for other roles, 404 out of scope
    return (await _targets(actor, target_id))[0]


# ---------------------------------------------------------------- targets


@get("/targets", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("推送地址列表"),
     responses={**READ_ERRORS, **_ok(Page[TargetOut], {"items": [TARGET_EXAMPLE], "total": 1, "page": 1, "per_page": 20},
                                      _("一页推送地址"))})
async def list_targets(
    actor: CurrentActor,
    kind: Annotated[Kind | None, QueryParameter(description=_("webhook、wecom（企业微信）或 dingtalk（钉钉）"))] = None,
    active: Annotated[bool | None, QueryParameter(description=_("true 只看启用的，false 只看已停用的"))] = None,
    q: TextQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = PER_PAGE,
) -> Page[TargetOut]:
    """与“推送地址”页面相同：办公室看到其联席会议（含下级）的推送地址，管理员看到全部；按登记先后排列。q 搜索名称。
    密钥从不返回（has_secret 说明是否设置），网址查询参数的值已打码。"""
    term = (q or "").replace("\x00", "").strip().lower()
    rows = [t for t in await _targets(actor)
            if (kind is None or t.kind == kind) and (active is None or t.active == active) and term in t.name.lower()]
    at = paging(len(rows), page, per_page)
    return Page(items=rows[at.offset:at.offset + at.limit], **page_fields(at))


@get("/targets/{target_id:int}", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("推送地址详情"),
     responses={**READ_ERRORS, **_ok(TargetOut, TARGET_EXAMPLE, _("推送地址"))})
async def get_target(actor: CurrentActor, target_id: IdPath) -> TargetOut:
    """其他联席会议的推送地址答复 404。"""
    return await _target(actor, target_id)


def _form(values: dict[str, Any]) -> dict[str, Any]:
    """A body as the page's form reads it: ids as text, no value as empty."""
    return {k: ("" if v is None else str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in values.items()}


@post("/targets", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("登记推送地址"), status_code=201,
      responses={**WRITE_ERRORS, **_ok(TargetCreated, {"target": {**TARGET_EXAMPLE, "kind": "webhook", "url": "https://hooks.example.cn/lxhy"},
                                                       "secret": "whsec_Jx3…"}, _("已登记；Webhook 的签名密钥只在此答复中出现"), 201)})
async def create_target(actor: CurrentActor, data: Annotated[TargetIn, Body(examples=[  # type: ignore[valid-type]
        Example(summary=_("Webhook 接收地址"), value={"kind": "webhook", "name": "区网格化平台", "conference": 1,
                                                     "url": "https://grid.example.gov.cn/hooks/lxhy",
                                                     "events": ["item.status_changed", "task.status_changed"]}),
        Example(summary=_("钉钉群机器人"), value={"kind": "dingtalk", "name": "兰山街道议事群", "conference": 3,
                                                "url": "https://oapi.dingtalk.com/robot/send?access_token=9f3a…",
                                                "secret": "SEC0123…"})])]) -> TargetCreated:
    """与页面的表单相同的校验：网址须为 https:// 且指向公网地址（内网、回环、链路本地地址一律拒绝），至少一种事件，
    钉钉加签密钥以 SEC 开头。Webhook 的签名密钥由系统生成，只在本答复中出现一次。"""
    values = TARGET_FORM.json_fields(data)
    if values["events"] is None:
        values["events"] = list(ROBOT_DEFAULT_EVENTS) if values["kind"] != "webhook" else list(EVENT_LABELS)
    if values["kind"] == "webhook" and values["secret"]:
        raise ValidationFailed({"secret": _("Webhook 的签名密钥由系统生成，不能自行填写。")})
    target_id, secret = await services.create_target(actor, _form(values))
    return TargetCreated(target=await _target(actor, target_id), secret=secret or None)


@patch("/targets/{target_id:int}", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("修改推送地址"),
       responses={**WRITE_ERRORS, **_ok(TargetOut, {**TARGET_EXAMPLE, "version": 2}, _("修改后的推送地址"))})
async def update_target(actor: CurrentActor, target_id: IdPath, data: Annotated[TargetPatch, Body(examples=[  # type: ignore[valid-type]
        Example(summary=_("改推送事件"), value={"version": 1, "events": ["meeting.notified", "task.urged"]}),
        Example(summary=_("停用"), value={"version": 1, "active": False})])]) -> TargetOut:
    """version 为读到的版本（他人已修改时答复 409）。省略的字段保持不变；回传读到的（打码的）网址视为不变。
    钉钉的加签密钥可以更换（secret），Webhook 的签名密钥请用 POST …/secret 重新生成。active 为 false 时停用，不再推送。"""
    given = TARGET_FORM.json_fields(data)  # the fields sent, of the right JSON types
    current = await services.target_for(actor, target_id)
    if "secret" in given and current["kind"] != "dingtalk":
        raise ValidationFailed({"secret": _("只有钉钉群机器人可以填写加签密钥；Webhook 的签名密钥请重新生成。")})
    if given.get("url") == mask_url(current["url"]):
        given.pop("url")
    active = given.pop("active", None)
    if set(given) - {"version"}:
        merged = {"name": current["name"], "conference": current["conference"], "unit": current["unit"],
                  "url": current["url"], "events": current["events"], **given}
        await services.update_target(actor, target_id, _form(merged))
    elif current["version"] != given["version"]:  # as update_audited answers a stale version
        raise Conflict(_("该记录已被他人修改，您看到的不是最新内容。请刷新页面，核对后重新保存。"))
    if active is not None:
        await services.set_active(actor, target_id, active)
    return await _target(actor, target_id)


@post("/targets/{target_id:int}/secret", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("重新生成签名密钥"),
      status_code=200, responses={**WRITE_ERRORS, **_ok(SecretOut, {"target": {**TARGET_EXAMPLE, "kind": "webhook"},
                                                                     "secret": "whsec_Jx3…"}, _("新密钥，只显示这一次"))})
async def new_secret(actor: CurrentActor, target_id: IdPath) -> SecretOut:
    """Webhook 接收地址的新签名密钥，原密钥立即失效；只在本答复中出现。群机器人答复 409。"""
    secret = await services.new_secret(actor, target_id)
    return SecretOut(target=await _target(actor, target_id), secret=secret)


# ---------------------------------------------------------------- deliveries


DELIVERY_COLUMNS = [D.id, D.created_at, D.status, D.attempts, D.last_error, D.response_status, D.delivered_at,
                    D.next_attempt_at, D.event.type.as_alias("event_type"), D.event.id.as_alias("event_id")]


@get("/targets/{target_id:int}/deliveries", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("推送地址的投递记录"),
     responses={**READ_ERRORS, **_ok(Page[DeliveryOut], {"items": [DELIVERY_EXAMPLE], "total": 1, "page": 1, "per_page": 20},
                                      _("一页投递记录"))})
async def list_deliveries(
    actor: CurrentActor,
    target_id: IdPath,
    status: Annotated[DeliveryStatus | None, QueryParameter(description=_("状态；dead 为投递失败"))] = None,
    q: TextQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = PER_PAGE,
) -> Page[DeliveryOut]:
    """与“投递记录”页面相同：最新的在前，含尝试次数和对方的最后答复（last_error）。q 搜索错误信息。"""
    await services.target_for(actor, target_id)  # 404 out of scope
    where = await services.deliveries_condition(actor, status or "", target_id)
    query = {"q": (q or "").replace("\x00", ""), "page": str(page), "per_page": str(per_page), "desc": "1"}
    listing = await paginate(D, DELIVERY_COLUMNS, query, search=[D.last_error], sorts={"created": D.id},
                             default_sort="created", where=where)
    items = [msgspec.convert(r, DeliveryOut) for r in listing.rows]
    return Page(items=items, **page_fields(listing))


@post("/deliveries/{delivery_id:int}/redeliver", opt={"roles": OFFICE_ROLES}, tags=TAGS,
      summary=_("重新投递"), status_code=200,
      responses={**WRITE_ERRORS, **_ok(DeliveryOut, {**DELIVERY_EXAMPLE, "status": "queued"}, _("已重新排队的投递"))})
async def redeliver(actor: CurrentActor, delivery_id: IdPath) -> DeliveryOut:
    """投递失败（dead）的记录重新排队，几分钟内再次投递；其他状态答复 409。"""
    await services.redeliver(actor, delivery_id)
    row = await D.select(*DELIVERY_COLUMNS).where(D.id == delivery_id).first()
    return msgspec.convert(row, DeliveryOut)


ROUTES: list[Any] = [Router(path="/api/integrations", route_handlers=[list_targets, get_target, create_target, update_target,
                                                                      new_secret, list_deliveries, redeliver],
                            exception_handlers={ValidationException: relabelled(LABELS)})]
