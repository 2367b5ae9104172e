"""The minutes PDF, parsed: GB/T 9704-2012 measures (A4, the text block at 37 mm from the top and
28 mm from the left, 22 lines of 28 characters, page numbers on the outer side), fonts embedded and
subset with HarfBuzz (a fontTools fallback fails the run), exact Chinese text, PDF/A and metadata
on the published copy only, the watermark on drafts only, and hostile text that renders as text,
fetches nothing and stays inside the text block.

Positions come from poppler's `pdftotext -bbox-layout` (points, origin top left); the GB/T 9704
distances (纪要标志, page-number line, 版记) are measured on the printed page like with a ruler:
pdftoppm rasterises it at 600 dpi and the inked pixel rows are found. pypdf reads the XMP metadata,
fonts, the structure tree and the rotation of the watermark."""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from PIL import Image, ImageChops
from pypdf import PdfReader

from conference.minutes import fonts, pdf
from conference.settings import reset_settings
from tests.bench.minutes import PARAGRAPH, sample_context, sample_records, sample_sections
from tests.conftest import html

MM = 72 / 25.4  # points per millimetre
A4 = (210 * MM, 297 * MM)
TOP, RIGHT, BOTTOM, LEFT = 37 * MM, 26 * MM, 35 * MM, 28 * MM
LINE = 28.95  # pt
BODY_SIZE = 16.0
PAGE_NUMBER_SIZE = 14.0
HOSTILE = [
    "<script>alert('x')</script><b>粗体</b>",
    "<style>body{background:url(http://127.0.0.1:9/leak.png)}</style>",
    "<div style=\"background:url('file:///etc/passwd')\">样式</div>",
    "<img src=file:///etc/passwd>",
    "<img src=\"http://127.0.0.1:9/track.gif\"><link rel=stylesheet href=\"file:///etc/passwd\">",
    "{{ 7*7 }}{% raw %}&lt;&amp;",
    "A" * 400,
    "https://example.invalid/" + "x" * 300,
    "1234567890" * 40,
    "生僻字𠀀𪚥与常用字混排𠀀𪚥",
]
HOSTILE_TEXT = "\n".join(HOSTILE)


# ---------------------------------------------------------------- helpers


TOP_MM, LEFT_MM, BLOCK_MM = 37.0, 28.0, (156.0, 225.0)  # GB/T 9704-2012 §5.2.3: the text block
BLOCK_BOTTOM_MM = TOP_MM + BLOCK_MM[1]
RULER_DPI = 600
RULER_PX_PER_MM = RULER_DPI / 25.4  # a pixel is 0.042 mm
RULER_TOLERANCE_MM = 0.3


def ink_rows(content: bytes, page: int, box_mm: tuple[float, float, float, float], *, red: bool = False) -> dict[float, float]:
    """A ruler on the printed page: poppler rasterises the box (left, top, right, bottom; mm from the
    page's top left corner) of `page` at 600 dpi; per pixel row, its top in mm -> the share of the
    row that is inked (dark, or red for the 纪要标志)."""
    x0, y0, x1, y1 = (round(v * RULER_PX_PER_MM) for v in box_mm)
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "doc.pdf", Path(folder) / "page"
        source.write_bytes(content)
        subprocess.run([need("pdftoppm"), "-r", str(RULER_DPI), "-f", str(page), "-l", str(page), "-x", str(x0), "-y", str(y0),
                        "-W", str(x1 - x0), "-H", str(y1 - y0), "-singlefile", "-png", str(source), str(target)],
                       check=True, timeout=120)
        with Image.open(target.with_suffix(".png")) as image:
            rgb = image.convert("RGB")
    if red:
        r, g, _b = rgb.split()
        mask = ImageChops.multiply(r.point(lambda v: 255 if v > 150 else 0), g.point(lambda v: 255 if v < 100 else 0))
    else:
        mask = rgb.convert("L").point(lambda v: 255 if v < 128 else 0)
    shares = list(mask.resize((1, mask.height), Image.Resampling.BOX).getdata())  # each row's mean
    return {(y0 + i) / RULER_PX_PER_MM: float(v) / 255 for i, v in enumerate(shares)}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} (poppler-utils) is not installed: apt-get install poppler-utils")
    return path


def pdftotext(content: bytes, *args: str) -> str:
    result = subprocess.run([need("pdftotext"), *args, "-", "-"], input=content, capture_output=True, check=True, timeout=60)
    # poppler writes characters outside the BMP (𠀀, 𪚥) as UTF-8-encoded surrogate pairs: join them.
    return result.stdout.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass").decode("utf-16")


def pdffonts(content: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    result = subprocess.run([need("pdffonts"), str(path)], capture_output=True, check=True, text=True, timeout=60)
    lines = result.stdout.splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


def words(content: bytes) -> list[list[dict[str, Any]]]:
    """Per page, the text lines with their boxes (pt, origin top left)."""
    # poppler's own output for a PDF this test rendered (no external entities in it).
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", pdftotext(content, "-bbox-layout")))  # noqa: S314
    pages = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        lines = []
        for line in page.iter("{http://www.w3.org/1999/xhtml}line"):
            text = "".join(w.text or "" for w in line.iter("{http://www.w3.org/1999/xhtml}word"))
            box = {k: float(line.get(k, "0")) for k in ("xMin", "yMin", "xMax", "yMax")}
            lines.append({"text": text, **box, "height": box["yMax"] - box["yMin"]})
        pages.append(lines)
    return pages


def line_top(line: dict[str, Any], line_height: float) -> float:
    """The top of the CSS line box: poppler's box is the font's content area, centred in the line box
    with the half-leading above and below."""
    return float(line["yMin"] - (line_height - line["height"]) / 2)


def body_lines(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """16 pt lines (the body; poppler's box for 16 pt Noto CJK is 23 pt tall), without the watermark."""
    return [ln for ln in page if 21 < ln["height"] < 25 and len(ln["text"]) > 1]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


PAGE_NUMBER = re.compile(r"^\s*—\s*\d+\s*—\s*$", re.MULTILINE)


def flowing_text(content: bytes) -> str:
    """The document's text without page numbers, so that text running across pages reads whole."""
    return squeeze(PAGE_NUMBER.sub("", pdftotext(content)))


def pypdf_text(content: bytes) -> str:
    return squeeze("".join(PAGE_NUMBER.sub("", p.extract_text()) for p in PdfReader(io.BytesIO(content)).pages))


def xmp(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    metadata = reader.trailer["/Root"].get("/Metadata")
    if metadata is None:
        return ""
    return bytes(metadata.get_object().get_data()).decode("utf-8")


def rotated_text(content: bytes) -> list[str]:
    """Per page, the text drawn with a rotated matrix (the watermark), concatenated."""
    reader = PdfReader(io.BytesIO(content))
    result = []
    for page in reader.pages:
        found: list[str] = []

        def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float, found: list[str] = found) -> None:
            if text.strip() and abs(cm[1]) > 0.1:  # a rotation puts a non-zero b in the matrix
                found.append(text.strip())

        page.extract_text(visitor_text=visit)
        result.append("".join(found))
    return result


class FallbackWatch(logging.Handler):
    """Collects WeasyPrint's warning that it subsets a font with fontTools instead of HarfBuzz."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.fallbacks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if pdf.FONTTOOLS_WARNING in record.getMessage():
            self.fallbacks.append(record.getMessage())


@contextlib.contextmanager
def harfbuzz_only() -> Iterator[None]:
    """Fails the block if WeasyPrint fell back to fontTools subsetting while it ran."""
    watch = FallbackWatch()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(watch)
    try:
        yield
    finally:
        logger.removeHandler(watch)
    assert not watch.fallbacks, f"WeasyPrint fell back to fontTools subsetting (install libharfbuzz-subset0): {watch.fallbacks[0]}"


@pytest.fixture(autouse=True)
def no_fonttools_fallback() -> Iterator[None]:
    """Every test here fails if WeasyPrint subsets a font with fontTools instead of HarfBuzz."""
    with harfbuzz_only():
        yield


@pytest.fixture(scope="module")
def draft() -> bytes:
    with harfbuzz_only():
        return pdf.render_pdf(sample_context(3))


@pytest.fixture(scope="module")
def published() -> bytes:
    with harfbuzz_only():
        return pdf.render_pdf(sample_context(3, watermark=""), archival=True)


# ---------------------------------------------------------------- fonts


def test_weasyprint_subsets_fonts_with_harfbuzz() -> None:
    """Fails when libharfbuzz-subset is missing or too old: WeasyPrint would then use fontTools
    (seconds per CJK font instead of milliseconds); the autouse fixture also watches its log."""
    assert pdf.subsetting_backend() == "harfbuzz", "WeasyPrint would subset fonts with fontTools: apt-get install libharfbuzz-subset0"


def test_the_fallback_is_detected(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The start-up check and the detection above see the fallback when HarfBuzz-subset is absent
    (simulated: WeasyPrint's module-level handle to the library set to None, as when dlopen fails)."""
    import weasyprint.pdf.fonts

    caplog.set_level(logging.INFO, logger="conference.minutes")
    assert pdf.check_font_subsetting() is True
    assert any("HarfBuzz" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)
    assert pdf.subsetting_backend() == "fonttools"
    assert pdf.check_font_subsetting() is False
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "libharfbuzz-subset0" in errors[-1] and "fontTools" in errors[-1]


def test_the_app_checks_subsetting_at_start_up() -> None:
    from conference.app import create_app

    assert pdf.startup in create_app().on_startup


def test_every_font_is_embedded_and_subset(draft: bytes, published: bytes, tmp_path: Path) -> None:
    for content in (draft, published):
        rows = pdffonts(content, tmp_path)
        assert rows, "no fonts listed"
        for row in rows:
            name, emb, sub, uni = row[0], row[-5], row[-4], row[-3]
            assert (emb, sub, uni) == ("yes", "yes", "yes"), row
            assert re.fullmatch(r"[A-Z]{6}\+.+", name), name
        names = " ".join(r[0] for r in rows)
        assert "CJK-SC" in names  # the SC fonts of fonts-noto-cjk (no official fonts on this machine)
    reader = PdfReader(io.BytesIO(published))
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]


def licensed_font(path: Path) -> Path:
    """A stand-in for an office's licensed 仿宋_GB2312 (the real one is not free): a tiny TrueType font
    built here, named FangSong_GB2312 and 仿宋_GB2312, with box glyphs for digits and Latin letters."""
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    names = [".notdef", *(f"u{ord(c):04X}" for c in chars)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"u{ord(c):04X}" for c in chars})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((50, 0))
        pen.lineTo((50, 700))
        pen.lineTo((450, 700))
        pen.lineTo((450, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics(dict.fromkeys(names, (500, 50)))
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": {"en": "FangSong_GB2312", "zh-CN": "仿宋_GB2312"}, "styleName": "Regular",
                            "psName": "FangSong_GB2312"})
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.save(str(path))
    return path


@pytest.fixture
def office_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """FONTS_DIR set to a folder with the office's (stand-in) 仿宋_GB2312, a text file and a link to a
    file outside the folder; a fresh font configuration, so no other test sees the font."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    licensed_font(folder / "fangsong_gb2312.ttf")
    (folder / "readme.txt").write_text("licence")
    (folder / "outside.ttf").symlink_to("/etc/passwd")
    monkeypatch.setenv("FONTS_DIR", str(folder))
    reset_settings()
    monkeypatch.setattr(pdf, "_fonts", None)
    yield folder
    monkeypatch.undo()
    reset_settings()


def test_fonts_dir_comes_first(office_fonts: Path, tmp_path: Path) -> None:
    """The office's font in FONTS_DIR is used (and embedded) where the stylesheets name its family;
    what it lacks (Chinese) still comes from Noto; the fetcher serves its font files and nothing else."""
    content = pdf.render_pdf(sample_context(1, watermark=""), archival=True)
    rows = pdffonts(content, tmp_path)
    names = [row[0] for row in rows]
    assert any(re.fullmatch(r"[A-Z]{6}\+FangSong_GB2312", name) for name in names), names
    assert any("CJK-SC" in name for name in names), names
    for row in rows:
        assert (row[-5], row[-4], row[-3]) == ("yes", "yes", "yes"), row
    assert "2026年5月20日印发" in flowing_text(content)
    used = {r.role.key: r for r in fonts.roles()}
    assert (used["body"].family, used["body"].source) == ("FangSong_GB2312", "folder")
    assert used["title"].source == "stand-in" and used["title"].family == "Noto Serif CJK SC"
    fetcher = pdf.StaticOnlyFetcher()
    assert fetcher.fetch((office_fonts / "fangsong_gb2312.ttf").as_uri()).read()[:4] == b"\x00\x01\x00\x00"
    for refused in (office_fonts / "readme.txt", office_fonts / "outside.ttf", office_fonts / "missing.ttf", office_fonts):
        with pytest.raises(ValueError):
            fetcher.fetch(refused.as_uri())


def test_without_fonts_dir_the_stand_ins_are_reported() -> None:
    used = {r.role.key: r for r in fonts.roles()}
    assert set(used) == {"title", "body", "heading", "subheading", "page_number"}
    assert {r.source for r in used.values()} == {"stand-in"}  # no official font on this machine
    assert used["heading"].family == "Noto Sans CJK SC" and used["heading"].file.endswith((".ttc", ".otf", ".ttf"))
    assert fonts.extension_b_font() == ("HanaMinB", "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf")
    assert fonts.font_face_css() == ""


def test_names_in_cjk_extension_b_render_and_extract(tmp_path: Path) -> None:
    """𠀁 (U+20001) and 𪚥 (U+2A6A5) in names: drawn from HanaMinB (fonts-hanazono), never as the
    missing glyph, extracted back as text, every font embedded."""
    sections = sample_sections(1)
    sections["present"] = "兰山区民政局张𠀁，兰山区司法局王𪚥"
    sections["distribution"] = "兰山街道𠀁社区，𪚥社区。"
    content = pdf.render_pdf(pdf.document_context(sections, sample_records(1), date="2026年5月20日"), archival=True)
    text = flowing_text(content)
    assert "张𠀁" in text and "王𪚥" in text and "兰山街道𠀁社区，𪚥社区。" in text
    rows = pdffonts(content, tmp_path)
    assert any("HanaMinB" in row[0] for row in rows), rows
    for row in rows:
        assert (row[-5], row[-4], row[-3]) == ("yes", "yes", "yes"), row


async def test_admin_sees_which_font_each_role_uses(as_user: Any) -> None:
    page = html(await (await as_user("admin")).get("/admin/fonts"))
    rows = {tr["data-role"]: tr for tr in page.select("#font-roles tbody tr")}
    assert set(rows) == {"title", "body", "heading", "subheading", "page_number"}
    assert rows["body"].select_one(".family").get_text(strip=True) == "Noto Serif CJK SC"
    assert rows["body"]["data-source"] == "stand-in" and "代替字体" in rows["body"].get_text()
    assert "仿宋_GB2312" in rows["body"].get_text()
    assert "HanaMinB" in page.select_one("#extension-b").get_text()
    assert "未设置 FONTS_DIR" in page.select_one("#fonts-dir").get_text()
    response = await (await as_user("office")).get("/admin/fonts")
    assert response.status_code == 403


async def test_admin_font_page_shows_the_office_fonts(as_user: Any, office_fonts: Path) -> None:
    page = html(await (await as_user("admin")).get("/admin/fonts"))
    body = page.select_one("#font-roles tr[data-role=body]")
    assert body is not None and body["data-source"] == "folder"
    assert body.select_one(".family").get_text(strip=True) == "FangSong_GB2312"
    assert str(office_fonts) in page.select_one("#fonts-dir").get_text()
    listed = page.select_one("#folder-fonts").get_text()
    assert "fangsong_gb2312.ttf" in listed and "仿宋_GB2312" in listed and "readme.txt" not in listed


# ---------------------------------------------------------------- text and layout


def test_chinese_text_extracts_exactly(published: bytes) -> None:
    text = flowing_text(published)
    other = pypdf_text(published)
    records = sample_records(3)
    sections = sample_sections(1)
    expected = [sections["title"], sections["issue"], sections["issuer"], "经研究，会议议定以下事项：", sections["present"],
                "出席：", "请假：兰山区司法局", "列席：兰山街道党工委", "分送：联席会议各成员单位，兰山街道党工委。",
                "2026年5月20日印发"]
    for r in records["resolutions"]:
        expected.append(f"{pdf.cn_number(r['number'])}、{r['text']}")
        expected.append(f"牵头单位：{r['lead']}；配合单位：{'、'.join(r['cooperating'])}；完成时限：{r['deadline']}。")
    for phrase in expected:
        assert squeeze(phrase) in text, phrase
        assert squeeze(phrase) in other, phrase
    assert "一、" in text and "二、" in text and "三、" in text


def test_a4_pages(draft: bytes, published: bytes) -> None:
    for content in (draft, published):
        reader = PdfReader(io.BytesIO(content))
        assert len(reader.pages) >= 3
        for page in reader.pages:
            assert float(page.mediabox.width) == pytest.approx(A4[0], abs=0.1)
            assert float(page.mediabox.height) == pytest.approx(A4[1], abs=0.1)


def test_text_block_margins_and_grid(published: bytes) -> None:
    """Page 2 starts with body text: its first line box at 37 mm from the top, lines at 28 mm from
    the left, 22 lines a page, 28 characters a full line (26 after the two-character indent)."""
    pages = words(published)
    lines = body_lines(pages[1])
    first = lines[0]
    assert abs(line_top(first, LINE) - TOP) <= 1 * MM, (line_top(first, LINE) / MM, first)
    left = min(ln["xMin"] for ln in lines)
    assert abs(left - LEFT) <= 1 * MM, left / MM
    assert max(ln["xMax"] for ln in lines) <= A4[0] - RIGHT + 1 * MM
    assert len(lines) == 22
    assert [ln["yMin"] for ln in lines] == sorted(ln["yMin"] for ln in lines)
    steps = {round(b["yMin"] - a["yMin"], 2) for a, b in itertools.pairwise(lines)}
    assert steps == {LINE}
    last_bottom = line_top(lines[-1], LINE) + LINE
    assert last_bottom <= A4[1] - BOTTOM + 0.5, last_bottom / MM
    full = [len(ln["text"]) for ln in lines if ln["xMin"] < LEFT + 1 and ln["xMax"] > A4[0] - RIGHT - 10]
    assert full and set(full) == {28}
    indented = [len(ln["text"]) for ln in lines if ln["xMin"] > LEFT + 20]
    assert indented and set(indented) == {26}
    # Page 1: the red title sits in the upper part of the text block (measured to the millimetre below).
    title = next(ln for ln in pages[0] if ln["text"] == sample_sections(1)["title"])
    assert TOP + 30 * MM < title["yMin"] < TOP + 40 * MM


def test_page_numbers_on_the_outer_side(published: bytes) -> None:
    pages = words(published)
    assert len(pages) >= 3
    for number, page in enumerate(pages, 1):
        marks = [ln for ln in page if re.fullmatch(r"—\s*\d+\s*—", ln["text"])]
        assert len(marks) == 1, page
        mark = marks[0]
        assert squeeze(mark["text"]) == f"—{number}—"
        # One character (14 pt) in from the outer edge of the text block: right on odd pages, left on even.
        if number % 2:
            assert mark["xMax"] == pytest.approx(A4[0] - RIGHT - PAGE_NUMBER_SIZE, abs=2), (number, mark)
        else:
            assert mark["xMin"] == pytest.approx(LEFT + PAGE_NUMBER_SIZE, abs=2), (number, mark)
        # Below the text block (its dash 7 mm under it: measured by test_page_number_line_7_mm_below_the_text_block).
        assert A4[1] - BOTTOM < mark["yMin"] < A4[1] - BOTTOM + 12 * MM
    assert PdfReader(io.BytesIO(published)).pages[0].extract_text().rstrip().endswith("— 1 —")


# ---------------------------------------------------------------- GB/T 9704-2012 with a ruler


def test_mark_top_35_mm_below_the_top_of_the_text_block(published: bytes) -> None:
    """§10.3: the top edge of the red 纪要标志 (its ink, as a ruler finds it) 35 mm below the top of the text block."""
    rows = ink_rows(published, 1, (LEFT_MM, TOP_MM, LEFT_MM + BLOCK_MM[0], TOP_MM + 80), red=True)
    inked = [top for top, share in rows.items() if share > 0]
    assert inked, "no red ink in the upper half of page 1"
    assert inked[0] - TOP_MM == pytest.approx(35, abs=RULER_TOLERANCE_MM), inked[0] - TOP_MM


def test_page_number_line_7_mm_below_the_text_block(published: bytes) -> None:
    """§7.5: the 一字线 of "— 1 —" 7 mm below the bottom edge of the text block, 4号 (14 pt) on every page."""
    pages = len(PdfReader(io.BytesIO(published)).pages)
    assert pages >= 3
    for number in (1, 2, pages):
        rows = ink_rows(published, number, (LEFT_MM, BLOCK_BOTTOM_MM, LEFT_MM + BLOCK_MM[0], 297))
        dash = max(rows, key=lambda top: rows[top])  # the two dashes are the widest run of ink under the text block
        centre = dash + 0.5 / RULER_PX_PER_MM
        assert centre - BLOCK_BOTTOM_MM == pytest.approx(7, abs=RULER_TOLERANCE_MM), (number, centre - BLOCK_BOTTOM_MM)
        assert not [top for top, share in rows.items() if share and top < BLOCK_BOTTOM_MM + 3], "ink just under the text block"
    sizes: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if PAGE_NUMBER.fullmatch(text):
            sizes.append(round(size * tm[3] * cm[3], 2) if tm[3] * cm[3] > 0 else round(size * tm[0] * cm[0], 2))

    for page in PdfReader(io.BytesIO(published)).pages:
        page.extract_text(visitor_text=visit)
    assert sizes and set(sizes) == {PAGE_NUMBER_SIZE}, sizes


def test_imprint_last_rule_on_the_bottom_edge_of_the_last_page(published: bytes) -> None:
    """§7.4.1: the 版记's last rule (0.35 mm) coincides with the bottom edge of the text block of the
    last page, however short the text above it; its first rule spans the text block's width."""
    for content in (published, pdf.render_pdf(sample_context(1, watermark=""), archival=True)):
        last = len(PdfReader(io.BytesIO(content)).pages)
        rows = ink_rows(content, last, (LEFT_MM, TOP_MM, LEFT_MM + BLOCK_MM[0], 297))
        rules = [top for top, share in rows.items() if share > 0.95]  # rows inked across the whole text block
        assert len(rules) >= 3, rules
        bottom_edge = rules[-1] + 1 / RULER_PX_PER_MM
        assert bottom_edge == pytest.approx(BLOCK_BOTTOM_MM, abs=RULER_TOLERANCE_MM), bottom_edge
        # Two lines of 4号 between the first and the last rule (no blank lines), the date at the right.
        assert rules[-1] - rules[0] < 22, rules
        printed = next(ln for ln in words(content)[last - 1] if ln["text"].endswith("印发"))
        assert printed["xMax"] == pytest.approx(A4[0] - RIGHT - PAGE_NUMBER_SIZE, abs=2), printed
        assert "分送" in pdftotext(content, "-f", str(last), "-l", str(last))
        assert "分送" not in pdftotext(content, "-l", str(last - 1))


def test_published_copy_is_tagged_with_its_language(draft: bytes, published: bytes) -> None:
    """A structure tree (headings, paragraphs in reading order), /MarkInfo and /Lang: a screen reader
    reads it; it stays PDF/A-3u (see below)."""
    root = PdfReader(io.BytesIO(published)).trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == "zh-CN"
    tree = root["/StructTreeRoot"].get_object()
    assert tree["/Type"] == "/StructTreeRoot"
    kinds: list[str] = []

    def walk(node: Any) -> None:
        node = node.get_object()
        if not hasattr(node, "get") or "/S" not in node:
            return
        kinds.append(str(node["/S"]))
        children = node.get("/K")
        for child in children if isinstance(children, list) else [children]:
            if child is not None:
                walk(child)

    top = tree["/K"]
    for node in top if isinstance(top, list) else [top]:
        walk(node)
    assert kinds[0] == "/Document" and "/H1" in kinds and kinds.count("/P") > 10, kinds[:20]
    assert "/StructTreeRoot" not in PdfReader(io.BytesIO(draft)).trailer["/Root"]


def test_pdfa_and_metadata_on_the_published_copy_only(draft: bytes, published: bytes) -> None:
    metadata = xmp(published)
    assert re.search(r"pdfaid:part(>|=\")3", metadata), metadata[:500]
    assert re.search(r"pdfaid:conformance(>|=\")U", metadata)
    info = PdfReader(io.BytesIO(published)).metadata
    assert info is not None
    assert info.title == "兰山街道城市基层党建联席会议纪要（第1期）"
    assert info.author == "兰山街道城市基层党建联席会议办公室"
    assert info.subject == "2026年第1次全体会议"
    assert "pdfaid" not in xmp(draft)
    root = PdfReader(io.BytesIO(published)).trailer["/Root"]
    assert "/OutputIntents" in root  # PDF/A carries its colour profile


def test_watermark_on_drafts_only(draft: bytes, published: bytes) -> None:
    marks = rotated_text(draft)
    assert len(marks) >= 3 and all(m == "草稿" for m in marks), marks
    review = pdf.render_pdf(sample_context(1, watermark="征求意见稿"))
    assert set(rotated_text(review)) == {"征求意见稿"}
    assert set(rotated_text(published)) == {""}
    assert "草稿" not in pdftotext(published)


# ---------------------------------------------------------------- safety


class SpyFetcher(pdf.StaticOnlyFetcher):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        self.asked.append(url)
        return super().fetch(url, headers)


def test_the_fetcher_serves_static_files_only() -> None:
    fetcher = pdf.StaticOnlyFetcher()
    css = fetcher.fetch(pdf.BASE_URL + "minutes.css")
    assert b"@page" in css.read()
    refused = ["file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.invalid/a.css", "data:text/css,body{}",
               pdf.BASE_URL + "../../conference/settings.py", pdf.BASE_URL + "%2e%2e/%2e%2e/pyproject.toml",
               pdf.BASE_URL + "missing.css", "file://otherhost" + str(pdf.PDF_STATIC / "minutes.css"), "ftp://x/y"]
    for url in refused:
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_raw_html_cannot_reach_files_or_the_network() -> None:
    """Even HTML naming local files and the network (which escaping keeps out of the template) makes
    WeasyPrint ask the fetcher, which refuses: the document renders without them."""
    spy = SpyFetcher()
    html = ("<html lang=zh-CN><head><link rel=stylesheet href='file:///etc/passwd'></head><body>"
            "<img src='file:///etc/passwd'><img src='http://127.0.0.1:9/t.gif'>"
            "<p style=\"background:url('file:///etc/shadow')\">正文</p></body></html>")
    content = pdf.html_to_pdf(html, url_fetcher=spy)
    assert content.startswith(b"%PDF")
    assert set(spy.asked) >= {"file:///etc/passwd", "http://127.0.0.1:9/t.gif"}
    assert "root:" not in pdftotext(content)


def test_hostile_input_renders_as_text_and_fetches_nothing() -> None:
    sections = {key: f"{key}：" + HOSTILE_TEXT for key in sample_sections(1)}
    sections["title"] = "纪要" + HOSTILE[0]
    records = {"meeting": {"title": HOSTILE[3], "conference_name": HOSTILE[1]},
               "resolutions": [{"number": 1, "text": HOSTILE_TEXT, "lead": HOSTILE[0], "cooperating": [HOSTILE[3], HOSTILE[9]],
                                "deadline": HOSTILE[5]}]}
    context = pdf.document_context(sections, records, date="2026年5月20日", watermark="草稿", correction_reason=HOSTILE[2])
    html = pdf.render_html(context)
    assert "<img" not in html and "<script" not in html and "<style>body" not in html and "&lt;img src=file:///etc/passwd&gt;" in html
    spy = SpyFetcher()
    content = pdf.render_pdf(context, url_fetcher=spy)
    assert spy.asked == [pdf.BASE_URL + "minutes.css"]  # the stylesheet, nothing any user wrote
    text = flowing_text(content).replace("草稿", "")
    for phrase in ("<img src=file:///etc/passwd>", "<script>alert('x')</script><b>粗体</b>", "{{ 7*7 }}{% raw %}&lt;&amp;",
                   "<style>body{background:url(http://127.0.0.1:9/leak.png)}</style>", "A" * 400, "1234567890" * 40,
                   "生僻字", "与常用字混排"):
        assert squeeze(phrase) in text, phrase
    # Everything wraps inside the text block (the page numbers sit below it, the watermark is rotated).
    for number, page in enumerate(words(content), 1):
        for line in page:
            if line["text"] in ("草", "稿", "草稿") or re.fullmatch(r"—\s*\d+\s*—", line["text"]):
                continue
            assert line["xMin"] >= LEFT - 0.5 and line["xMax"] <= A4[0] - RIGHT + 1, (number, line)
            assert TOP - 1 <= line["yMin"] and line["yMax"] <= A4[1] - BOTTOM + 1, (number, line)


def test_paragraphs_and_numbers() -> None:
    assert [pdf.cn_number(n) for n in (1, 2, 9, 10, 11, 20, 21, 99)] == ["一", "二", "九", "十", "十一", "二十", "二十一", "九十九"]
    assert pdf.paragraphs(" 甲 \n\n 乙\r\n") == ["甲", "乙"]
    assert PARAGRAPH in pdf.render_html(sample_context(1))
