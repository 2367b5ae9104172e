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


async def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in ALWAYS.items():
        if name not in headers:
            headers[name] = value
    policy = headers["Content-Security-Policy"]
    if "frame-ancestors" not in policy:  # a handler's own (stricter) policy: never framed either
        headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
    if _needs_no_store(scope):
        current = headers.get("Cache-Control", "")
        if "no-store" not in current and "private" not in current:
            headers["Cache-Control"] = "no-store"
    if get_settings().secure_cookies:  # BASE_URL is https
        headers["Strict-Transport-Security"] = HSTS
