"""Authentication middleware and the app-wide guard (deny by default).

Pages authenticate with the `sid` session cookie; the JSON API only with `Authorization: Bearer`,
so that API calls need no CSRF token and a browser session can never be ridden into the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.exceptions import ImproperlyConfiguredException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

from conference.i18n import gettext as _

if TYPE_CHECKING:
    from conference.accounts.actor import Actor

SESSION_COOKIE = "sid"


def is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/api"


def is_static(scope: Scope) -> bool:
    """Static files need no actor. The static router is a mount, so its scope's `path` is the part
    below /static; the request's own path is in `raw_path` (as Litestar's path exclusion reads it)."""
    handler = scope.get("route_handler")
    path = scope["raw_path"].decode("latin-1") if getattr(handler, "is_mount", False) else scope["path"]
    return path.startswith("/static/")


class AuthMiddleware(ASGIMiddleware):
    """`by_session` and `by_token` find the actor of a session key and of an API token (None when
    there is none); the app factory passes the accounts domain's lookups, so this module imports no
    domain."""

    scopes = (ScopeType.HTTP,)
    # A predicate rather than exclude_path_pattern: that pattern is matched against the route
    # handler's path in Litestar 3 ("/static", which "^/static/" would no longer match).
    should_bypass_for_scope = staticmethod(is_static)

    def __init__(self, *, by_session: Callable[[str], Awaitable[Actor | None]],
                 by_token: Callable[[str], Awaitable[Actor | None]]) -> None:
        self.by_session = by_session
        self.by_token = by_token

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = await self.resolve(scope)
        await next_app(scope, receive, send)

    async def resolve(self, scope: Scope) -> Actor | None:
        headers = dict(scope.get("headers", []))
        if is_api(scope["path"]):
            auth = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _sep, token = auth.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return await self.by_token(token.strip())
            return None
        cookie = headers.get(b"cookie", b"").decode("latin-1")
        for part in cookie.split(";"):
            name, _sep, value = part.strip().partition("=")
            if name == SESSION_COOKIE and value and value != "null":
                return await self.by_session(value)
        return None


async def access_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Every route must say who may call it: `opt={"public": True}` or `opt={"roles": (...)}`.
    A route that says neither is refused to everyone, so a forgotten declaration fails closed.
    A coroutine, though it awaits nothing: Litestar runs a plain function guard in a worker thread,
    a thread hop on every request."""
    if handler.opt.get("public"):
        return
    actor: Actor | None = connection.scope.get("user")
    if actor is None:
        raise NotAuthorizedException(_("请先登录。"))
    roles = handler.opt.get("roles")
    if not roles or actor.role not in roles:
        raise PermissionDeniedException(_("您的角色无权访问此页面。"))


RequestHook = Callable[[Request[Any, Any, Any]], Awaitable[None]]


def guarded(hook: RequestHook) -> RequestHook:
    """`hook` run after access_guard, as the app's before_request hook.

    Litestar hands every guard a copy of the route handler (copy.copy of some 60 attributes, ~20 µs
    a request); access_guard only reads the handler's opt, so the app runs it here instead of as a
    guard. The order stays the same: Litestar calls the before_request hook right after the guards
    (after the middleware, auth and CSRF; before the handler's parameters and the handler), and the
    same exceptions reach the same handlers. check_every_route makes sure that no route escapes it."""

    async def checked(request: Request[Any, Any, Any]) -> None:
        await access_guard(request, request.route_handler)
        await hook(request)

    return checked


def check_every_route(app: Litestar, hook: RequestHook) -> None:
    """Deny by default for every route of `app`, checked at start-up: each is an HTTP route (the
    before_request hook runs for those only) whose before_request hook is `hook` (a router or
    handler with a hook of its own would replace it) and without a response cache (a cached
    response is sent before the hook runs)."""
    for route in app.routes:
        handlers = route.route_handlers if isinstance(route, HTTPRoute) else []
        if not handlers or any(h.resolve_before_request() is not hook or h.cache for h in handlers):
            raise ImproperlyConfiguredException(f"{route.path}: the access check (conference.web.auth.guarded) would not run")


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    actor: Actor | None = connection.scope.get("user")
    if actor is None:  # the guard has already refused anonymous callers; this is for type checkers
        raise NotAuthorizedException(_("请先登录。"))
    return actor


async def current_actor(request: Request[Any, Any, Any]) -> Any:
    """The `actor` dependency (registered on the app): a handler that names a parameter `actor`
    receives the logged-in account the middleware found. Handlers only reach it past access_guard,
    which has refused anonymous callers already. A coroutine: Litestar would run a plain function
    dependency in a worker thread unless told otherwise. Typed Any because Litestar resolves this
    signature at run time and this core module names no domain type (the handler's `actor: Actor`
    parameter does; msgspec passes the Actor instance through as it is)."""
    return actor_of(request)


ACTOR_DEPENDENCY = {"actor": Provide(current_actor)}


MAX_ID = 2**31 - 1


async def reject_impossible_ids(request: Any) -> None:
    """Record ids are 32-bit: a larger number in a path can name no record, so it is a 404 here,
    before PostgreSQL would refuse the parameter."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise NotFoundException(_("没有找到该页面或记录，或您无权查看。"))
