"""Serving stored uploads (agenda attachments, task evidence): as a download of the type checked at
upload, or -- for JPG/PNG images and PDFs only -- inline for preview, with the type read from the
stored bytes (never text/html, never SVG), in a sandbox with no scripts and no access to the site's
origin; and small thumbnails of images made on the server with Pillow."""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from litestar import MediaType, Response

from conference.errors import NotFound
from conference.forms import download_disposition
from conference.i18n import gettext as _

log = logging.getLogger(__name__)

# The only types ever shown inline, recognised by their magic bytes: a file whose bytes are anything
# else (HTML, SVG, a script renamed .png) is never rendered by the browser in our origin.
INLINE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)
PREVIEW_KINDS = {"image/png": "image", "image/jpeg": "image", "application/pdf": "pdf"}
THUMBNAIL_SIZE = 240  # px, the longer side; the page shows it at most 120 CSS px wide (2x screens)
THUMBNAIL_MAX_PIXELS = 50_000_000  # a 10 MB upload can claim far more in its header (a decompression bomb)
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}

IMAGE_DOCUMENT_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
# Chromium's PDF viewer does not start in a plain `sandbox` (the page never loads: measured with
# Debian's Chromium); `allow-same-origin` lets it start, and without `allow-scripts` nothing can
# run in the site's origin (the PDF's own JavaScript runs inside the viewer, not in the page).
PDF_DOCUMENT_POLICY = "default-src 'none'; sandbox allow-same-origin"


def sniff(data: bytes) -> str | None:
    """The inline content type of these bytes, or None when they may not be shown in the browser."""
    for magic, content_type in INLINE_SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def preview_kind(content_type: str) -> str | None:
    """"image", "pdf" or None, from the type checked at upload (for links on the list pages; the
    preview itself reads the bytes again)."""
    return PREVIEW_KINDS.get(content_type or "")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """`attachment` (or `inline`) with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987) for
    Chinese names (the fallback of a Chinese name is download.<ext>, not a row of underscores)."""
    return download_disposition(filename, inline=disposition == "inline")


NO_PREVIEW = _("该附件不能在浏览器中预览，请下载后查看。")


def inline(row: Mapping[str, Any]) -> Response[bytes]:
    """The stored file for viewing in the browser (same permission as the download): images and PDFs
    only, with the type sniffed from the bytes; anything else is 404 with a hint to download."""
    data = bytes(row["data"])
    content_type = sniff(data)
    if content_type is None:
        raise NotFound(NO_PREVIEW)
    headers = {**SAFE_HEADERS, "Content-Disposition": content_disposition(row["filename"], "inline"),
               "Cache-Control": "private, no-store"}
    if content_type.startswith("image/"):
        # The browser shows an image in a page of its own making, centred and zoomable by inline
        # styles: allowed, in a sandbox that runs no script and loads nothing else.
        headers["Content-Security-Policy"] = IMAGE_DOCUMENT_POLICY
    else:
        headers["Content-Security-Policy"] = PDF_DOCUMENT_POLICY
    return Response(content=data, media_type=content_type, headers=headers)


def _thumbnail_bytes(data: bytes) -> tuple[bytes, str] | None:
    """A small JPEG (or PNG when the image has transparency), or None when the bytes are no image
    Pillow can safely shrink. CPU work: run in a worker thread."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
            if image.width * image.height > THUMBNAIL_MAX_PIXELS:
                return None
            image.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))  # JPEG: decode at a reduced scale
            small = ImageOps.exif_transpose(image)  # photos taken upright show upright
            small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            out = io.BytesIO()
            if small.mode in ("RGBA", "LA", "P") and (small.mode != "P" or "transparency" in small.info):
                small.save(out, "PNG", optimize=True)
                return out.getvalue(), "image/png"
            small.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue(), "image/jpeg"
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.info("no thumbnail: %s", exc)
        return None


async def thumbnail(row: Mapping[str, Any]) -> Response[bytes]:
    """A thumbnail of a stored image (same permission as the download); 404 for other files. The
    attachment never changes under its id, so the browser may keep it privately for a day."""
    data = bytes(row["data"])
    if sniff(data) not in ("image/png", "image/jpeg"):
        raise NotFound(NO_PREVIEW)
    made = await anyio.to_thread.run_sync(_thumbnail_bytes, data)
    if made is None:
        raise NotFound(NO_PREVIEW)
    content, content_type = made
    return Response(content=content, media_type=content_type, headers={
        **SAFE_HEADERS, "Content-Disposition": content_disposition("thumbnail" + (".png" if content_type == "image/png" else ".jpg"), "inline"),
        "Cache-Control": "private, max-age=86400",
    })


def download(row: Mapping[str, Any]) -> Response[bytes]:
    """`row` has data, content_type and filename (an Attachment or TaskAttachment row)."""
    return Response(content=bytes(row["data"]), media_type=row["content_type"] or MediaType.TEXT, headers={
        "Content-Disposition": content_disposition(row["filename"]),
        **SAFE_HEADERS,
        "Cache-Control": "private, no-store",
    })
