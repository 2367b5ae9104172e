"""The item form on a phone (issue 11, deliverable 5): attachments go with the submission in one
step (all or none, the attachment rules of the detail page), a file over the limit is refused beside
the file field with everything else kept, a body too large to read at all brings the form back with
the same message, and the requested units are a checkbox list, not a multi-select."""

from __future__ import annotations

from typing import Any

import httpx

from conference.agenda.tables import AgendaItem, AgendaItemUnit, Attachment
from tests.test_agenda import PDF, PNG, audit_actions, html, item_row, new_item, uid, unit_id

LIMIT = 10 * 1024 * 1024
TOO_LARGE = "文件过大（上限 10 MB）"


async def _post_item(client: httpx.AsyncClient, url: str, data: dict[str, Any],
                     files: list[tuple[str, bytes, str]]) -> httpx.Response:
    """The item form as the browser sends it: multipart, one "file" part per chosen file (an empty
    part when none is chosen, as a browser does)."""
    parts = [("file", f) for f in files] or [("file", ("", b"", "application/octet-stream"))]
    return await client.post(url, data={**data, "_csrf_token": client.cookies.get("csrftoken", "")}, files=parts)


def _fields(title: str, units: list[int]) -> dict[str, Any]:
    return {"title": title, "description": "小区周边占道经营，需要多部门联合整治。", "category": "urban_management",
            "urgency": "urgent", "units": [str(u) for u in units], "submit": "1"}


async def test_form_offers_units_as_checkboxes_and_a_file_field(as_user) -> None:
    page = html(await (await as_user("street")).get("/items/new"))
    form = page.select_one("form.form")
    assert form["enctype"] == "multipart/form-data"
    assert page.select("select[multiple]") == []
    picker = page.select_one("fieldset#f-units")
    assert picker.select_one("legend").get_text(strip=True) == "提请协调的成员单位"
    assert picker.select_one("input[data-picker-filter=f-units]") is not None
    boxes = picker.select("input[type=checkbox][name=units]")
    assert boxes and all(b.get("value") for b in boxes)
    file_input = page.select_one("input#f-file")
    assert (file_input["type"], file_input["name"], file_input.has_attr("multiple")) == ("file", "file", True)
    assert file_input["data-max-bytes"] == str(LIMIT) and file_input["data-too-large"] == TOO_LARGE
    assert "每个文件不超过 10 MB" in page.select_one("#h-file").get_text()


async def test_item_submitted_with_its_attachments_in_one_step(as_user) -> None:
    street, office = await as_user("street"), await as_user("office")
    units = [await unit_id("兰山区市场监管局"), await unit_id("兰山派出所")]
    response = await _post_item(street, "/items/new", _fields(title := uid(), units),
                                [("现场照片.png", PNG, "image/png"), ("情况说明.pdf", PDF, "application/pdf")])
    assert response.status_code == 303, response.text[:500]
    item_id = int(response.headers["location"].rsplit("/", 1)[1])
    row = await item_row(item_id)
    assert (row["title"], row["status"]) == (title, "submitted")
    stored = await Attachment.select(Attachment.filename, Attachment.content_type, Attachment.size).where(
        Attachment.item == item_id).order_by(Attachment.id)
    assert [(a["filename"], a["content_type"], a["size"]) for a in stored] == [
        ("现场照片.png", "image/png", len(PNG)), ("情况说明.pdf", "application/pdf", len(PDF))]
    assert sorted(r["unit"] for r in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == item_id)) == sorted(units)
    assert await audit_actions(item_id) == ["create", "attach", "attach"]
    detail = html(await office.get(f"/items/{item_id}"))  # the office sees them at triage
    assert [a.get_text(strip=True) for a in detail.select("#attachments a[download]")] == ["现场照片.png", "情况说明.pdf"]


async def test_oversize_file_refused_beside_the_field_with_the_input_kept(as_user) -> None:
    street = await as_user("street")
    unit = await unit_id("兰山区市场监管局")
    before = await AgendaItem.count()
    big = b"%PDF-" + b"0" * LIMIT  # 11 MB of a real-looking PDF: read, then refused by the size rule
    response = await _post_item(street, "/items/new", _fields(title := uid(), [unit]), [("大文件.pdf", big, "application/pdf")])
    assert response.status_code == 400
    page = html(response)
    assert page.select_one("#e-file").get_text(strip=True) == TOO_LARGE
    assert not page.select_one("#e-file").has_attr("hidden")
    assert page.select_one("#f-file")["aria-invalid"] == "true"
    assert "has-error" in page.select_one("#f-file").find_parent(class_="field")["class"]
    assert page.select_one("#f-title")["value"] == title
    assert page.select_one("#f-description").get_text() == "小区周边占道经营，需要多部门联合整治。"
    assert page.select_one("#f-urgency option[selected]")["value"] == "urgent"
    assert [b["value"] for b in page.select("input[name=units][checked]")] == [str(unit)]
    assert await AgendaItem.count() == before  # no item without its files

    # A wrong type among several files names the file; nothing is saved either.
    response = await _post_item(street, "/items/new", _fields(uid(), [unit]),
                                [("ok.pdf", PDF, "application/pdf"), ("说明.txt", b"text", "text/plain")])
    assert response.status_code == 400
    assert html(response).select_one("#e-file").get_text(strip=True) == "说明.txt：只能上传 PDF、Word、Excel 或 JPG/PNG 图片。"
    assert await AgendaItem.count() == before


async def test_body_too_large_to_read_brings_the_form_back_with_the_message(as_user) -> None:
    street = await as_user("street")
    before = await AgendaItem.count()
    huge = b"%PDF-" + b"0" * (3 * LIMIT + 512 * 1024)  # over the form's body limit: never read
    response = await _post_item(street, "/items/new", _fields(uid(), []), [("巨大.pdf", huge, "application/pdf")])
    assert response.status_code == 303 and response.headers["location"] == "/items/new?upload=too_large"
    page = html(await street.get(response.headers["location"]))
    assert page.select_one("#e-file").get_text(strip=True) == TOO_LARGE
    assert page.select_one("#f-title") is not None  # the form, not an error page
    assert await AgendaItem.count() == before


async def test_edit_adds_files_and_refusal_saves_nothing(as_user) -> None:
    street = await as_user("street")
    item_id = await new_item(street, submit=False)
    title = (await item_row(item_id))["title"]
    refused = await _post_item(street, f"/items/{item_id}/edit", {**_fields(uid(), []), "submit": ""},
                               [("伪装.pdf", b"MZ not a pdf", "application/pdf")])
    assert refused.status_code == 400
    assert html(refused).select_one("#e-file").get_text(strip=True) == "文件内容与扩展名不符。"
    assert (await item_row(item_id))["title"] == title
    saved = await _post_item(street, f"/items/{item_id}/edit", {**_fields(new_title := uid(), []), "submit": ""},
                             [("补充.pdf", PDF, "application/pdf")])
    assert saved.status_code == 303, saved.text[:500]
    assert (await item_row(item_id))["title"] == new_title
    assert await Attachment.count().where(Attachment.item == item_id) == 1
    # Units may not upload (they deal with tasks): the form itself is closed to them.
    assert (await (await as_user("unit")).get("/items/new")).status_code == 403
