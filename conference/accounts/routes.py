"""Log-in, log-out, the account page (password, API token) and the admin's user list."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.datastructures import Cookie
from litestar.middleware.csrf import generate_csrf_token
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from conference.accounts import services, throttle
from conference.accounts.actor import CurrentActor
from conference.accounts.tables import User
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.registry.tables import Conference, MemberUnit, Person, Street
from conference.roles import PEOPLE, Role
from conference.settings import get_settings
from conference.web.auth import SESSION_COOKIE
from conference.web.fields import Field
from conference.web.forms import form_data, submit
from conference.web.listing import paginate
from conference.web.templating import redirect, render

CSRF_COOKIE = "csrftoken"  # Litestar's CSRFConfig default cookie name


def _safe_next(target: str | None) -> str:
    """Only local paths: a crafted ?next= must not send the user to another site."""
    # No control characters either: browsers drop tabs and newlines from URLs, so "/\t/evil.example"
    # would become "//evil.example" (and a newline would split the Location header).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target and target.isprintable():
        return target
    return "/"


@get("/", opt={"public": True})
async def login_page(request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Template:
    return render(request, "accounts/login.html", form={"next": _safe_next(next)}, errors={})


@post("/", opt={"public": True})
async def login(request: Request[Any, Any, Any]) -> Template | Redirect:
    data = await form_data(request)
    username = (data.get("username") or "").strip()[:40]
    password = (data.get("password") or "")[:200]
    address = throttle.client_address(request)
    pair = throttle.account_key(username, address)
    if username and password and (wait := await throttle.retry_after(pair, throttle.address_key(address))):
        # Refused before the password is even checked, and not counted: the lock ends on time.
        refused = render(request, "accounts/login.html", 429, form={"username": username, "next": _safe_next(data.get("next"))},
                         errors={}, error_message=throttle.wait_message(wait))
        refused.headers["Retry-After"] = str(wait)
        return refused
    actor = await services.authenticate(username, password) if username and password else None
    if actor is None and username and password:
        await throttle.failed(pair, throttle.PAIR)
        await throttle.failed(throttle.address_key(address), throttle.ADDRESS)
    elif actor is not None:
        await throttle.succeeded(pair)
    if actor is None:
        errors = {}
        if not username:
            errors["username"] = _("请填写用户名。")
        if not password:
            errors["password"] = _("请填写密码。")
        message = _("用户名或密码不正确。") if not errors else _("请填写用户名和密码。")
        return render(request, "accounts/login.html", 400, form={"username": username, "next": _safe_next(data.get("next"))},
                      errors=errors, error_message=message)
    token = await services.start_session(actor)
    settings = get_settings()
    cookie = Cookie(key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", path="/",
                    secure=settings.secure_cookies, max_age=settings.session_days * 86400)
    response = redirect(_safe_next(data.get("next")))
    response.cookies.append(cookie)
    response.cookies.append(_fresh_csrf_cookie())
    return response


def _fresh_csrf_cookie() -> Cookie:
    """A new CSRF token at every log-in and log-out (ASVS 3.2.1 spirit: nothing from before the
    log-in carries over), with the attributes Litestar's CSRF middleware gives its own cookie."""
    settings = get_settings()
    return Cookie(key=CSRF_COOKIE, value=generate_csrf_token(settings.secret_key), path="/", httponly=True,
                  samesite="lax", secure=settings.secure_cookies)


@post("/", opt={"roles": PEOPLE})
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    if token := request.cookies.get(SESSION_COOKIE):
        await services.end_session(token)
    response = redirect("/login", _("您已退出登录。"))
    response.cookies.append(Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax",
                                   secure=get_settings().secure_cookies))
    response.cookies.append(_fresh_csrf_cookie())
    return response


PASSWORD_FIELDS = [
    Field("old_password", _("原密码"), "password", required=True),
    Field("new_password", _("新密码"), "password", required=True, help=_("至少 8 位。")),
]


@get("/", opt={"roles": PEOPLE})
async def account_page(request: Request[Any, Any, Any]) -> Template:
    return render(request, "accounts/account.html", fields=PASSWORD_FIELDS, form={}, errors={})


@post("/password", opt={"roles": PEOPLE})
async def change_password(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    # Guessing the old password from a stolen session counts like guessing it at log-in.
    pair = throttle.account_key(actor.username, throttle.client_address(request))
    if wait := await throttle.retry_after(pair):
        response = render(request, "accounts/account.html", 429, fields=PASSWORD_FIELDS, form={}, errors={},
                          error_message=throttle.wait_message(wait))
        response.headers["Retry-After"] = str(wait)
        return response
    result = await submit(
        request, template="accounts/account.html", fields=PASSWORD_FIELDS,
        action=lambda data: services.change_password(actor, data, keep_session=request.cookies.get(SESSION_COOKIE)),
        success=lambda _r: "/account", flash=_("密码已修改。"),
    )
    if isinstance(result, Template) and "old_password" in (result.context or {}).get("errors", {}):
        await throttle.failed(pair, throttle.PAIR)
    return result


@post("/token", opt={"roles": PEOPLE})
async def new_token(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    token = await services.issue_api_token(actor, actor.id)
    # Shown once on this page and never again: only its hash is stored.
    return render(request, "accounts/account.html", fields=PASSWORD_FIELDS, form={}, errors={}, new_token=token)


async def _user_link_options() -> list[Field]:
    conferences = await Conference.select(Conference.id, Conference.name).order_by(Conference.sort_key, Conference.name)
    streets = await Street.select(Street.id, Street.name).order_by(Street.sort_key, Street.name)
    units = await MemberUnit.select(MemberUnit.id, MemberUnit.name).order_by(MemberUnit.sort_key, MemberUnit.name)
    persons = await Person.select(Person.id, Person.name).order_by(Person.sort_key, Person.name)

    def opts(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [("", _("（不适用）"))] + [(str(r["id"]), r["name"]) for r in rows]

    return [
        Field("username", _("用户名"), required=True, max_length=40),
        Field("display_name", _("姓名"), max_length=60),
        Field("password", _("初始密码"), "password", required=True, help=_("至少 8 位。")),
        Field("role", _("角色"), "select", required=True, options=[("", _("请选择"))] + list(services.ROLE_LABELS.items())),
        Field("conference", _("所属联席会议（办公室账号）"), "select", options=opts(conferences)),
        Field("street", _("所属街道（街道账号）"), "select", options=opts(streets)),
        Field("unit", _("所属成员单位（单位账号）"), "select", options=opts(units)),
        Field("person", _("召集人本人（召集人账号）"), "select", options=opts(persons)),
    ]


@get("/", opt={"roles": (Role.ADMIN,)})
async def user_list(request: Request[Any, Any, Any]) -> Template:
    page = await paginate(
        User, [User.id, User.username, User.display_name, User.role, User.active, User.created_at],
        dict(request.query_params), search=[User.username, User.display_name],
        sorts={"username": User.username, "role": User.role, "created_at": User.created_at}, default_sort="username",
    )
    return render(request, "accounts/users.html", page=page)


@get("/new", opt={"roles": (Role.ADMIN,)})
async def user_new(request: Request[Any, Any, Any]) -> Template:
    return render(request, "form_page.html", fields=await _user_link_options(), form={}, errors={},
                  title=_("新建账号"), back="/admin/users")


@post("/new", opt={"roles": (Role.ADMIN,)})
async def user_create(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    return await submit(
        request, template="form_page.html", fields=await _user_link_options(), title=_("新建账号"), back="/admin/users",
        action=lambda data: services.create_user(actor, data), success=lambda _r: "/admin/users", flash=_("账号已创建。"),
    )


RESET_FIELDS = [
    Field("new_password", _("新密码"), "password", required=True,
          help=_("至少 8 位。重置后该账号的所有登录会话和接口令牌立即失效。")),
]


async def _reset_context(user_id: int) -> dict[str, Any]:
    row = await User.select(User.username).where(User.id == user_id).first()
    if row is None:
        raise NotFound(_("没有找到该账号。"))
    return {"fields": RESET_FIELDS, "title": _("重置密码：{name}").format(name=row["username"]), "back": "/admin/users"}


@get("/{user_id:int}/password", opt={"roles": (Role.ADMIN,)})
async def user_password_page(request: Request[Any, Any, Any], user_id: FromPath[int]) -> Template:
    return render(request, "form_page.html", form={}, errors={}, **await _reset_context(user_id))


@post("/{user_id:int}/password", opt={"roles": (Role.ADMIN,)})
async def user_password_reset(request: Request[Any, Any, Any], actor: CurrentActor, user_id: FromPath[int]) -> Template | Redirect:
    return await submit(
        request, template="form_page.html", **await _reset_context(user_id),
        action=lambda data: services.reset_password(actor, user_id, data),
        success=lambda _r: "/admin/users", flash=_("密码已重置，该账号的其他登录已全部退出。"),
    )


# Pages, not API operations: kept out of the OpenAPI schema, router by router. The log-in page is
# public (its handlers say so).
ROUTES: list[Any] = [
    Router("/login", route_handlers=[login_page, login], include_in_schema=False),
    Router("/logout", route_handlers=[logout], include_in_schema=False),
    Router("/account", route_handlers=[account_page, change_password, new_token], include_in_schema=False),
    Router("/admin/users", route_handlers=[user_list, user_new, user_create, user_password_page, user_password_reset],
           include_in_schema=False),
]
