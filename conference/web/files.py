"""Serving stored uploads (agenda attachments, task evidence): always as a download of the type
checked at upload, never rendered in the site's origin."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from litestar import MediaType, Response

from conference.forms import safe_filename


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987) for Chinese names."""
    filename = safe_filename(filename)
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


def download(row: Mapping[str, Any]) -> Response[bytes]:
    """`row` has data, content_type and filename (an Attachment or TaskAttachment row)."""
    return Response(content=bytes(row["data"]), media_type=row["content_type"] or MediaType.TEXT, headers={
        "Content-Disposition": content_disposition(row["filename"]),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })
