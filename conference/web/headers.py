"""Security headers on every response (ASVS 14.4), added by a `before_send` hook so that they also
reach error pages and 404s for unknown paths.

- Content-Security-Policy: scripts and styles only from /static (no inline script, no inline
  style, no event-handler attributes: templates pass data in data-* attributes, and
  static/app.js adds the behaviour), images also as data: URLs, no framing, no plugins, forms
  only to this site.
- X-Frame-Options DENY for browsers without frame-ancestors; nosniff; Referrer-Policy same-origin
  (reply and feed pages, whose URL holds a token, set no-referrer themselves and keep it).
- Cache-Control no-store on every response to a logged-in user (unless the handler chose a
  private policy itself), and on the reply-link pages, which show personal data without a log-in.
- Strict-Transport-Security when BASE_URL is https.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from conference.settings import get_settings

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"
ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PRIVATE_PREFIXES = ("/r/", "/t/", "/password/")  # personal data behind a link, without a log-in


def _needs_no_store(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    if path.startswith("/static/"):
        return False
    return scope.get("user") is not None or path.startswith(PRIVATE_PREFIXES)


ALWAYS_RAW = tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in ALWAYS.items())
CSP = b"content-security-policy"
CACHE_CONTROL = b"cache-control"
HSTS_RAW = (b"strict-transport-security", HSTS.encode("latin-1"))


def _set(raw: list[tuple[bytes, bytes]], first: dict[bytes, int], name: bytes, value: bytes) -> None:
    """MutableScopeHeaders' __setitem__: the first header of that name replaced, its duplicates dropped."""
    index = first.get(name)
    if index is None:
        first[name] = len(raw)
        raw.append((name, value))
        return
    duplicates = [i for i, (found, _v) in enumerate(raw) if i > index and found.lower() == name]
    if duplicates:  # rare: left to Litestar, which removes them as it always did
        MutableScopeHeaders({"headers": raw})[name.decode("latin-1")] = value.decode("latin-1")
        first.clear()
        first.update(_first_indices(raw))
        return
    raw[index] = (name, value)


def _first_indices(raw: list[tuple[bytes, bytes]]) -> dict[bytes, int]:
    first: dict[bytes, int] = {}
    for i, (name, _value) in enumerate(raw):
        first.setdefault(name.lower(), i)
    return first


async def security_headers(message: Message, scope: Scope) -> None:
    """What MutableScopeHeaders did, on the raw header list: the names indexed once (lowercase
    bytes, as Litestar compares them) rather than decoded and searched for each header set."""
    if message["type"] != "http.response.start":
        return
    raw = MutableScopeHeaders.from_message(message).headers  # the message's list (made one if a tuple)
    first = _first_indices(raw)
    for name, value in ALWAYS_RAW:
        if name not in first:
            first[name] = len(raw)
            raw.append((name, value))
    policy = raw[first[CSP]][1]
    if b"frame-ancestors" not in policy:  # a handler's own (stricter) policy: never framed either
        _set(raw, first, CSP, policy + b"; frame-ancestors 'none'")
    if _needs_no_store(scope):
        index = first.get(CACHE_CONTROL)
        current = raw[index][1] if index is not None else b""
        if b"no-store" not in current and b"private" not in current:
            _set(raw, first, CACHE_CONTROL, b"no-store")
    if get_settings().secure_cookies:  # BASE_URL is https
        _set(raw, first, *HSTS_RAW)
