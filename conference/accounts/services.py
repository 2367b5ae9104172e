"""Accounts: log-in, database sessions, API tokens and user creation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from piccolo.table import Table

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.passwords import hash_password, verify_password
from conference.accounts.tables import Session, User
from conference.audit.services import record
from conference.errors import NotFound, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.registry.tables import Conference, MemberUnit, Person, Street
from conference.roles import ROLE_LABELS, Role
from conference.settings import get_settings
from conference.timefmt import now

ACTOR_COLUMNS = (User.id, User.username, User.display_name, User.role, User.conference, User.street, User.unit, User.person)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_from_row(row: Mapping[str, Any], prefix: str = "") -> Actor:
    return Actor(
        id=row[f"{prefix}id"],
        username=row[f"{prefix}username"],
        display_name=row[f"{prefix}display_name"],
        role=row[f"{prefix}role"],
        conference_id=row[f"{prefix}conference"],
        street_id=row[f"{prefix}street"],
        unit_id=row[f"{prefix}unit"],
        person_id=row[f"{prefix}person"],
    )


async def authenticate(username: str, password: str) -> Actor | None:
    if "\x00" in username:  # no account has it, and PostgreSQL would reject the lookup
        await verify_password(None, password)  # same time as any other wrong log-in
        return None
    row = await User.select(*ACTOR_COLUMNS, User.password_hash).where(
        (User.username == username) & (User.active == True)  # noqa: E712 - Piccolo builds SQL from ==
    ).first()
    ok = await verify_password(row["password_hash"] if row else None, password)
    return actor_from_row(row) if row and ok else None


async def start_session(actor: Actor) -> str:
    """A new random session id for every log-in (no session fixation); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    await Session.insert(
        Session(
            key_hash=digest(token),
            account=actor.id,
            created_at=now(),
            expires_at=now() + dt.timedelta(days=get_settings().session_days),
        )
    )
    return token


async def end_session(token: str) -> None:
    await Session.delete().where(Session.key_hash == digest(token))


async def actor_for_session(token: str) -> Actor | None:
    """Runs on every page request, hence the fast read path (one statement, reused connection)."""
    # The unread count of the message centre's badge rides along: a unit or street account counts
    # its unread messages through the partial index notification_unread_unit/_street (migration
    # 2026-12-04T10:01), other roles count nothing.
    rows = await db.fetch(
        """SELECT u.id, u.username, u.display_name, u.role, u.conference, u.street, u.unit, u.person,
                  CASE u.role
                    WHEN 'unit' THEN (SELECT COUNT(*) FROM notification n WHERE n.unit = u.unit AND n.read_at IS NULL)
                    WHEN 'street' THEN (SELECT COUNT(*) FROM notification n WHERE n.street = u.street AND n.read_at IS NULL)
                    ELSE 0 END AS unread
           FROM web_session s JOIN app_user u ON u.id = s.account
           WHERE s.key_hash = {} AND s.expires_at > {} AND u.active = {}""",
        digest(token), now(), True)
    if not rows:
        return None
    row = rows[0]
    return Actor(id=row["id"], username=row["username"], display_name=row["display_name"], role=row["role"],
                 conference_id=row["conference"], street_id=row["street"], unit_id=row["unit"],
                 person_id=row["person"], unread=int(row["unread"] or 0))


async def actor_for_api_token(token: str) -> Actor | None:
    row = await User.select(*ACTOR_COLUMNS).where(
        (User.api_token_hash == digest(token)) & (User.active == True)  # noqa: E712
    ).first()
    return actor_from_row(row) if row else None


async def issue_api_token(actor: Actor | None, user_id: int) -> str:
    """A new token replaces the old one (which stops working at once). Shown once, stored hashed."""
    token = "lx_" + secrets.token_urlsafe(32)
    async with db.atomic():
        if not await User.exists().where(User.id == user_id):
            raise NotFound(_("没有找到该账号。"))
        await User.update({User.api_token_hash: digest(token)}).where(User.id == user_id)
        await record(actor, "issue_token", "user", user_id)
    return token


async def create_user(actor: Actor | None, data: Mapping[str, Any]) -> int:
    form = FormReader(data)
    username = form.text("username", _("用户名"), required=True, max_length=40)
    display_name = form.text("display_name", _("姓名"), max_length=60)
    password = form.text("password", _("密码"), required=True, max_length=200)
    role = form.choice("role", _("角色"), ROLE_LABELS)
    if password and len(password) < 8:
        form.fail("password", _("密码至少 8 位。"))
    links: dict[str, tuple[str, type[Table]]] = {Role.OFFICE: ("conference", Conference), Role.STREET: ("street", Street),
             Role.UNIT: ("unit", MemberUnit), Role.CONVENOR: ("person", Person),
             Role.INTAKE: ("street", Street)}
    link_values: dict[str, Any] = {name: None for name, _table in links.values()}
    if role in links:
        name, table = links[role]
        ref = form.ref(name, _("所属对象"))
        if ref is not None and not await table.exists().where(table._meta.primary_key == ref):
            form.fail(name, _("所选对象不存在。"))
        link_values[name] = ref
    if username and await User.exists().where(User.username == username):
        form.fail("username", _("用户名已被使用。"))
    form.done()
    password_hash = await hash_password(password)
    async with db.atomic():
        values: dict[str, Any] = {"username": username, "display_name": display_name, "password_hash": password_hash,
                                  "role": role, "created_at": now(), **link_values}
        rows = await User.insert(User(**values)).returning(User.id)
        user_id = int(rows[0]["id"])
        await record(actor, "create", "user", user_id,
                     after={"username": username, "role": role, **link_values},
                     conference_id=link_values["conference"])
    return user_id


async def end_other_access(user_id: int, keep_session: str | None = None) -> int:
    """After a password change or reset: every session of the account but `keep_session` (the
    one that made the change) ends, and its API token stops working (ASVS 3.3.3). Returns how many
    sessions ended. Runs inside the caller's transaction."""
    query = Session.delete().where(Session.account == user_id)
    if keep_session:
        query = Session.delete().where((Session.account == user_id) & (Session.key_hash != digest(keep_session)))
    ended = await query.returning(Session.id)
    await User.update({User.api_token_hash: None}).where(User.id == user_id)
    return len(ended)


async def change_password(actor: Actor, data: Mapping[str, Any], keep_session: str | None = None) -> None:
    """The actor's own password; every other session and the API token end (the session that
    made the change, `keep_session`, goes on)."""
    form = FormReader(data)
    old = form.text("old_password", _("原密码"), required=True, max_length=200)
    new = form.text("new_password", _("新密码"), required=True, max_length=200)
    if new and len(new) < 8:
        form.fail("new_password", _("密码至少 8 位。"))
    form.done()
    row = await User.select(User.password_hash).where(User.id == actor.id).first()
    if not row or not await verify_password(row["password_hash"], old):
        raise ValidationFailed({"old_password": _("原密码不正确。")})
    new_hash = await hash_password(new)
    async with db.atomic():
        await User.update({User.password_hash: new_hash}).where(User.id == actor.id)
        await end_other_access(actor.id, keep_session)
        await record(actor, "change_password", "user", actor.id)


async def reset_password(actor: Actor, user_id: int, data: Mapping[str, Any]) -> None:
    """An administrator sets a new password for an account (e.g. a forgotten one): every session
    of that account and its API token end, so whoever held them is out."""
    form = FormReader(data)
    new = form.text("new_password", _("新密码"), required=True, max_length=200)
    if new and len(new) < 8:
        form.fail("new_password", _("密码至少 8 位。"))
    form.done()
    new_hash = await hash_password(new)
    async with db.atomic():
        if not await User.exists().where(User.id == user_id):
            raise NotFound(_("没有找到该账号。"))
        await User.update({User.password_hash: new_hash}).where(User.id == user_id)
        await end_other_access(user_id)
        await record(actor, "reset_password", "user", user_id)
