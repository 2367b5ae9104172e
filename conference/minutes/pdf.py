"""The minutes PDF: a presenter that turns a plain context into HTML (Jinja, autoescaped) and the
HTML into a PDF with WeasyPrint, in the GB/T 9704-2012 layout for 纪要 (static/pdf/minutes.css).

- Rendering is CPU-bound (0.1-0.5 s): `render` runs it in a worker thread (anyio.to_thread) behind
  a capacity limiter, so the event loop keeps answering other requests meanwhile.
- WeasyPrint may fetch any URL a document names. `StaticOnlyFetcher` serves files under static/
  and the font files in FONTS_DIR (conference.minutes.fonts), and refuses everything else (other
  schemes, other paths, the network), so no user text can make it read a local file or call out;
  user text is escaped by Jinja before WeasyPrint sees it.
- Every PDF gets the @font-face rules of the office's licensed fonts (fonts.font_face_css) as an
  extra stylesheet, so the official families in the stylesheets' font lists resolve to them.
- Fonts are subset with HarfBuzz when libharfbuzz-subset is present; without it WeasyPrint falls
  back to fontTools, which takes seconds per CJK font. `subsetting_backend` answers which one
  WeasyPrint will use (the same condition as weasyprint.pdf.fonts.Font.subset), and
  `check_font_subsetting` logs it clearly at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from conference.i18n import translations
from conference.minutes import fonts
from conference.settings import ROOT

log = logging.getLogger("conference.minutes")
# WeasyPrint announces each rendering step at INFO: seven lines a PDF in the server log, without news.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

STATIC = ROOT / "static"
PDF_STATIC = STATIC / "pdf"
BASE_URL = PDF_STATIC.as_uri() + "/"
TEMPLATE = "pdf/minutes.html"
PDF_VARIANT = "pdf/a-3u"  # the published copy: archival, every font embedded, Unicode text
# Renders at once per process. WeasyPrint is mostly Python, so renders share the GIL: measured here
# (tests/bench/minutes.py, 4 ten-page PDFs), two threads finish no sooner than one and double the
# contention with the event loop (/healthz p50 about 15 ms instead of 10 ms). Scale out with processes.
RENDER_THREADS = 1
CN_DIGITS = "零一二三四五六七八九"
# The 版记 sits on the bottom edge of the last page's text block (GB/T 9704 §7.4.1) as a footnote,
# which cannot break across pages: one longer than this (in characters: about 12 lines at 4号, under
# half the text block) follows the text instead of overflowing the page.
IMPRINT_AT_BOTTOM_CHARS = 300


# ---------------------------------------------------------------- safety


class FetchRefused(ValueError):
    """Raised for every URL outside static/; WeasyPrint logs it and goes on without the resource."""


def static_path(url: str) -> Path:
    """The file under static/ (or a font file in FONTS_DIR) that a file: URL names, or FetchRefused."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise FetchRefused(f"refused to fetch {url!r}: only the application's static files are served")
    path = Path(urllib.request.url2pathname(urllib.parse.unquote(parts.path))).resolve()
    root = STATIC.resolve()
    if fonts.is_font_in_folder(path):
        return path
    if not path.is_relative_to(root) or not path.is_file():
        raise FetchRefused(f"refused to fetch {url!r}: not a file under {root}")
    return path


class StaticOnlyFetcher(URLFetcher):
    """WeasyPrint's URL fetcher, restricted to files under static/."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols=("file",), allow_redirects=False)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        path = static_path(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type})


# ---------------------------------------------------------------- font subsetting


def subsetting_backend() -> str:
    """"harfbuzz" or "fonttools": what WeasyPrint's Font.subset will use in this process."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import harfbuzz

    if fonts.harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return "harfbuzz"
    return "fonttools"


FONTTOOLS_WARNING = "Using fontTools instead of HarfBuzz-Subset"


def check_font_subsetting() -> bool:
    """Start-up check (app on_startup, no arguments): says clearly in the log which subsetter the
    minutes PDFs will use; an error when it is the slow fontTools fallback."""
    import weasyprint

    if subsetting_backend() == "harfbuzz":
        log.info("PDF fonts: WeasyPrint %s subsets fonts with HarfBuzz (libharfbuzz-subset): minutes PDFs render fast.",
                    weasyprint.__version__)
        return True
    log.error("PDF fonts: libharfbuzz-subset (HarfBuzz >= 4.1) is NOT available: WeasyPrint %s falls back to fontTools "
                 "and every minutes PDF will take seconds per CJK font instead of a fraction of a second. "
                 "Install it: apt-get install libharfbuzz-subset0", weasyprint.__version__)
    return False


# ---------------------------------------------------------------- context → HTML


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九 (ordinals of resolutions)."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")
    return str(n)


def paragraphs(text: str) -> list[str]:
    """A free-text section as paragraphs: one per non-empty line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def document_context(sections: Mapping[str, str], records: Mapping[str, Any], *, date: str, watermark: str = "",
                     correction_reason: str = "", doc_number: str = "") -> dict[str, Any]:
    """The plain values the PDF template shows, from a version's sections and records snapshot."""
    meeting = records.get("meeting", {})
    resolutions = [
        {"ordinal": cn_number(r["number"]) + "、", "text": paragraphs(r["text"]), "lead": r["lead"],
         "cooperating": list(r.get("cooperating", [])), "deadline": r["deadline"]}
        for r in records.get("resolutions", [])
    ]
    title = sections.get("title", "")
    issue = sections.get("issue", "")
    issuer = sections.get("issuer", "")
    distribution = " ".join(paragraphs(sections.get("distribution", "")))
    return {
        "doc_title": f"{title}（{issue}）" if issue else title,
        "author": sections.get("issuer", ""),
        "subject": meeting.get("title", ""),
        "keywords": meeting.get("conference_name", ""),
        "title": title, "issue": issue, "issuer": sections.get("issuer", ""), "date": date, "doc_number": doc_number,
        "watermark": watermark,
        "summary": paragraphs(sections.get("summary", "")),
        "decisions_intro": paragraphs(sections.get("decisions_intro", "")),
        "resolutions": resolutions,
        "requirements": paragraphs(sections.get("requirements", "")),
        "present": " ".join(paragraphs(sections.get("present", ""))),
        "leave": " ".join(paragraphs(sections.get("leave", ""))),
        "observers": " ".join(paragraphs(sections.get("observers", ""))),
        "distribution": distribution,
        "imprint_at_bottom": len(distribution) + len(issuer) <= IMPRINT_AT_BOTTOM_CHARS,
        "correction_reason": correction_reason,
    }


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_html(context: Mapping[str, Any]) -> str:
    return environment().get_template(TEMPLATE).render(**context)


# ---------------------------------------------------------------- HTML → PDF


# One font configuration (Pango font map: fonts stay loaded) for every render in the process, used by
# one render at a time: measured, it makes a render about 10-15% faster than WeasyPrint's default of
# a new configuration per document. The only @font-face rules are the office's fonts (the same for
# every document; WeasyPrint adds each once per configuration), so nothing leaks between documents.
_fonts: FontConfiguration | None = None
_render_lock = threading.Lock()


def html_to_pdf(html: str, *, archival: bool = False, url_fetcher: URLFetcher | None = None) -> bytes:
    """The PDF of `html` (blocking). Archival: PDF/A-3u, for the published copy."""
    global _fonts
    # The published copy is also tagged (a structure tree, /MarkInfo, /Lang from <html lang>), so a
    # screen reader reads it in order; drafts skip the tree, they are looked at and thrown away.
    options: dict[str, Any] = {"pdf_variant": PDF_VARIANT, "pdf_tags": True} if archival else {}
    with _render_lock:
        if _fonts is None:
            _fonts = FontConfiguration()
        fetcher = url_fetcher or StaticOnlyFetcher()
        faces = fonts.font_face_css()
        stylesheets = [CSS(string=faces, base_url=BASE_URL, url_fetcher=fetcher, font_config=_fonts)] if faces else None
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
        pdf = document.write_pdf(font_config=_fonts, stylesheets=stylesheets, **options)
    assert isinstance(pdf, bytes)
    return pdf


def render_pdf(context: Mapping[str, Any], *, archival: bool = False, url_fetcher: URLFetcher | None = None) -> bytes:
    return html_to_pdf(render_html(context), archival=archival, url_fetcher=url_fetcher)


_limiters: dict[int, anyio.CapacityLimiter] = {}


def _limiter() -> anyio.CapacityLimiter:
    key = id(asyncio.get_running_loop())
    if key not in _limiters:
        _limiters[key] = anyio.CapacityLimiter(RENDER_THREADS)
    return _limiters[key]


async def render(context: Mapping[str, Any], *, archival: bool = False) -> bytes:
    """`render_pdf` in a worker thread: the event loop is free while WeasyPrint works."""
    return await anyio.to_thread.run_sync(partial(render_pdf, dict(context), archival=archival), limiter=_limiter())


def render_template_pdf(template: str, context: Mapping[str, Any]) -> bytes:
    """Any paper under templates/pdf/ (签到表, 议程 …) through the same fonts and fetcher (blocking)."""
    return html_to_pdf(environment().get_template(template).render(**context))


async def render_template(template: str, context: Mapping[str, Any]) -> bytes:
    """`render_template_pdf` in a worker thread, behind the same limiter as the minutes."""
    return await anyio.to_thread.run_sync(partial(render_template_pdf, template, dict(context)), limiter=_limiter())


WARM_UP = ("<html lang=zh-CN><head><link rel=stylesheet href=minutes.css></head><body><h1 class=mark>纪要</h1>"
           "<main class=text><p><span class=label>出席：</span>会议 2026</p></main></body></html>")
_warm_up: asyncio.Task[Any] | None = None


async def _warm() -> None:
    try:
        await anyio.to_thread.run_sync(partial(html_to_pdf, WARM_UP), limiter=_limiter())
    except Exception:  # a failed warm-up only means that the first real render loads the fonts
        log.exception("PDF warm-up render failed")


async def startup() -> None:
    """The app's start-up hook: the subsetting check in the log, then a small render in the
    background, so that the fonts are loaded before the first minutes PDF is asked for."""
    global _warm_up
    check_font_subsetting()
    _warm_up = asyncio.create_task(_warm())
