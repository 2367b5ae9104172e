"""Accounts within the office's scope over the JSON API (issue 15 item 1): the accounts of the member
units, streets and convenors whose registry records the office's conferences own -- the accounts of
the /accounts/units, /accounts/streets and /accounts/convenors pages -- as one paged list, one
account, opening an account for a record (a set-password link goes to its address, nobody types a
password for someone else), activating and deactivating, and sending a reset link.

Handlers are thin: scope, rules and audit are conference.accounts.onboarding's, the pages' own
(an account or record out of reach answers 404; other roles 403). The admin sees every account."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, get, patch, post
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, QueryParameter

from conference.accounts import onboarding
from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.forms import ACCOUNT_FORM, ACCOUNT_PATCH_FORM
from conference.accounts.tables import User
from conference.errors import NotFound, ValidationFailed
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES
from conference.web.apikit import READ_ERRORS, WRITE_ERRORS, IdPath, Page, PageQuery, PerPageQuery, TextQuery, page_fields, relabelled
from conference.web.listing import MAX_ID, PER_PAGE, paginate

TAGS = ["账号"]
# The names msgspec's errors of the query parameters (kind, active) still need; the bodies' fields are
# named by their specs. A body's required kind and record keep theirs for the answer to a body that
# leaves them out, wherever that is reported.
LABELS = {"kind": ACCOUNT_FORM["kind"].label, "record": ACCOUNT_FORM["record"].label, "active": _("是否启用")}
FIXED = _("账号的角色和所属对象在开通时确定，不能修改。如需更换，请停用此账号，再为新的对象开通账号。")
ROLE_OF_KIND = {slug: kind.role for slug, kind in onboarding.KINDS.items()}
KIND_OF_ROLE = {kind.role: slug for slug, kind in onboarding.KINDS.items()}

KindName = Literal["units", "streets", "convenors"]
RecordId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


class AccountOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    email: str
    role: str  # unit | street | convenor (the admin also sees office, admin, intake accounts)
    kind: str  # units | streets | convenors, "" for other roles
    record: int | None  # the unit, street or convenor (person) the account belongs to
    record_name: str | None
    conference: int | None  # an office account's conference
    active: bool
    password_set: bool  # false until the holder has used the set-password link
    created_at: dt.datetime


# The request bodies, derived from the account form's specs (conference.accounts.forms), their JSON
# types checked by json_fields in Chinese. AccountIn: kind and record name the record; username,
# display_name and email left out are as the page suggests (unit12, the record's name, the address in
# the registry). AccountPatch: `active` switches the account on or off; role and linked record are
# fixed at creation: sending them with another value is refused (400), the same value changes nothing.
AccountIn = ACCOUNT_FORM.struct("AccountIn")
AccountPatch = ACCOUNT_PATCH_FORM.struct("AccountPatch", patch=True)


class SentOut(msgspec.Struct):
    sent: bool
    account: AccountOut


ACCOUNT_EXAMPLE = {"id": 42, "username": "unit12", "display_name": "兰山区市场监管局", "email": "scjg@lanshan.gov.cn",
                   "role": "unit", "kind": "units", "record": 12, "record_name": "兰山区市场监管局", "conference": None,
                   "active": True, "password_set": False, "created_at": "2026-12-05T09:30:00+08:00"}


def _ok(model: Any, example: Any, description: str, status: int = 200) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(model, description=description, generate_examples=False,
                                 examples=[Example(summary=_("示例"), value=example)])}


def _columns() -> list[Any]:
    return [User.id, User.username, User.display_name, User.email, User.role, User.active, User.password_hash,
            User.created_at, User.conference, User.unit, User.street, User.person,
            User.unit.name.as_alias("unit_name"), User.street.name.as_alias("street_name"),
            User.person.name.as_alias("person_name")]


def _out(row: dict[str, Any]) -> AccountOut:
    kind = onboarding.KIND_OF_ROLE.get(row["role"])
    record = row[kind.link] if kind else None
    names = {"unit": row["unit_name"], "street": row["street_name"], "person": row["person_name"]}
    return AccountOut(id=row["id"], username=row["username"], display_name=row["display_name"] or "",
                      email=row["email"] or "", role=row["role"], kind=KIND_OF_ROLE.get(row["role"], ""),
                      record=record, record_name=names[kind.link] if kind else None, conference=row["conference"],
                      active=bool(row["active"]), password_set=row["password_hash"] != onboarding.UNSET_HASH,
                      created_at=row["created_at"])


async def _account(actor: Actor, user_id: int) -> AccountOut:
    await onboarding.managed_account(actor, user_id)  # 403 for other roles, 404 out of reach
    row = await User.select(*_columns()).where(User.id == user_id).first()
    if row is None:
        raise NotFound(onboarding.ACCOUNT_NOT_FOUND)
    return _out(row)


# ---------------------------------------------------------------- reads


@get("/", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("账号列表"),
     responses={**READ_ERRORS, **_ok(Page[AccountOut], {"items": [ACCOUNT_EXAMPLE], "total": 1, "page": 1, "per_page": 20},
                                      _("一页账号"))})
async def list_accounts(
    actor: CurrentActor,
    kind: Annotated[KindName | None, QueryParameter(description=_("units 成员单位，streets 街道，convenors 召集人"))] = None,
    active: Annotated[bool | None, QueryParameter(description=_("true 只看启用的，false 只看已停用的"))] = None,
    q: TextQuery = None,
    sort: Annotated[Literal["username", "created_at", "role"], QueryParameter()] = "username",
    desc: Annotated[bool, QueryParameter()] = False,
    page: PageQuery = 1,
    per_page: PerPageQuery = PER_PAGE,
) -> Page[AccountOut]:
    """与账号管理页面相同的范围：办公室看到其联席会议登记的成员单位、街道和召集人的账号（不含办公室账号），管理员看到全部账号。
    q 搜索用户名、姓名和邮箱。"""
    where = await onboarding.managed_accounts_condition(actor)
    for condition in ((User.role == ROLE_OF_KIND[kind]) if kind else None,
                      (User.active == active) if active is not None else None):
        if condition is not None:
            where = condition if where is None else (where & condition)
    query = {"q": (q or "").replace("\x00", ""), "sort": sort, "desc": "1" if desc else "", "page": str(page),
             "per_page": str(per_page)}
    listing = await paginate(User, _columns(), query, search=[User.username, User.display_name, User.email],
                             sorts={"username": User.username, "created_at": User.created_at, "role": User.role},
                             default_sort="username", where=where)
    return Page(items=[_out(r) for r in listing.rows], **page_fields(listing))


@get("/{user_id:int}", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("账号详情"),
     responses={**READ_ERRORS, **_ok(AccountOut, ACCOUNT_EXAMPLE, _("账号"))})
async def get_account(actor: CurrentActor, user_id: IdPath) -> AccountOut:
    """不在本联席会议管理范围内的账号（含其他联席会议的账号和办公室账号）答复 404。"""
    return await _account(actor, user_id)


# ---------------------------------------------------------------- writes


@post("/", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("开通账号"), status_code=201,
      description=_("为本联席会议登记的成员单位、街道或召集人开通账号（与账号管理页面相同）：不设密码，系统向 email 发送一次性的"
                    "设置密码链接（{h} 小时内有效）。省略的字段按页面的建议填写；对象已有账号时答复 409。").format(h=onboarding.LINK_HOURS),
      responses={**WRITE_ERRORS, **_ok(AccountOut, ACCOUNT_EXAMPLE, _("已开通，设置密码的链接已发送"), 201)})
async def create_account(actor: CurrentActor, data: Annotated[AccountIn, Body(examples=[Example(  # type: ignore[valid-type]
        summary=_("为成员单位开通账号"), value={"kind": "units", "record": 12, "email": "scjg@lanshan.gov.cn"})])]) -> AccountOut:
    sent = ACCOUNT_FORM.json_fields(data)
    slug, record_id = ACCOUNT_FORM.read(sent, ("kind", "record")).values()
    kind = onboarding.KINDS[slug]
    record = await onboarding.managed_record(actor, kind, record_id)  # 403 / 404 as the page
    values = onboarding.suggested(kind, record)  # as the page's form starts
    given = {k: v for k, v in sent.items() if v is not None and k not in ("kind", "record")}
    user_id = await onboarding.create_account(actor, kind, record_id, {**values, **given})
    return await _account(actor, user_id)


@patch("/{user_id:int}", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("修改账号（启用或停用）"),
       responses={**WRITE_ERRORS, **_ok(AccountOut, {**ACCOUNT_EXAMPLE, "active": False}, _("修改后的账号"))})
async def update_account(actor: CurrentActor, user_id: IdPath, data: Annotated[AccountPatch, Body(examples=[  # type: ignore[valid-type]
        Example(summary=_("停用账号"), value={"active": False})])]) -> AccountOut:
    """active 为 false 时停用：该账号的登录会话、接口令牌和未使用的链接立即失效；true 时重新启用。
    角色（role）和所属对象（unit、street、person、conference）不能修改。"""
    sent = ACCOUNT_PATCH_FORM.json_fields(data)
    current = await onboarding.managed_account(actor, user_id)
    errors: dict[str, str] = {name: FIXED for name in ("role", "unit", "street", "person", "conference")
              if name in sent and sent[name] != current[name]}
    if errors:
        raise ValidationFailed(errors)
    if "active" in sent:
        await onboarding.set_active(actor, user_id, sent["active"])
    return await _account(actor, user_id)


@post("/{user_id:int}/deactivate", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("停用账号"), status_code=200,
      responses={**WRITE_ERRORS, **_ok(AccountOut, {**ACCOUNT_EXAMPLE, "active": False}, _("已停用的账号"))})
async def deactivate_account(actor: CurrentActor, user_id: IdPath) -> AccountOut:
    """与页面的“停用”相同：登录会话、接口令牌和未使用的设置密码链接立即失效。不能停用自己的账号（409）。"""
    await onboarding.set_active(actor, user_id, False)
    return await _account(actor, user_id)


@post("/{user_id:int}/reset-link", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("发送重置密码链接"),
      status_code=200, responses={**WRITE_ERRORS, **_ok(SentOut, {"sent": True, "account": ACCOUNT_EXAMPLE},
                                                         _("链接已发送到账号登记的邮箱"))})
async def send_reset_link(actor: CurrentActor, user_id: IdPath) -> SentOut:
    """向账号登记的邮箱发送一次性的重置密码链接；原密码在链接使用前仍然有效。已停用或没有邮箱的账号答复 409。"""
    await onboarding.office_reset(actor, user_id)
    return SentOut(sent=True, account=await _account(actor, user_id))


ROUTES: list[Any] = [Router(path="/api/accounts", route_handlers=[list_accounts, get_account, create_account, update_account,
                                                                  deactivate_account, send_reset_link],
                            exception_handlers={ValidationException: relabelled(LABELS)})]
