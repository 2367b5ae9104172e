"""Accounts the office gives: for the member units, streets and convenors of its own conferences
(the registry records whose owner it is, conference.registry.services.may_edit_shared), one at a
time or all without an account at once. Nobody types a password for someone else: each account gets
a one-time link by e-mail (through the outbox) with which its holder sets the password. Forgotten
passwords take the same way ("忘记密码" on the log-in page, or the office's reset button), and the
office can deactivate an account, which ends its sessions at once. The admin keeps managing the
offices' accounts (conference.accounts.routes).

Link tokens are random (192 bits), stored as SHA-256 (table account_token), spent by their first
use and dead after LINK_HOURS. Passwords are hashed in a worker thread (conference.accounts.passwords)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from piccolo.table import Table

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.forms import ACCOUNT_FORM
from conference.accounts.forms import EMAIL_MAX as EMAIL_MAX
from conference.accounts.forms import LINK_HOURS as LINK_HOURS
from conference.accounts.passwords import hash_password
from conference.accounts.scope import visible_conference_ids
from conference.accounts.services import digest, end_other_access
from conference.accounts.tables import AccountToken, User
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.notifications.services import queue
from conference.registry.services import may_edit_shared
from conference.registry.tables import MemberUnit, Person, Street
from conference.roles import OFFICE_ROLES, Role
from conference.settings import get_settings
from conference.timefmt import cn_datetime, now

# No Argon2 hash looks like this, so an account that has not set its password cannot log in
# (verify_password answers False for an invalid hash) and no password is ever made up for it.
UNSET_HASH = "!unset"
ACCOUNT_NOT_FOUND = _("没有找到该账号，或您无权管理。")


@dataclass(frozen=True)
class Kind:
    """A kind of registry record that can hold an account."""

    slug: str  # in URLs: /accounts/<slug>
    role: str
    table: type[Table]
    link: str  # the app_user column that names the record
    noun: str
    username_prefix: str

    def email_of(self, row: Mapping[str, Any]) -> str:
        if self.role == Role.UNIT:
            return str(row.get("liaison_email") or "")
        return str(row.get("email") or "")


KINDS = {
    "units": Kind("units", Role.UNIT, MemberUnit, "unit", _("成员单位"), "unit"),
    "streets": Kind("streets", Role.STREET, Street, "street", _("街道"), "street"),
    "convenors": Kind("convenors", Role.CONVENOR, Person, "person", _("召集人"), "convenor"),
}
KIND_OF_ROLE = {k.role: k for k in KINDS.values()}


# ---------------------------------------------------------------- scope


async def _manages_record(actor: Actor, kind: Kind, record: Mapping[str, Any]) -> bool:
    """The office manages the accounts of the records its conferences own; the admin all."""
    return await may_edit_shared(actor, record.get("owner_conference"))


async def managed_record(actor: Actor, kind: Kind, record_id: int) -> dict[str, Any]:
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以管理账号。"))
    row = await kind.table.select().where(kind.table._meta.primary_key == record_id).first()
    if row is None or not await _manages_record(actor, kind, row):
        raise NotFound(_("没有找到该记录，或它不属于本联席会议，不能为其开通账号。"))
    return row


async def managed_account(actor: Actor, user_id: int) -> dict[str, Any]:
    """An account of a unit, street or convenor the actor manages (offices: only office accounts
    are the admin's); anything else is a 404."""
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以管理账号。"))
    user = await User.select().where(User.id == user_id).first()
    if user is None:
        raise NotFound(ACCOUNT_NOT_FOUND)
    if actor.role == Role.ADMIN:
        return user
    kind = KIND_OF_ROLE.get(user["role"])
    record_id = user[kind.link] if kind else None
    if kind is None or record_id is None:
        raise NotFound(ACCOUNT_NOT_FOUND)
    row = await kind.table.select().where(kind.table._meta.primary_key == record_id).first()
    if row is None or not await _manages_record(actor, kind, row):
        raise NotFound(ACCOUNT_NOT_FOUND)
    return user


async def managed_records(actor: Actor, kind: Kind) -> list[dict[str, Any]]:
    """The records of this kind the actor manages, each with its accounts (for the account page).
    Two queries, whatever the number of records."""
    owner = kind.table._meta.get_column_by_name("owner_conference")
    query = kind.table.select().order_by(kind.table._meta.get_column_by_name("name"))
    if actor.role != Role.ADMIN:  # the rule of may_edit_shared, as one condition for the whole list
        visible = await visible_conference_ids(actor) if actor.role == Role.OFFICE else set()
        query = query.where(owner.is_in(sorted(visible or []) or [0]))
    mine = [dict(r) for r in await query]
    link = User._meta.get_column_by_name(kind.link)
    accounts = await User.select(User.id, User.username, User.display_name, User.email, User.active, User.password_hash,
                                 link.as_alias("record")).where(
        (User.role == kind.role) & link.is_in([r["id"] for r in mine] or [0])).order_by(User.id)
    by_record: dict[int, list[dict[str, Any]]] = {}
    for account in accounts:
        account["password_set"] = account.pop("password_hash") != UNSET_HASH
        by_record.setdefault(int(account["record"]), []).append(account)
    for row in mine:
        row["email"] = kind.email_of(row)
        row["accounts"] = by_record.get(int(row["id"]), [])
    return mine


async def managed_accounts_condition(actor: Actor) -> Any:
    """The accounts the actor manages, as one condition on User (the JSON API's flat list): None
    for the admin (every account); for an office the unit, street and convenor accounts of the
    records its conferences own -- the same rule as managed_records and managed_account."""
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以管理账号。"))
    if actor.role == Role.ADMIN:
        return None
    owned = sorted(await visible_conference_ids(actor) or []) or [0]
    condition: Any = None
    for kind in KINDS.values():
        link = User._meta.get_column_by_name(kind.link)
        # a ForeignKey column's joined columns are attributes the type checker cannot see
        clause = (User.role == kind.role) & getattr(link, "owner_conference").is_in(owned)  # noqa: B009
        condition = clause if condition is None else (condition | clause)
    return condition


# ---------------------------------------------------------------- links


async def _send_link(user: Mapping[str, Any], purpose: str, conference_id: int | None) -> None:
    """A new one-time link to the account's address (earlier unused links of the account die).
    Inside the caller's transaction."""
    await AccountToken.delete().where((AccountToken.account == user["id"]) & AccountToken.used_at.is_null())
    token = secrets.token_urlsafe(24)
    expires = now() + dt.timedelta(hours=LINK_HOURS)
    await AccountToken.insert(AccountToken(account=user["id"], purpose=purpose, token_hash=digest(token), created_at=now(),
                                           expires_at=expires))
    url = f"{get_settings().base_url}/password/{token}"
    if purpose == "set":
        subject = _("【账号开通】城市基层党建联席会议议事督办系统")
        body = _("{name}：\n联席会议办公室已为您开通系统账号，用户名：{username}\n请在 {until} 前通过以下链接设置密码（仅可使用一次）：\n{url}\n"
                 "如非本人，请忽略本邮件。").format(name=user["display_name"] or user["username"], username=user["username"],
                                                until=cn_datetime(expires), url=url)
    else:
        subject = _("【重置密码】城市基层党建联席会议议事督办系统")
        body = _("{name}：\n您的账号（用户名：{username}）收到了重置密码的请求。请在 {until} 前通过以下链接设置新密码（仅可使用一次）：\n{url}\n"
                 "如果不是您本人申请，请忽略本邮件，原密码仍然有效。").format(
            name=user["display_name"] or user["username"], username=user["username"], until=cn_datetime(expires), url=url)
    await queue("account_set_password" if purpose == "set" else "account_reset_password", conference_id=conference_id,
                subject=subject, body=body, email=user["email"], entity="user", entity_id=user["id"])


def _check_email(form: FormReader, email: str, name: str = "email") -> None:
    """An address read through the account form (ACCOUNT_FORM) that looks like one."""
    if email and name not in form.errors and (
            "@" not in email or " " in email or email.startswith("@") or email.endswith("@")):
        form.fail(name, _("请填写有效的电子邮箱地址。"))


async def free_username(wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3` ... when it is taken (the unique index decides at insert)."""
    taken = {r["username"] for r in await User.select(User.username).where(User.username.like(wanted + "%"))}
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


# ---------------------------------------------------------------- creating


def suggested(kind: Kind, record: Mapping[str, Any]) -> dict[str, str]:
    """The form's starting values for a record's account."""
    return {"username": f"{kind.username_prefix}{record['id']}", "display_name": str(record["name"])[:60],
            "email": kind.email_of(record)}


async def _insert_account(actor: Actor, kind: Kind, record: Mapping[str, Any], username: str, display_name: str,
                          email: str) -> int:
    """Inside a transaction that holds the record's row lock: one account per record."""
    link = User._meta.get_column_by_name(kind.link)
    if await User.exists().where((User.role == kind.role) & (link == record["id"])):
        raise Conflict(_("“{name}”已有账号。").format(name=record["name"]))
    values: dict[str, Any] = {"username": username, "display_name": display_name, "email": email,
                              "password_hash": UNSET_HASH, "role": kind.role, "created_at": now(), kind.link: record["id"]}
    rows = await User.insert(User(**values)).returning(User.id)
    user_id = int(rows[0]["id"])
    await record_event(actor, "create", user_id, {"username": username, "role": kind.role, kind.link: record["id"],
                                                   "email": email}, record.get("owner_conference"))
    await _send_link({"id": user_id, "username": username, "display_name": display_name, "email": email}, "set",
                     record.get("owner_conference"))
    return user_id


async def record_event(actor: Actor | None, action: str, user_id: int, after: Mapping[str, Any] | None,
                       conference_id: int | None, actor_name: str | None = None) -> None:
    await record(actor, action, "user", user_id, after=after, conference_id=conference_id, actor_name=actor_name)


async def create_account(actor: Actor, kind: Kind, record_id: int, data: Mapping[str, Any]) -> int:
    """One account for a record the actor manages, with a set-password link to its address."""
    await managed_record(actor, kind, record_id)
    form = FormReader(data)
    username, display_name, email = ACCOUNT_FORM.read(form).values()
    _check_email(form, email)
    if username and await User.exists().where(User.username == username):
        form.fail("username", _("用户名已被使用。"))
    form.done()
    async with db.atomic(kind.table, record_id):
        record_row = await managed_record(actor, kind, record_id)
        return await _insert_account(actor, kind, record_row, username, display_name, email)


async def check_can_create(actor: Actor, kind: Kind, record_id: int, field: str) -> None:
    """Before an action that will open an account (the appointment form): the record is the
    actor's, has no account and has an address; otherwise the message goes beside `field`."""
    row = await managed_record(actor, kind, record_id)
    link = User._meta.get_column_by_name(kind.link)
    if await User.exists().where((User.role == kind.role) & (link == record_id)):
        raise ValidationFailed({field: _("“{name}”已有账号。").format(name=row["name"])})
    if not kind.email_of(row):
        raise ValidationFailed({field: _("该{noun}没有登记电子邮箱，无法发送设置密码链接。请先在登记信息中填写邮箱。").format(noun=kind.noun)})


async def create_with_defaults(actor: Actor, kind: Kind, record_id: int) -> int:
    """An account with the suggested user name and the registry's address (the appointment form)."""
    async with db.atomic(kind.table, record_id):
        row = await managed_record(actor, kind, record_id)
        values = suggested(kind, row)
        if not values["email"]:
            raise Conflict(_("该{noun}没有登记电子邮箱，无法发送设置密码链接。").format(noun=kind.noun))
        return await _insert_account(actor, kind, row, await free_username(values["username"]), values["display_name"],
                                     values["email"])


async def create_missing(actor: Actor, kind: Kind) -> tuple[list[str], list[str]]:
    """Accounts for every record of this kind the actor manages that has none, each in its own
    transaction: (names given an account, names skipped with the reason)."""
    created, skipped = [], []
    for row in await managed_records(actor, kind):
        if row["accounts"]:
            continue
        if not row["email"]:
            skipped.append(_("{name}（未登记电子邮箱）").format(name=row["name"]))
            continue
        try:
            await create_with_defaults(actor, kind, int(row["id"]))
            created.append(str(row["name"]))
        except (Conflict, NotFound) as exc:
            skipped.append(f"{row['name']}（{exc.message}）")
    return created, skipped


# ---------------------------------------------------------------- reset, deactivate


async def office_reset(actor: Actor, user_id: int) -> None:
    """The office sends the account a reset link (the password stays until the link is used)."""
    async with db.atomic(User, user_id):
        user = await managed_account(actor, user_id)
        if not user["active"]:
            raise Conflict(_("该账号已停用，请先启用。"))
        if not user["email"]:
            raise Conflict(_("该账号没有电子邮箱，无法发送重置链接。"))
        await _send_link(user, "reset", actor.conference_id)
        await record_event(actor, "send_reset_link", user_id, None, actor.conference_id)


async def request_reset(data: Mapping[str, Any]) -> None:
    """"忘记密码": a reset link to the address of the active account with that user name or
    address. The answer is the same whether or not such an account exists."""
    form = FormReader(data)
    who = form.text("who", _("用户名或电子邮箱"), required=True, max_length=EMAIL_MAX)
    form.done()
    async with db.atomic():
        user = await User.select().where(((User.username == who) | ((User.email == who) & (User.email != "")))
                                         & (User.active == True)).first()  # noqa: E712 - SQL
        if user is None or not user["email"]:
            return
        await _send_link(user, "reset", user["conference"])
        await record_event(None, "request_reset_link", int(user["id"]), None, None, actor_name=_("本人（忘记密码）"))


async def set_active(actor: Actor, user_id: int, active: bool) -> None:
    """停用 ends every session, the API token and any unused link of the account at once; 启用
    lets it log in again with its password."""
    async with db.atomic(User, user_id):
        user = await managed_account(actor, user_id)
        if user["id"] == actor.id:
            raise Conflict(_("不能停用自己的账号。"))
        if bool(user["active"]) == active:
            return
        await User.update({User.active: active}).where(User.id == user_id)
        ended = 0
        if not active:
            ended = await end_other_access(user_id)
            await AccountToken.delete().where((AccountToken.account == user_id) & AccountToken.used_at.is_null())
        await record(actor, "activate" if active else "deactivate", "user", user_id, before={"active": user["active"]},
                     after={"active": active, **({"sessions_ended": ended} if not active else {})},
                     conference_id=actor.conference_id)


# ---------------------------------------------------------------- using a link


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite may hand back naive UTC


async def link_account(token: str) -> dict[str, Any]:
    """The account behind an unused, unexpired link (for the page), else NotFound."""
    if not token or len(token) > 64 or not token.isascii():
        raise NotFound(_("链接无效或已失效。"))
    row = await AccountToken.select(AccountToken.purpose, AccountToken.expires_at, AccountToken.used_at,
                                    AccountToken.account.username.as_alias("username"),
                                    AccountToken.account.active.as_alias("active")).where(
        AccountToken.token_hash == digest(token)).first()
    if row is None or row["used_at"] is not None or _aware(row["expires_at"]) <= now() or not row["active"]:
        raise NotFound(_("链接无效或已失效。设置密码的链接只能使用一次，且在发送后 {h} 小时内有效；"
                         "请联系联席会议办公室重新发送，或在登录页点击“忘记密码”。").format(h=LINK_HOURS))
    return row


async def set_password(token: str, data: Mapping[str, Any]) -> str:
    """Sets the password through a link and spends it; every session of the account ends.
    Returns the user name (for the log-in page). The link is spent by one conditional UPDATE, so
    two uses at the same moment cannot both succeed."""
    await link_account(token)
    form = FormReader(data)
    new = form.text("new_password", _("新密码"), required=True, max_length=200)
    again = form.text("new_password_again", _("再次输入新密码"), required=True, max_length=200)
    if new and len(new) < 8:
        form.fail("new_password", _("密码至少 8 位。"))
    if new and again and new != again:
        form.fail("new_password_again", _("两次输入的密码不一致。"))
    form.done()
    new_hash = await hash_password(new)
    async with db.atomic():
        spent = await AccountToken.update({AccountToken.used_at: now()}).where(
            (AccountToken.token_hash == digest(token)) & AccountToken.used_at.is_null() & (AccountToken.expires_at > now())
        ).returning(AccountToken.account, AccountToken.purpose)
        if not spent:
            raise NotFound(_("链接无效或已失效。"))
        user_id = int(spent[0]["account"])
        user = await User.select(User.username, User.active, User.conference).where(User.id == user_id).first()
        if user is None or not user["active"]:
            raise NotFound(_("链接无效或已失效。"))
        await User.update({User.password_hash: new_hash}).where(User.id == user_id)
        await end_other_access(user_id)
        await record_event(None, "set_password" if spent[0]["purpose"] == "set" else "reset_password_by_link", user_id,
                           None, None, actor_name=_("{u}（本人，凭邮件链接）").format(u=user["username"])[:60])
        return str(user["username"])
