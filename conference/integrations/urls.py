"""Which URLs the server may post to (SSRF guard). An office types these URLs, so the server must
never be made to reach its own network: only https:// to hosts whose every address is public. The
check runs when a target is saved and again before each delivery (the name may resolve elsewhere
later). WEBHOOK_ALLOW_HTTP_LOOPBACK (tests, local trials) admits http:// and https:// on loopback
addresses only; private, link-local and other reserved addresses stay refused."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse

from conference.i18n import gettext as _
from conference.settings import Settings


class UnsafeUrl(ValueError):
    """The URL may not be fetched; the message says why, in words for the office."""


def _allowed_address(address: str, allow_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


def check_syntax(url: str, settings: Settings) -> urllib.parse.SplitResult:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname  # parsed lazily: an unbalanced or invalid [IPv6] host raises here
    except ValueError:  # 'https://[::1' -- a typing error, not a server error
        raise UnsafeUrl(_("请填写以 https:// 开头的完整网址。")) from None
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl(_("请填写以 https:// 开头的完整网址。"))
    if parts.username or parts.password:
        raise UnsafeUrl(_("网址中不能包含用户名或密码。"))
    if parts.scheme == "http" and not settings.webhook_allow_http_loopback:
        raise UnsafeUrl(_("只能使用 https:// 网址。"))
    return parts


async def check_url(url: str, settings: Settings) -> str:
    """Raises UnsafeUrl unless `url` may be posted to now; returns the checked address to connect
    to (see `pinned`), IPv4 first."""
    parts = check_syntax(url, settings)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl(_("网址的端口号无效。")) from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(_("无法解析该网址的主机名。")) from None
    addresses = {str(info[4][0]) for info in infos}
    allow_loopback = settings.webhook_allow_http_loopback
    if not addresses or not all(_allowed_address(a, allow_loopback) for a in addresses):
        raise UnsafeUrl(_("该网址指向内部网络地址，不能使用。"))
    if parts.scheme == "http" and not all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses):
        raise UnsafeUrl(_("只能使用 https:// 网址。"))
    return sorted(addresses, key=lambda a: (":" in a, a))[0]


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The request to `url` sent to `address`, the one check_url approved: (URL with the address as
    host, Host header, httpx extensions naming the host for TLS SNI and certificate check). Letting
    the HTTP client resolve the name again would let a DNS answer that changes between the check
    and the post (DNS rebinding) send the request into the server's own network."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    return (urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc},
            {"sni_hostname": host})
