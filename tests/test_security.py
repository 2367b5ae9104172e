"""CSRF, database sessions across app instances, log-in, passwords, API tokens, bad input and cookies."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from http.cookies import SimpleCookie

import pytest

from conference.accounts import passwords, services
from conference.accounts.onboarding import UNSET_HASH
from conference.accounts.tables import Session, User
from conference.registry.tables import MemberUnit, Street
from tests.conftest import field_error, field_value, html, login, make_client, post_form

CSRF_MESSAGE = "表单已过期或来源无法确认（CSRF 校验失败），请刷新页面后重新提交。"
NOT_FOUND_MESSAGE = "没有找到该页面或记录，或您无权查看。"


def uid() -> str:
    return uuid.uuid4().hex[:10]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def new_user(role: str = "admin", **links: int) -> tuple[str, int]:
    username = f"t{uid()}"
    user_id = await services.create_user(None, {"username": username, "password": "secret-pass-1", "role": role,
                                                **{k: str(v) for k, v in links.items()}})
    return username, user_id


# ---------------------------------------------------------------- CSRF


def street_form(name: str) -> dict[str, str]:
    return {"name": name, "district": "兰山区", "secretary_name": "", "phone": ""}


async def assert_csrf_refused(response, name: str) -> None:
    assert response.status_code == 403
    page = html(response)
    assert page.find("h1").get_text(strip=True) == CSRF_MESSAGE
    assert page.html["lang"] == "zh-CN"
    assert not await Street.exists().where(Street.name == name)


async def test_post_without_csrf_token_is_refused(as_user):
    client = await as_user("office")
    name = f"街道{uid()}"
    await assert_csrf_refused(await client.post("/registry/streets/new", data=street_form(name)), name)


async def test_post_with_wrong_csrf_token_is_refused(as_user):
    client = await as_user("office")
    name = f"街道{uid()}"
    response = await client.post("/registry/streets/new", data={**street_form(name), "_csrf_token": "x" * 64})
    await assert_csrf_refused(response, name)


async def test_post_with_csrf_token_of_another_session_is_refused(app, as_user):
    client = await as_user("office")
    async with make_client(app) as other:
        await login(other, "admin")
        foreign = other.cookies.get("csrftoken")
    assert foreign and foreign != client.cookies.get("csrftoken")
    name = f"街道{uid()}"
    response = await client.post("/registry/streets/new", data={**street_form(name), "_csrf_token": foreign})
    await assert_csrf_refused(response, name)
    # The same form with the session's own token goes through: the refusals above were the token.
    response = await post_form(client, "/registry/streets/new", street_form(name))
    assert response.status_code == 303
    assert await Street.exists().where(Street.name == name)


# ---------------------------------------------------------------- sessions


async def test_session_survives_a_restart_and_logout_ends_it_everywhere(app):
    from conference.app import create_app

    second = create_app()  # a restarted (or second) process: nothing shared but the database
    async with make_client(app) as first_client, make_client(second) as second_client:
        response = await login(first_client, "street")
        assert response.status_code == 303
        token = first_client.cookies.get("sid")
        assert token
        second_client.cookies.set("sid", token)
        for client in (first_client, second_client):
            response = await client.get("/")
            assert response.status_code == 200
            assert html(response).find(id="my-street").get_text(strip=True) == "兰山街道"

        # Only the SHA-256 of the cookie is stored; the cookie value itself is nowhere in the table.
        rows = await Session.select()
        assert any(r["key_hash"] == sha256(token) for r in rows)
        assert not [r for r in rows if any(token in str(v) for v in r.values())]

        response = await post_form(first_client, "/logout", {})
        assert response.status_code == 303
        assert not await Session.exists().where(Session.key_hash == sha256(token))
        for client in (first_client, second_client):
            client.cookies.set("sid", token)  # a stolen copy of the cookie is as dead as the original
            response = await client.get("/")
            assert response.status_code == 303
            assert response.headers["location"] == "/login?next=%2F"


async def test_expired_sessions_and_deactivated_accounts_are_logged_out(app):
    import datetime as dt

    username, user_id = await new_user(role="admin")
    async with make_client(app) as client:
        await login(client, username, "secret-pass-1")
        key = sha256(client.cookies.get("sid"))
        assert (await client.get("/account")).status_code == 200
        await Session.update({Session.expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
            Session.key_hash == key)
        assert (await client.get("/account")).status_code == 303

        await login(client, username, "secret-pass-1")
        assert (await client.get("/account")).status_code == 200
        await User.update({User.active: False}).where(User.id == user_id)
        assert (await client.get("/account")).status_code == 303
        assert (await login(client, username, "secret-pass-1")).status_code == 400


async def test_each_login_gets_a_new_session_id(app):
    async with make_client(app) as client:
        await login(client, "unit")
        first = client.cookies.get("sid")
        await login(client, "unit")
        assert client.cookies.get("sid") != first


async def test_session_cookie_flags(app):
    async with make_client(app) as client:
        response = await login(client, "unit")
        headers = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("sid=")]
        assert len(headers) == 1
        cookie = SimpleCookie()
        cookie.load(headers[0])
        morsel = cookie["sid"]
        assert morsel["httponly"] is True
        assert morsel["samesite"].lower() == "lax"
        assert morsel["path"] == "/"
        assert int(morsel["max-age"]) > 0


# ---------------------------------------------------------------- log-in


async def test_wrong_password_keeps_username_and_never_echoes_the_password(app):
    async with make_client(app) as client:
        response = await login(client, "office", "wrong-password-xyz")
        assert response.status_code == 400
        page = html(response)
        assert page.select_one("#error-summary h2").get_text(strip=True) == "用户名或密码不正确。"
        assert field_value(response, "username") == "office"
        password_input = page.find(id="f-password")
        assert password_input is not None and password_input.get("value") is None
        assert "wrong-password-xyz" not in response.text
        assert "sid" not in client.cookies


async def test_login_with_nul_byte_is_just_a_failed_login(anon):
    response = await post_form(anon, "/login", {"username": "off\x00ice", "password": "demo\x0012345"})
    assert response.status_code == 400
    assert html(response).select_one("#error-summary h2").get_text(strip=True) == "用户名或密码不正确。"


async def test_empty_login_fields_get_messages_beside_them(anon):
    response = await post_form(anon, "/login", {"username": "", "password": ""})
    assert response.status_code == 400
    assert field_error(response, "username") == "请填写用户名。"
    assert field_error(response, "password") == "请填写密码。"


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http://evil.example/x", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)", "evil.example",
])
async def test_login_never_redirects_off_site(app, target):
    async with make_client(app) as client:
        response = await client.get("/login", params={"next": target})
        assert html(response).find("input", attrs={"name": "next"})["value"] == "/"
        response = await client.post("/login", data={"username": "unit", "password": "demo12345", "next": target,
                                                      "_csrf_token": client.cookies.get("csrftoken", "")})
        assert response.status_code == 303
        assert response.headers["location"] == "/"


async def test_login_returns_to_a_local_next(app):
    async with make_client(app) as client:
        response = await client.get("/registry/units?q=局")
        # next carries the path and the query as sent (percent-encoded), itself encoded once more.
        assert response.headers["location"] == "/login?next=%2Fregistry%2Funits%3Fq%3D%25E5%25B1%2580"
        page = html(await client.get(response.headers["location"]))
        target = page.find("input", attrs={"name": "next"})["value"]
        assert target == "/registry/units?q=%E5%B1%80"
        response = await client.post("/login", data={"username": "office", "password": "demo12345", "next": target,
                                                      "_csrf_token": client.cookies.get("csrftoken", "")})
        assert response.headers["location"] == target
        response = await client.get(target)
        assert html(response).find(id="q")["value"] == "局"


# ---------------------------------------------------------------- passwords


async def test_passwords_are_stored_as_argon2id(app):
    rows = await User.select(User.username, User.password_hash)
    # An account the office opened holds exactly the "no password yet" marker until its person sets
    # one through the e-mailed link; every other account holds an argon2id hash.
    assert rows and all(r["password_hash"] == UNSET_HASH or r["password_hash"].startswith("$argon2id$") for r in rows)
    assert any(r["password_hash"].startswith("$argon2id$") for r in rows)
    _username, user_id = await new_user()
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    assert row["password_hash"].startswith("$argon2id$") and "secret-pass-1" not in row["password_hash"]


def test_outside_the_test_suite_passwords_get_the_full_argon2_cost():
    """The suite hashes with the cheapest profile; a normal process (no test variable) must not."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ARGON2_CHEAPEST_FOR_TESTS"}
    code = "from conference.accounts import passwords; print(passwords._hasher.hash('x'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "$m=65536,t=3,p=4$" in out
    assert "$m=65536,t=3,p=4$" not in passwords._hasher.hash("x")  # and the suite really is cheap


async def test_password_verification_runs_off_the_event_loop(app):
    from argon2 import PasswordHasher

    # A hash at the production cost (the suite's own hasher is cheap): verifying reads the cost from it.
    password_hash = PasswordHasher().hash("correct horse")
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    results = await asyncio.gather(*(passwords.verify_password(password_hash, "correct horse") for _ in range(3)),
                                   passwords.verify_password(password_hash, "wrong"),
                                   passwords.verify_password(None, "anything"))
    elapsed = time.perf_counter() - started
    running = False
    await task
    assert results == [True, True, True, False, False]
    # The loop kept turning while the hashes were computed: a blocking verify would leave ticks near 0.
    assert ticks >= 5, (ticks, elapsed)


async def test_change_password_through_the_account_page(app):
    username, _user_id = await new_user(role="office", conference=1)
    async with make_client(app) as client:
        await login(client, username, "secret-pass-1")
        response = await post_form(client, "/account/password", {"old_password": "nope-nope", "new_password": "short"})
        assert response.status_code == 400
        assert field_error(response, "new_password") == "密码至少 8 位。"
        response = await post_form(client, "/account/password", {"old_password": "nope-nope", "new_password": "new-pass-123"})
        assert field_error(response, "old_password") == "原密码不正确。"
        response = await post_form(client, "/account/password",
                                   {"old_password": "secret-pass-1", "new_password": "new-pass-123"})
        assert response.status_code == 303
    assert await services.authenticate(username, "secret-pass-1") is None
    assert (await services.authenticate(username, "new-pass-123")).username == username


# ---------------------------------------------------------------- API tokens


async def test_api_token_is_shown_once_stored_hashed_and_replaced_by_a_new_one(app):
    username, user_id = await new_user(role="unit", unit=1)
    async with make_client(app) as client:
        await login(client, username, "secret-pass-1")
        tokens = []
        for _ in range(2):
            response = await post_form(client, "/account/token", {})
            assert response.status_code == 200
            tokens.append(html(response).find(id="new-token").get_text(strip=True))
        response = await client.get("/account")
        assert html(response).find(id="new-token") is None
        assert tokens[0] not in response.text and tokens[1] not in response.text
    old, new = tokens
    assert old != new and new.startswith("lx_")
    row = await User.select(User.api_token_hash).where(User.id == user_id).first()
    assert row["api_token_hash"] == sha256(new)
    assert (await services.actor_for_api_token(new)).id == user_id
    assert await services.actor_for_api_token(old) is None
    async with make_client(app) as api:
        response = await api.get("/api/me", headers={"Authorization": f"Bearer {new}"})
        assert response.status_code == 200 and response.json()["username"] == username
        assert (await api.get("/api/me", headers={"Authorization": f"Bearer {old}"})).status_code == 401


async def test_api_token_is_not_a_session_cookie(app):
    """A browser session cannot be ridden into the API, and a token is no page session either."""
    _username, user_id = await new_user(role="admin")
    token = await services.issue_api_token(None, user_id)
    async with make_client(app) as client:
        client.cookies.set("sid", token)
        assert (await client.get("/")).status_code == 303
        response = await client.get("/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 303


# ---------------------------------------------------------------- bad input never 500


async def test_unknown_url_is_a_chinese_404(as_user, anon):
    for client in (await as_user("office"), anon):
        response = await client.get(f"/no/such/page/{uid()}")
        assert response.status_code == 404
        page = html(response)
        assert page.html["lang"] == "zh-CN"
        assert page.find("h1").get_text(strip=True) == NOT_FOUND_MESSAGE


async def test_wrong_method_is_a_chinese_405(as_user):
    response = await (await as_user("office")).get("/logout")
    assert response.status_code == 405
    assert html(response).find("h1").get_text(strip=True) == "不支持此操作方式。"


async def test_typed_markup_is_shown_as_text_everywhere(as_user):
    client = await as_user("office")
    name = f"<script>alert('{uid()}')</script>"
    response = await post_form(client, "/registry/units/new", {"name": name, "kind": "other", "duties": "<img src=x onerror=alert(1)>"})
    assert response.status_code == 303
    unit_id = int(response.headers["location"].rsplit("/", 1)[1])
    for url in (f"/registry/units/{unit_id}", f"/registry/units/{unit_id}/edit", f"/registry/units?q={name[:20]}",
                "/audit?entity=member_unit"):
        response = await client.get(url)
        page = html(response)
        assert not [tag for tag in page.find_all("script") if "alert" in tag.get_text()], url
        assert page.find("img", attrs={"onerror": True}) is None, url
    assert html(await client.get(f"/registry/units/{unit_id}")).find("h1").get_text(strip=True) == name


@pytest.mark.parametrize("url", ["/registry/units/99999999", "/registry/units/99999999/edit",
                                 "/registry/conferences/99999999", "/registry/streets/2147483648",
                                 "/registry/convenors/99999999999999999999999"])
async def test_missing_records_are_404(as_user, url):
    response = await (await as_user("admin")).get(url)
    assert response.status_code == 404
    assert html(response).find("h1").get_text(strip=True) in (NOT_FOUND_MESSAGE, "没有找到该记录，或您无权查看。")


@pytest.mark.parametrize("url", ["/registry/units/abc", "/registry/units/-1", "/registry/units/1.5/edit"])
async def test_malformed_ids_are_not_server_errors(as_user, url):
    response = await (await as_user("admin")).get(url)
    assert response.status_code in (400, 404)
    assert html(response).find("h1") is not None


@pytest.mark.parametrize("query", [
    "page=abc&per_page=-5&sort=nonsense", "page=-1&per_page=abc&desc=maybe", "page=99999999999999999999&per_page=1e9",
    "q=%25%25%25&sort=name&desc=1", "q=_", "q=" + "长" * 5000 + "&page=" + "9" * 3000, "q=%00&sort=%00",
    "per_page=100000&page=0",
])
async def test_list_parameters_never_break_the_page(as_user, query):
    for url in ("/registry/units", "/registry/conferences", "/audit", "/admin/users"):
        response = await (await as_user("admin")).get(f"{url}?{query}")
        assert response.status_code == 200, (url, query, response.status_code)
        assert html(response).find("table", class_="list") is not None


async def test_form_with_nul_byte_is_refused_beside_the_field(as_user):
    client = await as_user("office")
    name = f"街道{uid()}\x00x"
    response = await post_form(client, "/registry/streets/new", {"name": name, "district": "兰山区\x00"})
    assert response.status_code == 400
    assert field_error(response, "name") == "街道名称含有不允许的字符。"
    assert field_error(response, "district") == "所属县区含有不允许的字符。"
    assert html(response).find(id="error-summary") is not None
    assert not await Street.exists().where(Street.name == name.replace("\x00", ""))


async def test_form_with_100kb_field_is_refused_beside_the_field(as_user):
    client = await as_user("office")
    big = "字" * 100_000
    response = await post_form(client, "/registry/units/new", {"name": big, "kind": "department", "duties": big})
    assert response.status_code == 400
    assert field_error(response, "name") == "单位名称不能超过100个字。"
    assert field_error(response, "duties") == "职责任务不能超过2000个字。"
    assert field_value(response, "duties") == big  # kept, so that nothing typed is lost


async def test_form_with_wrong_types_is_refused_beside_each_field(as_user):
    client = await as_user("office")
    name = f"单位{uid()}"
    response = await post_form(client, "/registry/units/new", {
        "name": name, "kind": "999", "parent_unit": "abc", "liaison_email": "not-an-email",
        "liaison_phone": "call me", "version": "x"})
    assert response.status_code == 400
    assert field_error(response, "kind") == "请从列表中选择单位类别。"
    assert field_error(response, "parent_unit") == "请选择上级单位。"
    assert field_error(response, "liaison_email").startswith("联络员邮箱格式不正确")
    assert field_error(response, "liaison_phone").startswith("联络员电话只能包含")
    assert field_value(response, "liaison_email") == "not-an-email"
    assert not await MemberUnit.exists().where(MemberUnit.name == name)

    unit = await MemberUnit.select(MemberUnit.id, MemberUnit.version).where(MemberUnit.name == "兰山区司法局").first()
    for ended_on in ("2025-02-30", "yesterday", "9" * 50):
        response = await post_form(client, f"/registry/units/{unit['id']}/end", {"ended_on": ended_on,
                                                                                "version": str(unit["version"])})
        assert response.status_code == 400
        assert field_error(response, "ended_on") == "撤销日期不是有效日期，请按 2026-11-29 的格式填写。"
    assert (await MemberUnit.select(MemberUnit.ended_on).where(MemberUnit.id == unit["id"]).first())["ended_on"] is None


async def test_repeated_fields_and_file_fields_are_not_server_errors(as_user):
    client = await as_user("office")
    token = client.cookies.get("csrftoken", "")
    response = await client.post("/registry/streets/new",
                                 content=f"name=a{uid()}&name=b&district=x&district=&_csrf_token={token}",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code in (303, 400)
    response = await client.post("/registry/streets/new", data={"_csrf_token": token, "district": "兰山区"},
                                 files={"name": ("name.txt", b"not text", "text/plain")})
    assert response.status_code == 400
    assert field_error(response, "name") == "请填写街道名称。"
