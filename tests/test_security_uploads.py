"""Issue 10, item 11: a right-to-left override (and the other bidi and invisible format characters) in
an attachment's name is neutralised when stored, and when a name stored earlier is shown or sent."""

from __future__ import annotations

import urllib.parse

from conference.agenda.tables import Attachment
from conference.forms import safe_filename
from conference.timefmt import now
from tests.conftest import html
from tests.test_agenda import PDF, _upload, first, new_item

RLO = "\u202e"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u200b\ufeff"


def test_safe_filename() -> None:
    assert safe_filename(f"报告{RLO}fdp.exe") == "报告fdp.exe"  # reads in its real order: an .exe
    assert not set(safe_filename(f"a{BIDI}b.pdf")) & set(BIDI)
    assert safe_filename("a\r\nb/..\\c.pdf") == "a__b_.._c.pdf"
    assert safe_filename(RLO) == "attachment" and safe_filename("") == "attachment"
    assert safe_filename("长" * 300 + ".pdf").endswith(".pdf") and len(safe_filename("长" * 300 + ".pdf")) == 200
    assert safe_filename("占道经营现场照片说明.pdf") == "占道经营现场照片说明.pdf"


async def test_rtl_override_is_neutralised_on_upload(as_user) -> None:
    street = await as_user("street")
    item_id = await new_item(street)
    attachment_id = await _upload(street, item_id, f"现场照片{RLO}fdp.exe.pdf", PDF)
    row = await first(Attachment.select(Attachment.filename).where(Attachment.id == attachment_id))
    assert row["filename"] == "现场照片fdp.exe.pdf"
    page = await street.get(f"/items/{item_id}")
    assert RLO not in page.text and "现场照片fdp.exe.pdf" in html(page).find(id="attachments").get_text()


async def test_names_stored_earlier_are_neutralised_when_shown(as_user) -> None:
    street = await as_user("street")
    item_id = await new_item(street)
    rows = await Attachment.insert(Attachment(
        item=item_id, filename=f"invoice{RLO}fdp.exe", content_type="application/pdf", size=len(PDF), sha256="0" * 64,
        data=PDF, created_at=now())).returning(Attachment.id)
    attachment_id = int(rows[0]["id"])
    page = await street.get(f"/items/{item_id}")
    assert RLO not in page.text and "invoicefdp.exe" in html(page).find(id="attachments").get_text()
    response = await street.get(f"/attachments/{attachment_id}")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert urllib.parse.quote(RLO) not in disposition and "%E2%80%AE" not in disposition.upper()
    assert "filename*=UTF-8''invoicefdp.exe" in disposition
