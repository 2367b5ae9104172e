"""Issue 16 item 3: images and PDFs attached to agenda items and tasks are previewed -- thumbnails on
the item and task pages, and a view that opens the file in the browser -- with the download's
permission and safe headers, the type read from the stored bytes (never HTML or SVG inline)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import httpx
import pytest
from PIL import Image

from conference.agenda.tables import Attachment
from conference.tasks.tables import TaskAttachment
from conference.timefmt import now
from tests.conftest import html
from tests.test_agenda import PDF, _upload, first, new_item
from tests.test_tasks import MARKET, act, assert_done, new_task

DOCX = b"PK\x03\x04" + b"\x00" * 64


def picture(fmt: str, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A real photo-sized picture made with Pillow."""
    image = Image.new("RGB", size, (200, 40, 40))
    image.paste((30, 90, 200), (0, 0, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims 900 million pixels (a decompression bomb)."""
    data = picture("PNG", (1, 1))
    ihdr = data[8:33]  # length, "IHDR", 13 bytes, CRC
    body = b"IHDR" + struct.pack(">II", width, height) + ihdr[16:21]
    return data[:8] + ihdr[:4] + body + struct.pack(">I", zlib.crc32(body)) + data[33:]


def assert_safe_inline(response: httpx.Response, content_type: str) -> None:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].split(";")[0] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script" not in policy  # nor allow-scripts
    assert "frame-ancestors 'none'" in policy  # never framed (conference.web.headers)
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["cross-origin-resource-policy"] == "same-origin"


def thumbnail_size(response: httpx.Response) -> tuple[int, int]:
    with Image.open(io.BytesIO(response.content)) as image:
        return image.size


@pytest.fixture
async def item_with_files(as_user: object) -> dict[str, int]:
    street = await as_user("street")  # type: ignore[operator]
    item_id = await new_item(street)
    ids = {"item": item_id}
    for key, name, content, mime in (("jpg", "现场照片.jpg", picture("JPEG"), "image/jpeg"),
                                     ("png", "示意图.png", picture("PNG", (800, 300)), "image/png"),
                                     ("pdf", "情况说明.pdf", PDF, "application/pdf"),
                                     ("docx", "会议材料.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")):
        ids[key] = await _upload(street, item_id, name, content, mime)
    return ids


async def test_item_page_shows_thumbnails_and_preview_links(as_user, item_with_files) -> None:
    ids = item_with_files
    for username in ("street", "office"):
        page = html(await (await as_user(username)).get(f"/items/{ids['item']}"))
        previews = page.select("#attachment-previews a.thumb")
        assert [a["href"] for a in previews] == [f"/attachments/{ids[k]}/view" for k in ("jpg", "png", "pdf")]
        assert [a["data-preview"] for a in previews] == ["image", "image", "pdf"]
        assert all(a["target"] == "_blank" and "noopener" in a["rel"] for a in previews)
        assert [a["aria-label"] for a in previews] == ["预览：现场照片.jpg", "预览：示意图.png", "预览：情况说明.pdf"]
        images = page.select("#attachment-previews img")
        assert [(i["src"], i["alt"]) for i in images] == [(f"/attachments/{ids['jpg']}/thumbnail", ""),
                                                         (f"/attachments/{ids['png']}/thumbnail", "")]
        assert previews[2].select_one(".thumb-pdf") is not None and "情况说明.pdf" in previews[2].get_text()
        # In the table every file keeps its download; only images and PDFs get 预览.
        rows = page.select("#attachments tbody tr")
        assert [r.select_one("a[download]")["href"] for r in rows] == [f"/attachments/{ids[k]}" for k in ("jpg", "png", "pdf", "docx")]
        assert [bool(r.select_one("a.preview-link")) for r in rows] == [True, True, True, False]


async def test_thumbnails_are_small_images_made_on_the_server(as_user, item_with_files) -> None:
    street = await as_user("street")
    started = time.perf_counter()
    response = await street.get(f"/attachments/{item_with_files['jpg']}/thumbnail")
    elapsed = time.perf_counter() - started
    assert_safe_inline(response, "image/jpeg")
    assert thumbnail_size(response) == (240, 180) and len(response.content) < 20_000
    assert response.headers["cache-control"] == "private, max-age=86400"
    assert elapsed < 2, elapsed
    response = await street.get(f"/attachments/{item_with_files['png']}/thumbnail")
    assert_safe_inline(response, "image/jpeg")
    assert thumbnail_size(response) == (240, 90)
    for key in ("pdf", "docx"):  # no thumbnail: 404 with a hint to download
        response = await street.get(f"/attachments/{item_with_files[key]}/thumbnail")
        assert response.status_code == 404 and "下载" in html(response).get_text()


async def test_view_opens_images_and_pdfs_inline_and_nothing_else(as_user, item_with_files) -> None:
    street = await as_user("street")
    response = await street.get(f"/attachments/{item_with_files['jpg']}/view")
    assert_safe_inline(response, "image/jpeg")
    assert response.content == picture("JPEG") and "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "private, no-store"
    assert_safe_inline(await street.get(f"/attachments/{item_with_files['pdf']}/view"), "application/pdf")
    response = await street.get(f"/attachments/{item_with_files['docx']}/view")
    assert response.status_code == 404 and "不能在浏览器中预览" in html(response).get_text()
    # The download is unchanged: an attachment, with the same safe headers.
    response = await street.get(f"/attachments/{item_with_files['jpg']}")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff" and "sandbox" in response.headers["content-security-policy"]


async def test_the_type_comes_from_the_bytes_never_html_or_svg(as_user, item_with_files) -> None:
    """Rows stored with a wrong type (before the upload check, or by a bug): the view trusts neither
    the stored type nor the name."""
    street = await as_user("street")
    item_id = item_with_files["item"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    page = b"<!doctype html><script>alert(document.cookie)</script>"
    cases = [("照片.png", "text/html", picture("PNG", (50, 50)), "image/png"), ("图.svg", "image/svg+xml", svg, None),
             ("伪装.png", "image/png", page, None), ("伪装.pdf", "application/pdf", page, None)]
    for name, stored_type, data, served in cases:
        rows = await Attachment.insert(Attachment(item=item_id, filename=name, content_type=stored_type, size=len(data),
                                                  sha256="0" * 64, data=data, created_at=now())).returning(Attachment.id)
        attachment_id = rows[0]["id"]
        view = await street.get(f"/attachments/{attachment_id}/view")
        thumb = await street.get(f"/attachments/{attachment_id}/thumbnail")
        if served:
            assert_safe_inline(view, served)
            assert_safe_inline(thumb, "image/jpeg")
        else:
            for response in (view, thumb):
                assert response.status_code == 404 and b"<script>" not in response.content
                assert response.headers["content-type"].startswith("text/html")  # our error page, not the file
        await Attachment.delete().where(Attachment.id == attachment_id)


async def test_a_decompression_bomb_gets_no_thumbnail(as_user, item_with_files) -> None:
    street = await as_user("street")
    data = bomb_png()
    rows = await Attachment.insert(Attachment(item=item_with_files["item"], filename="炸弹.png", content_type="image/png",
                                              size=len(data), sha256="0" * 64, data=data, created_at=now())).returning(Attachment.id)
    started = time.perf_counter()
    response = await street.get(f"/attachments/{rows[0]['id']}/thumbnail")
    assert response.status_code == 404 and time.perf_counter() - started < 2
    await Attachment.delete().where(Attachment.id == rows[0]["id"])


async def test_item_previews_have_the_download_permission(as_user, anon, item_with_files) -> None:
    ids = item_with_files
    for username in ("street", "office", "admin"):
        client = await as_user(username)
        for path in ("", "/view", "/thumbnail"):
            assert (await client.get(f"/attachments/{ids['jpg']}{path}")).status_code == 200, (username, path)
    for username in ("street_luozhuang", "office_luozhuang"):  # another street, another district: as if missing
        client = await as_user(username)
        for path in ("", "/view", "/thumbnail"):
            response = await client.get(f"/attachments/{ids['jpg']}{path}")
            assert response.status_code == 404 and "现场照片" not in response.text, (username, path)
    unit = await as_user("unit")  # units deal with tasks, not items: refused as the download is
    for path in ("", "/view", "/thumbnail"):
        assert (await unit.get(f"/attachments/{ids['jpg']}{path}")).status_code == 403
    for path in ("/view", "/thumbnail"):
        response = await anon.get(f"/attachments/{ids['jpg']}{path}")
        assert response.status_code in (302, 303, 401) and response.content[:3] != b"\xff\xd8\xff"


async def test_task_page_shows_evidence_thumbnails_with_the_download_permission(as_user) -> None:
    unit = await as_user("unit")
    task_id = (await new_task())[MARKET]
    assert_done(await act(unit, task_id, "acknowledge"), task_id)
    files = [("files", ("整改后照片.jpg", picture("JPEG"), "image/jpeg")), ("files", ("整改报告.pdf", PDF, "application/pdf")),
             ("files", ("台账.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))]
    assert_done(await act(unit, task_id, "progress", {"text": "整改照片见附件。"}, files=files), task_id)
    rows = await TaskAttachment.select(TaskAttachment.id).where(TaskAttachment.task == task_id).order_by(TaskAttachment.id)
    photo, report, _sheet = (r["id"] for r in rows)
    page = html(await unit.get(f"/tasks/{task_id}"))
    previews = page.select("#task-record ul.thumbs a.thumb")
    assert [a["href"] for a in previews] == [f"/task-attachments/{photo}/view", f"/task-attachments/{report}/view"]
    assert [i["src"] for i in page.select("#task-record ul.thumbs img")] == [f"/task-attachments/{photo}/thumbnail"]
    assert len(page.select("#task-record a[download]")) == 3  # every file still downloads

    for username in ("unit", "office", "street", "convenor"):
        client = await as_user(username)
        assert_safe_inline(await client.get(f"/task-attachments/{photo}/view"), "image/jpeg")
        assert_safe_inline(await client.get(f"/task-attachments/{report}/view"), "application/pdf")
        assert thumbnail_size(await client.get(f"/task-attachments/{photo}/thumbnail")) == (240, 180)
    for username in ("unit_police", "street_luozhuang", "office_luozhuang"):
        client = await as_user(username)
        for path in ("", "/view", "/thumbnail"):
            response = await client.get(f"/task-attachments/{photo}{path}")
            assert response.status_code == 404 and response.content[:3] != b"\xff\xd8\xff", (username, path)
    assert (await unit.get("/task-attachments/2147483647/view")).status_code == 404


async def test_uploaded_photo_row_is_unchanged_by_previews(as_user, item_with_files) -> None:
    """Previewing reads only: the stored file is byte for byte what was uploaded."""
    street = await as_user("street")
    await street.get(f"/attachments/{item_with_files['jpg']}/thumbnail")
    row = await first(Attachment.select(Attachment.data).where(Attachment.id == item_with_files["jpg"]))
    assert bytes(row["data"]) == picture("JPEG")
