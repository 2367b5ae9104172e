"""Pages for the accounts the office gives (conference.accounts.onboarding): the account page of
each registry list (units, streets, convenors), opening one account or all missing ones, reset links
and deactivation; and the public pages behind the e-mailed links: set a password, forgot password.

Handlers stay thin; scope and rules are in the service (a record or account out of the office's
reach is a 404)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts import onboarding, personal_links, throttle
from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.forms import ACCOUNT_FORM
from conference.accounts.onboarding import KIND_OF_ROLE, KINDS, Kind
from conference.accounts.personal_links import private
from conference.errors import Conflict, DomainError, ValidationFailed
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES
from conference.web.fields import Field
from conference.web.forms import form_data, submit
from conference.web.templating import redirect, render

# ---------------------------------------------------------------- the office's account pages


def _account_fields() -> list[Field]:
    """The account form's page fields (forms.ACCOUNT_FORM; the record is the page's own)."""
    return ACCOUNT_FORM.page_fields()


def kind_routes(which: Kind) -> Router:
    """The account pages of one kind of registry record: /accounts/units, /accounts/streets,
    /accounts/convenors, each its own router (pages, out of the OpenAPI schema)."""
    base = f"/accounts/{which.slug}"

    @get("/", name=f"accounts_{which.slug}", opt={"roles": OFFICE_ROLES})
    async def account_list(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
        rows = await onboarding.managed_records(actor, which)
        return render(request, "accounts/managed.html", kind=which, rows=rows,
                      missing=sum(1 for r in rows if not r["accounts"]), link_hours=onboarding.LINK_HOURS)

    async def new_context(actor: Actor, record_id: int) -> dict[str, Any]:
        record = await onboarding.managed_record(actor, which, record_id)  # 404 out of reach
        return {"fields": _account_fields(), "title": _("开通账号：{name}").format(name=record["name"]), "back": base,
                "record": record, "notice": _("账号开通后，系统向所填邮箱发送设置密码的链接；对方设置密码后即可登录。")}

    @get("/{record_id:int}/new", name=f"accounts_{which.slug}_new", opt={"roles": OFFICE_ROLES})
    async def account_new(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template:
        context = await new_context(actor, record_id)
        return render(request, "form_page.html", form=onboarding.suggested(which, context["record"]), errors={}, **context)

    @post("/{record_id:int}/new", name=f"accounts_{which.slug}_create", opt={"roles": OFFICE_ROLES})
    async def account_create(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template | Redirect:
        return await submit(request, template="form_page.html", **await new_context(actor, record_id),
                            action=lambda data: onboarding.create_account(actor, which, record_id, data),
                            success=lambda _r: base, flash=_("账号已开通，设置密码的链接已发送。"))

    @post("/bulk", name=f"accounts_{which.slug}_bulk", opt={"roles": OFFICE_ROLES})
    async def account_bulk(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
        created, skipped = await onboarding.create_missing(actor, which)
        results = [{"id": i, "label": name, "ok": True, "message": _("已开通，已发送设置密码链接")} for i, name in enumerate(created)]
        results += [{"id": len(created) + i, "label": name, "ok": False, "message": ""} for i, name in enumerate(skipped)]
        return render(request, "bulk_result.html", title=_("批量开通账号结果"), results=results, back=base,
                      back_label=_("返回账号管理"), link=None, empty=_("所有{noun}都已有账号。").format(noun=which.noun))

    return Router(base, route_handlers=[account_list, account_new, account_create, account_bulk], include_in_schema=False)


async def _on_account(actor: Actor, user_id: int, action: Any, flash: str) -> Redirect:
    """Run an action on an account and return to its list, with the outcome (or the reason) as message."""
    user = await onboarding.managed_account(actor, user_id)  # 404 out of reach
    kind = KIND_OF_ROLE.get(user["role"])
    back = f"/accounts/{kind.slug}" if kind else "/admin/users"
    try:
        await action(actor)
    except Conflict as exc:
        return redirect(back, exc.message)
    return redirect(back, flash)


@post("/{user_id:int}/reset", opt={"roles": OFFICE_ROLES})
async def account_reset(actor: CurrentActor, user_id: FromPath[int]) -> Redirect:
    return await _on_account(actor, user_id, lambda actor: onboarding.office_reset(actor, user_id),
                             _("重置密码的链接已发送到该账号的邮箱。"))


@post("/{user_id:int}/deactivate", opt={"roles": OFFICE_ROLES})
async def account_deactivate(actor: CurrentActor, user_id: FromPath[int]) -> Redirect:
    return await _on_account(actor, user_id, lambda actor: onboarding.set_active(actor, user_id, False),
                             _("账号已停用，其登录已全部退出。"))


@post("/{user_id:int}/activate", opt={"roles": OFFICE_ROLES})
async def account_activate(actor: CurrentActor, user_id: FromPath[int]) -> Redirect:
    return await _on_account(actor, user_id, lambda actor: onboarding.set_active(actor, user_id, True), _("账号已启用。"))


# ---------------------------------------------------------------- the links (public)


def _password_fields() -> list[Field]:
    return [
        Field("new_password", _("新密码"), "password", required=True, help=_("至少 8 位。")),
        Field("new_password_again", _("再次输入新密码"), "password", required=True),
    ]


async def _link_or_page(request: Request[Any, Any, Any], token: str) -> dict[str, Any] | Response[Any]:
    """See personal_links.resolve: 404 for a wrong link, 429 after too many guesses."""
    return await personal_links.resolve(request, lambda: onboarding.link_account(token))


def _set_context(found: dict[str, Any]) -> dict[str, Any]:
    title = _("设置密码") if found["purpose"] == "set" else _("重置密码")
    return {"fields": _password_fields(), "title": title, "back": "/login",
            "notice": _("账号：{u}。设置后请用新密码登录；此链接只能使用一次。").format(u=found["username"])}


@get("/{token:str}", opt={"public": True})
async def password_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    found = await _link_or_page(request, token)
    if isinstance(found, Response):
        return found
    return private(render(request, "form_page.html", form={}, errors={}, **_set_context(found)))


@post("/{token:str}", opt={"public": True})
async def password_set(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    found = await _link_or_page(request, token)
    if isinstance(found, Response):
        return found
    data = await form_data(request)
    try:
        await onboarding.set_password(token, data)
    except ValidationFailed as exc:
        # The typed passwords are not sent back into the page.
        return private(render(request, "form_page.html", 400, form={}, errors=exc.errors, error_message=exc.message,
                               **_set_context(found)))
    except DomainError as exc:  # spent by a use at the same moment
        return private(render(request, "error.html", 404, status=404, message=exc.message, errors={}))
    return redirect("/login", _("密码已设置，请用新密码登录。"))


FORGOT_FIELDS = [Field("who", _("用户名或电子邮箱"), required=True, max_length=onboarding.EMAIL_MAX)]
FORGOT_SENT = _("如果该用户名或邮箱对应一个有效账号，重置密码的链接已发送到账号登记的邮箱，{h} 小时内有效。"
                "没有收到请联系联席会议办公室。")


def _forgot_context() -> dict[str, Any]:
    return {"fields": FORGOT_FIELDS, "title": _("忘记密码"), "back": "/login",
            "notice": _("填写用户名或登记的电子邮箱，系统会把重置密码的链接发到账号登记的邮箱。")}


@get("/", opt={"public": True})
async def forgot_page(request: Request[Any, Any, Any]) -> Template:
    return render(request, "form_page.html", form={}, errors={}, **_forgot_context())


@post("/", opt={"public": True})
async def forgot(request: Request[Any, Any, Any]) -> Template | Redirect:
    # Each request counts against the address, so the form cannot be used to flood mailboxes.
    key = throttle.link_key(throttle.client_address(request))
    if wait := await throttle.retry_after(key):
        page = render(request, "form_page.html", 429, form={}, errors={}, error_message=throttle.wait_message(wait),
                      **_forgot_context())
        page.headers["Retry-After"] = str(wait)
        return page
    response = await submit(request, template="form_page.html", **_forgot_context(), action=onboarding.request_reset,
                            success=lambda _r: "/login", flash=FORGOT_SENT.format(h=onboarding.LINK_HOURS))
    if isinstance(response, Redirect):
        await throttle.failed(key, throttle.LINK)
    return response


# Pages, not API operations: kept out of the OpenAPI schema, router by router. The links' pages
# (/password/..., /forgot-password) are public (each handler says so).
ROUTES: list[Any] = [
    *(kind_routes(which) for which in KINDS.values()),
    Router("/accounts/users", route_handlers=[account_reset, account_deactivate, account_activate], include_in_schema=False),
    Router("/password", route_handlers=[password_page, password_set], include_in_schema=False),
    Router("/forgot-password", route_handlers=[forgot_page, forgot], include_in_schema=False),
]
