"""What an agenda item's or a task's attachment may be: its type recognised by its first bytes (not
by what the browser claims), its size, how many an item holds."""

from __future__ import annotations

from collections.abc import Sequence

from conference.errors import ValidationFailed
from conference.forms import safe_filename
from conference.i18n import gettext as _

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
TOO_LARGE = _("文件过大（上限 {n} MB）").format(n=MAX_ATTACHMENT_BYTES // (1024 * 1024))
# Allowed attachment types, recognised by their first bytes, not by what the browser claims.
SIGNATURES = {
    ".pdf": (b"%PDF-", "application/pdf"),
    ".png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    ".jpg": (b"\xff\xd8\xff", "image/jpeg"),
    ".jpeg": (b"\xff\xd8\xff", "image/jpeg"),
    ".docx": (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".xlsx": (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".doc": (b"\xd0\xcf\x11\xe0", "application/msword"),
    ".xls": (b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel"),
}


def check_attachment(filename: str, content: bytes) -> str:
    """The content type of an acceptable attachment, or ValidationFailed with the reason."""
    if not filename:
        raise ValidationFailed({"file": _("请选择要上传的文件。")})
    name = filename.lower()
    ext = name[name.rfind("."):] if "." in name else ""
    if ext not in SIGNATURES:
        raise ValidationFailed({"file": _("只能上传 PDF、Word、Excel 或 JPG/PNG 图片。")})
    if not content:
        raise ValidationFailed({"file": _("文件是空的。")})
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed({"file": TOO_LARGE})
    magic, content_type = SIGNATURES[ext]
    if not content.startswith(magic):
        raise ValidationFailed({"file": _("文件内容与扩展名不符。")})
    return content_type


def files_errors(files: Sequence[tuple[str, bytes]], already: int) -> dict[str, str]:
    """The first refusal among the files of an item form, for the message beside its file field
    (naming the file when several were chosen); {} when all may be attached."""
    if already + len(files) > MAX_ATTACHMENTS:
        return {"file": _("每个议题最多 {n} 个附件。").format(n=MAX_ATTACHMENTS)}
    for filename, content in files:
        try:
            check_attachment(filename, content)
        except ValidationFailed as exc:
            message = exc.errors["file"]
            return {"file": f"{safe_filename(filename)}：{message}" if len(files) > 1 else message}
    return {}
