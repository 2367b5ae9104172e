"""Map domain and HTTP errors to pages (Chinese, with the layout) or JSON for /api/."""

from __future__ import annotations

import logging
import sqlite3
import urllib.parse
from typing import Any

import asyncpg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect

from conference.errors import Busy, DomainError, ValidationFailed
from conference.i18n import gettext as _
from conference.web.auth import is_api

log = logging.getLogger("conference")

STATUS_MESSAGES = {
    400: _("请求内容有误。"),
    401: _("请先登录。"),
    403: _("您无权执行此操作。"),
    404: _("没有找到该页面或记录，或您无权查看。"),
    405: _("不支持此操作方式。"),
    409: _("操作与记录的当前状态冲突。"),
    413: _("上传的内容过大。"),
    429: _("操作过于频繁，请稍后再试。"),
    500: _("系统内部错误，已记录，请稍后再试。"),
}


def _respond(request: Request[Any, Any, Any], status: int, message: str, errors: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> Response[Any]:
    if is_api(request.url.path):
        body: dict[str, Any] = {"status_code": status, "detail": message}
        if errors:
            body["errors"] = errors
        return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)
    # Rendered to a string here rather than returned as a Template: exception handlers also run for
    # errors raised before routing (404, 405), where Litestar's template response lacks its context.
    return Response(content=_error_page(request, status, message, errors), status_code=status, media_type=MediaType.HTML,
                    headers=headers)


def _error_page(request: Request[Any, Any, Any], status: int, message: str, errors: dict[str, str] | None) -> str:
    engine = request.app.template_engine
    assert engine is not None
    template = engine.get_template("error.html")
    return template.render(
        status=status, message=message, errors=errors or {}, actor=request.scope.get("user"), request=request,
        csrf_input="",
    )


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    errors = exc.errors if isinstance(exc, ValidationFailed) else None
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
    return _respond(request, exc.status_code, exc.message, errors, headers)


def integrity_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A uniqueness or reference rule held by the database: the same action fired twice at once
    (a double click, two staff members) or a record someone removed meanwhile. The services check
    these rules first with a clear message; this is the backstop when two requests pass the check
    together, so the second one is refused as a conflict, never a 500."""
    log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc)
    return _respond(request, 409, _("该操作与他人同时进行的操作冲突，未重复执行。请刷新页面查看最新状态。"))


def operational_error(request: Request[Any, Any, Any], exc: sqlite3.OperationalError) -> Response[Any]:
    if "locked" in str(exc) or "busy" in str(exc):
        return domain_error(request, Busy())
    return server_error(request, exc)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException) and not is_api(request.url.path):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(path="/login?next=" + urllib.parse.quote(target, safe=""), status_code=303)
    message = STATUS_MESSAGES.get(status, STATUS_MESSAGES[400] if status < 500 else STATUS_MESSAGES[500])
    if status == 403 and "csrf" in str(exc.detail).lower():
        message = _("表单已过期或来源无法确认（CSRF 校验失败），请刷新页面后重新提交。")
    elif isinstance(exc, ValidationException):
        message = _("提交的数据格式不正确，请检查后重试。")
    elif status < 500 and exc.detail and _is_chinese(exc.detail):
        message = exc.detail
    return _respond(request, status, message)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(request, 500, STATUS_MESSAGES[500])


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    sqlite3.IntegrityError: integrity_error,
    asyncpg.IntegrityConstraintViolationError: integrity_error,
    sqlite3.OperationalError: operational_error,
    # A deadlock or serialization failure on PostgreSQL rolled the transaction back: nothing was
    # written, and sending the request again succeeds.
    asyncpg.TransactionRollbackError: lambda request, exc: domain_error(request, Busy()),
    HTTPException: http_error,
    Exception: server_error,
}
