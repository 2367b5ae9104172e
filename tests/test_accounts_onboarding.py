"""Accounts the office gives (issue 11 item 3), through HTTP and the outbox as the person receives
them: an office opens accounts for the units, streets and convenors its conferences registered (one,
all missing at once, or with a convenor's appointment); the one-time set-password link works once
and not after it expires; "忘记密码" does not tell whether an account exists; an office cannot reach
another conference's records or the offices' own accounts; a deactivated account's sessions end and
it cannot log in."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

from conference.accounts.tables import AccountToken, User
from conference.audit.tables import AuditEvent
from conference.notifications.tables import Notification
from conference.registry import services as registry
from conference.registry.tables import ConvenorAppointment
from conference.timefmt import now
from tests import conftest
from tests.conftest import field_error, login, make_client, post_form
from tests.factories import LANSHAN_STREET, actor, conference_id, unique

PASSWORD = "新的密码Abc123"
LINK = re.compile(r"/password/([A-Za-z0-9_\-]+)")


def html(response: httpx.Response) -> Any:
    """The parsed page, loosely typed: the tests look nodes up and fail when they are missing."""
    return conftest.html(response)


async def new_unit(office: str = "office", email: str | None = None) -> int:
    name = unique("测试单位")
    return await registry.create_unit(await actor(office), {"name": name, "kind": "department",
                                                             "liaison_email": email or f"{name[-8:]}@example.gov.cn"})


async def account_of(column: str, record_id: int) -> dict[str, Any] | None:
    return await User.select().where(User._meta.get_column_by_name(column) == record_id).first()


async def sent_link(user_id: int) -> str:
    rows = await Notification.select(Notification.body).where(
        (Notification.entity == "user") & (Notification.entity_id == user_id)).order_by(Notification.id, ascending=False)
    for row in rows:
        if found := LINK.search(row["body"]):
            return f"/password/{found.group(1)}"
    raise AssertionError("no link sent")


async def actions_on(user_id: int) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "user") & (AuditEvent.entity_id == user_id)).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def set_password(client: httpx.AsyncClient, link: str, password: str = PASSWORD,
                       again: str | None = None) -> httpx.Response:
    return await post_form(client, link, {"new_password": password, "new_password_again": again or password})


async def open_unit_account(office: httpx.AsyncClient, unit_id: int) -> dict[str, Any]:
    form = html(await office.get(f"/accounts/units/{unit_id}/new"))
    data = {name: form.select_one(f"#f-{name}")["value"] for name in ("username", "display_name", "email")}
    data["username"] = unique("u")
    response = await post_form(office, f"/accounts/units/{unit_id}/new", data)
    assert response.status_code == 303 and response.headers["location"] == "/accounts/units", response.text[:500]
    account = await account_of("unit", unit_id)
    assert account is not None
    return account


async def test_office_opens_an_account_and_the_link_sets_the_password_once(app: Any, as_user: Any,
                                                                             anon: httpx.AsyncClient) -> None:
    office = await as_user("office")
    unit_id = await new_unit(email="liaison-x@example.gov.cn")
    listing = await office.get("/accounts/units")
    assert listing.status_code == 200
    row = html(listing).select_one(f"tr[data-record='{unit_id}']")
    assert row.select_one(f"a[href='/accounts/units/{unit_id}/new']") is not None
    assert html(await office.get("/registry/units")).select_one("#accounts-link")["href"] == "/accounts/units"
    form = html(await office.get(f"/accounts/units/{unit_id}/new"))
    assert form.select_one("#f-email")["value"] == "liaison-x@example.gov.cn"
    assert form.select_one("#f-username")["value"] == f"unit{unit_id}"

    # Bad input: messages beside the fields, input kept.
    bad = await post_form(office, f"/accounts/units/{unit_id}/new", {"username": "office", "email": "not-an-address"})
    assert bad.status_code == 400
    assert field_error(bad, "username") == "用户名已被使用。" and field_error(bad, "email") == "请填写有效的电子邮箱地址。"

    account = await open_unit_account(office, unit_id)
    assert account["role"] == "unit" and account["email"] == "liaison-x@example.gov.cn"
    notice = await Notification.select(Notification.email, Notification.event).where(
        (Notification.entity == "user") & (Notification.entity_id == account["id"])).first()
    assert notice == {"email": "liaison-x@example.gov.cn", "event": "account_set_password"}
    # A second account for the same unit is refused.
    again = await post_form(office, f"/accounts/units/{unit_id}/new", {"username": unique("u"), "email": "a@b.cn"})
    assert again.status_code == 409
    # No password yet: no log-in.
    assert (await login(make_client(app), account["username"], "")).status_code == 400

    link = await sent_link(account["id"])
    page = await anon.get(link)
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    assert account["username"] in page.text
    mismatch = await set_password(anon, link, again="另一个密码Abc123")
    assert mismatch.status_code == 400 and field_error(mismatch, "new_password_again") == "两次输入的密码不一致。"
    short = await set_password(anon, link, password="short")
    assert short.status_code == 400 and field_error(short, "new_password") == "密码至少 8 位。"
    done = await set_password(anon, link)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert (await login(make_client(app), account["username"], PASSWORD)).status_code == 303
    # Used once: refused after.
    assert (await anon.get(link)).status_code == 404
    assert (await set_password(anon, link, password="再来一次Abc123")).status_code == 404
    assert (await login(make_client(app), account["username"], "再来一次Abc123")).status_code == 400
    assert await actions_on(account["id"]) == ["create", "set_password"]
    # The office reads the message with the token masked.
    outbox = await office.get("/outbox")
    assert link.rsplit("/", 1)[1] not in outbox.text


async def test_an_expired_link_is_refused(as_user: Any, anon: httpx.AsyncClient) -> None:
    office = await as_user("office")
    account = await open_unit_account(office, await new_unit())
    link = await sent_link(account["id"])
    await AccountToken.update({AccountToken.expires_at: now() - dt.timedelta(minutes=1)}).where(
        AccountToken.account == account["id"])
    assert (await anon.get(link)).status_code == 404
    assert (await set_password(anon, link)).status_code == 404
    # The office sends a new one (重发设置链接), which works.
    response = await post_form(office, f"/accounts/users/{account['id']}/reset", {})
    assert response.status_code == 303
    fresh = await sent_link(account["id"])
    assert fresh != link and (await set_password(anon, fresh)).status_code == 303


async def test_forgot_password_does_not_reveal_whether_an_account_exists(app: Any, as_user: Any,
                                                                        anon: httpx.AsyncClient) -> None:
    office = await as_user("office")
    account = await open_unit_account(office, await new_unit())
    assert (await set_password(anon, await sent_link(account["id"]))).status_code == 303
    login_page = html(await anon.get("/login"))
    assert login_page.select_one("#forgot-link")["href"] == "/forgot-password"
    before = await Notification.count()

    async def ask(who: str) -> httpx.Response:
        client = make_client(app)
        await client.get("/forgot-password")
        return await post_form(client, "/forgot-password", {"who": who})

    unknown = await ask("nobody-" + unique("x"))
    assert await Notification.count() == before  # nothing sent
    known = await ask(account["email"])
    assert (unknown.status_code, unknown.headers["location"]) == (known.status_code, known.headers["location"]) == (303, "/login")
    assert unknown.headers["set-cookie"].split(";")[0] == known.headers["set-cookie"].split(";")[0]  # the same message
    assert await Notification.count() == before + 1
    empty = await ask("")
    assert empty.status_code == 400 and field_error(empty, "who") == "请填写用户名或电子邮箱。"

    # The reset link sets a new password and ends the account's sessions.
    session = make_client(app)
    assert (await login(session, account["username"], PASSWORD)).status_code == 303
    assert (await session.get("/account")).status_code == 200
    link = await sent_link(account["id"])
    assert (await set_password(anon, link, password="重置后的密码Abc1")).status_code == 303
    assert (await session.get("/account")).status_code in (302, 303, 401)
    assert (await login(make_client(app), account["username"], "重置后的密码Abc1")).status_code == 303
    assert "reset_password_by_link" in await actions_on(account["id"])


async def test_an_office_reaches_only_its_own_records(as_user: Any) -> None:
    office, other = await as_user("office"), await as_user("office_luozhuang")
    unit_id = await new_unit("office")
    theirs = await new_unit("office_luozhuang")
    # 罗庄街道's office cannot open an account for 兰山区's unit, nor see it on its page.
    assert (await other.get(f"/accounts/units/{unit_id}/new")).status_code == 404
    assert (await post_form(other, f"/accounts/units/{unit_id}/new", {"username": unique("u"), "email": "a@b.cn"})).status_code == 404
    assert html(await other.get("/accounts/units")).select_one(f"tr[data-record='{unit_id}']") is None
    assert html(await other.get("/accounts/units")).select_one(f"tr[data-record='{theirs}']") is not None
    await post_form(other, "/accounts/units/bulk", {})
    assert await account_of("unit", unit_id) is None and await account_of("unit", theirs) is not None
    # Nor manage its accounts; and no office manages the offices' accounts (the admin does).
    account = await open_unit_account(office, unit_id)
    for path in ("reset", "deactivate"):
        assert (await post_form(other, f"/accounts/users/{account['id']}/{path}", {})).status_code == 404
    luozhuang = await User.select(User.id).where(User.username == "office_luozhuang").first()
    assert luozhuang is not None
    assert (await post_form(office, f"/accounts/users/{luozhuang['id']}/deactivate", {})).status_code == 404
    # Other roles: refused.
    for role in ("unit", "street", "convenor"):
        client = await as_user(role)
        assert (await client.get("/accounts/units")).status_code == 403
        assert (await post_form(client, f"/accounts/users/{account['id']}/deactivate", {})).status_code == 403
    assert (await office.get("/accounts/nothing")).status_code == 404


async def test_deactivated_account_cannot_log_in_and_its_sessions_end(app: Any, as_user: Any,
                                                                    anon: httpx.AsyncClient) -> None:
    office = await as_user("office")
    account = await open_unit_account(office, await new_unit())
    assert (await set_password(anon, await sent_link(account["id"]))).status_code == 303
    session = make_client(app)
    assert (await login(session, account["username"], PASSWORD)).status_code == 303
    assert (await session.get("/account")).status_code == 200
    response = await post_form(office, f"/accounts/users/{account['id']}/deactivate", {})
    assert response.status_code == 303 and response.headers["location"] == "/accounts/units"
    assert (await session.get("/account")).status_code in (302, 303, 401)
    assert (await login(make_client(app), account["username"], PASSWORD)).status_code == 400
    state = html(await office.get("/accounts/units")).select_one(f".account-state[data-user='{account['id']}']")
    assert state.get_text() == "已停用"
    # A deactivated account gets no reset link, from the office or by itself.
    before = await Notification.count()
    await post_form(office, f"/accounts/users/{account['id']}/reset", {})
    client = make_client(app)
    await client.get("/forgot-password")
    await post_form(client, "/forgot-password", {"who": account["username"]})
    assert await Notification.count() == before
    assert (await post_form(office, f"/accounts/users/{account['id']}/activate", {})).status_code == 303
    assert (await login(make_client(app), account["username"], PASSWORD)).status_code == 303
    assert await actions_on(account["id"]) == ["create", "set_password", "deactivate", "activate"]


async def test_all_missing_accounts_at_once_and_with_an_appointment(as_user: Any) -> None:
    office = await as_user("office")
    office_actor = await actor("office")
    with_mail = await registry.create_person(office_actor, {"name": unique("召集人"), "email": "zjr@example.gov.cn"})
    without = await registry.create_person(office_actor, {"name": unique("召集人")})
    response = await post_form(office, "/accounts/convenors/bulk", {})
    assert response.status_code == 200
    results = {li.select_one("span.badge").get_text(): li.get_text(" ", strip=True) for li in html(response).select(".bulk-results li")}
    assert await account_of("person", with_mail) is not None and await account_of("person", without) is None
    assert any("未登记电子邮箱" in text for text in results.values())

    # The appointment form offers an account for a new convenor.
    conference = await conference_id(LANSHAN_STREET)
    person = await registry.create_person(office_actor, {"name": unique("召集人"), "email": "new-zjr@example.gov.cn"})
    page = html(await office.get(f"/registry/conferences/{conference}"))
    assert page.select_one("#f-create_account") is not None
    period = {"title": "正县级", "start_date": "2001-01-01", "end_date": "2001-06-30"}
    bare = await registry.create_person(office_actor, {"name": unique("召集人")})
    refused = await post_form(office, f"/registry/conferences/{conference}/appointments",
                              {"person": str(bare), "create_account": "1", **period})
    assert refused.status_code == 400 and "没有登记电子邮箱" in (field_error(refused, "create_account") or "")
    assert not await ConvenorAppointment.exists().where(ConvenorAppointment.person == bare)
    done = await post_form(office, f"/registry/conferences/{conference}/appointments",
                           {"person": str(person), "create_account": "1", **period})
    assert done.status_code == 303, done.text[:500]
    account = await account_of("person", person)
    assert account is not None and account["role"] == "convenor" and account["email"] == "new-zjr@example.gov.cn"
    assert (await sent_link(account["id"])).startswith("/password/")
