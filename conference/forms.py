"""Reading and validating submitted fields (HTML forms and JSON bodies alike).

Each reader method returns the cleaned value or records a Chinese message for the field; `done()`
raises ValidationFailed with every message at once, so a form can show all of them beside their
fields and keep what the user typed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from conference.errors import ValidationFailed
from conference.i18n import gettext as _

EMAIL_RE = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}$")
PHONE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")
# Fields up to this length are single-line (names, titles, places, e-mails, phones): they end up in
# e-mail headers, file names and table cells, where a line break or an invisible direction override
# would change what is shown or sent. Longer fields are multi-line texts (textareas).
SINGLE_LINE_MAX = 200
# Unicode categories refused in single-line fields: controls (CR, LF, TAB...), format characters
# (bidi overrides such as U+202E, zero-width characters), line and paragraph separators. Multi-line
# fields keep line breaks and tabs but refuse the other controls and the bidi embeddings, overrides
# and isolates (U+202A-U+202E, U+2066-U+2069).
SINGLE_LINE_REFUSED = frozenset({"Cc", "Cf", "Zl", "Zp"})
MULTI_LINE_ALLOWED = frozenset("\n\r\t")
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control(value: str, *, multiline: bool = False) -> bool:
    """True when `value` holds a character a field of that kind refuses: for single-line fields any
    control, format or line-separator character; for multi-line fields the controls other than line
    breaks and tabs, and the bidi controls (which can make text read differently than stored)."""
    for char in value:
        if multiline:
            if char in MULTI_LINE_ALLOWED:
                continue
            if char in BIDI_CONTROLS or unicodedata.category(char) == "Cc":
                return True
        elif unicodedata.category(char) in SINGLE_LINE_REFUSED:
            return True
    return False


def safe_filename(name: str, default: str = "attachment") -> str:
    """An uploaded file's name as stored and as shown: no path separators, no format characters (a
    right-to-left override U+202E would show "报告\u202egpj.exe" as "报告exe.jpg"; bidi embeddings,
    isolates and zero-width characters likewise) and no control characters, at most 200 characters,
    keeping the end (the extension). Applied on upload and again whenever a stored name is shown or
    sent, so names stored before this rule are neutralised too."""
    cleaned = []
    for char in unicodedata.normalize("NFC", str(name or "")):
        category = unicodedata.category(char)
        if category == "Cf":
            continue  # invisible: dropped, so the name reads in its real order
        cleaned.append("_" if char in "/\\" or category in ("Cc", "Zl", "Zp") else char)
    return "".join(cleaned).strip()[-200:].strip() or default


ASCII_NAME_RUN = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_filename(name: str, default: str = "download") -> str:
    """The file name for clients that cannot read RFC 5987's `filename*`: the ASCII letters, digits
    and . _ - of `name`, each run of anything else one "-". A name without an ASCII word (a Chinese
    title) would come out as dashes, digits and its extension, so `default` plus the extension is
    used instead: callers with a Chinese name should give a meaningful ASCII one (minutes-3-2026-6.pdf)."""
    stem, dot, extension = safe_filename(name, default).rpartition(".")
    if not dot:
        stem, extension = extension, ""
    stem = ASCII_NAME_RUN.sub("-", stem).strip("-._")
    extension = ASCII_NAME_RUN.sub("", extension)[:10]
    if not re.search("[A-Za-z]", stem):  # no word left, only dashes or the digits of a Chinese title
        stem = default
    return f"{stem}.{extension}" if extension else stem


def download_disposition(filename: str, *, ascii_name: str | None = None, inline: bool = False) -> str:
    """Content-Disposition (RFC 6266) naming the file twice: `filename` with the ASCII fallback
    (`ascii_name`, else made from `filename`) and `filename*` with the full UTF-8 (Chinese) name."""
    filename = safe_filename(filename)
    fallback = ascii_filename(ascii_name or filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


class FormReader:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def _raw(self, name: str) -> Any:
        value = self.data.get(name)
        if isinstance(value, str):
            value = value.strip()
        return value

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, label: str, *, required: bool = False, max_length: int = 100,
             multiline: bool | None = None) -> str:
        """`multiline` defaults to True only for fields longer than SINGLE_LINE_MAX."""
        value = self._raw(name)
        if value is None or value == "":
            if required:
                self.fail(name, _("请填写{label}。").format(label=label))
            return ""
        if not isinstance(value, str):
            self.fail(name, _("{label}应为文本。").format(label=label))
            return ""
        if len(value) > max_length:
            self.fail(name, _("{label}不能超过{n}个字。").format(label=label, n=max_length))
        if "\x00" in value:
            # Refused, and not passed on: PostgreSQL rejects NUL in text even in a uniqueness lookup.
            self.fail(name, _("{label}含有不允许的字符。").format(label=label))
            return ""
        single = not (multiline if multiline is not None else max_length > SINGLE_LINE_MAX)
        if has_control(value, multiline=not single):
            if single and any(c in LINE_BREAKS for c in value):
                self.fail(name, _("{label}只能填写一行。").format(label=label))
            elif single:
                self.fail(name, _("{label}不能包含制表符或不可见的控制字符。").format(label=label))
            else:
                self.fail(name, _("{label}含有不可见的控制字符（如文字方向控制符），请删除后再提交。").format(label=label))
            return ""
        return value

    def email(self, name: str, label: str, *, required: bool = False) -> str:
        value = self.text(name, label, required=required, max_length=120)
        if value and not EMAIL_RE.match(value):
            self.fail(name, _("{label}格式不正确，例如 liaison@example.gov.cn。").format(label=label))
        return value

    def phone(self, name: str, label: str, *, required: bool = False) -> str:
        value = self.text(name, label, required=required, max_length=20)
        if value and not PHONE_RE.match(value):
            self.fail(name, _("{label}只能包含数字、空格和 + - ( )。").format(label=label))
        return value

    def choice(self, name: str, label: str, choices: Mapping[str, str], *, required: bool = True) -> str:
        """A value picked from a list (a select or radio buttons): left empty it asks to choose."""
        value = self._raw(name)
        if value is None or value == "":
            if required:
                self.fail(name, _("请选择{label}。").format(label=label))
            return ""
        value = self.text(name, label, max_length=40)
        if value and value not in choices:
            self.fail(name, _("请从列表中选择{label}。").format(label=label))
            return ""
        return value

    def date(self, name: str, label: str, *, required: bool = False) -> dt.date | None:
        value = self._raw(name)
        if value is None or value == "":
            if required:
                self.fail(name, _("请填写{label}。").format(label=label))
            return None
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str):
            self.fail(name, _("{label}应为日期。").format(label=label))
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(name, _("{label}不是有效日期，请按 2026-11-29 的格式填写。").format(label=label))
            return None

    def ref(self, name: str, label: str, *, required: bool = True) -> int | None:
        """An id of another record (the caller checks it exists and is in scope)."""
        value = self._raw(name)
        if value is None or value == "":
            if required:
                self.fail(name, _("请选择{label}。").format(label=label))
            return None
        if isinstance(value, bool):
            self.fail(name, _("请选择{label}。").format(label=label))
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(name, _("请选择{label}。").format(label=label))
            return None
        if not 0 < number < 2**31:
            self.fail(name, _("请选择{label}。").format(label=label))
            return None
        return number

    def version(self) -> int | None:
        """The record version the editor read (optimistic locking); absent means "don't check"."""
        return self.ref("version", _("版本"), required=False)

    def date_range(self, start: dt.date | None, end: dt.date | None, end_name: str) -> None:
        if start and end and end < start:
            self.fail(end_name, _("结束日期不能早于开始日期。"))

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Runs a check that raises ValidationFailed by itself (another reader's `done()`, an
        attachment check) and keeps its messages with this form's: `done()` then reports them all
        together, instead of the first failing check hiding the other fields' messages."""
        try:
            yield
        except ValidationFailed as exc:
            for name, message in exc.errors.items():
                self.fail(name, message)

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
