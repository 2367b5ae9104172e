"""Pages opened by a personal link instead of a log-in (an invitation's reply link, a task's action
link, a set-password link): the token in the address is the only credential, so these pages are
kept out of search engines and referrers, and guessing is throttled per address."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request, Response

from conference.accounts import throttle
from conference.errors import NotFound
from conference.web.templating import render

PRIVATE_HEADERS = {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}

T = TypeVar("T")


def private(response: Response[Any]) -> Response[Any]:
    for name, value in PRIVATE_HEADERS.items():
        response.set_header(name, value)
    return response


async def resolve(request: Request[Any, Any, Any], lookup: Callable[[], Awaitable[T]]) -> T | Response[Any]:
    """What the link opens, or the page to answer instead: 404 for a wrong link, 429 once an address
    has guessed too many (the same throttle for every kind of link and for feed tokens). The 404 is
    rendered here, not by the app's exception handler, so that it carries the private headers too."""
    key = throttle.link_key(throttle.client_address(request))
    if wait := await throttle.retry_after(key):
        page = render(request, "error.html", 429, status=429, message=throttle.wait_message(wait), errors={})
        page.headers["Retry-After"] = str(wait)
        return private(page)
    try:
        return await lookup()
    except NotFound as exc:
        await throttle.failed(key, throttle.LINK)
        return private(render(request, "error.html", 404, status=404, message=exc.message, errors={}))
