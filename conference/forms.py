"""Reading and validating submitted fields (HTML forms and JSON bodies alike).

Each reader method returns the cleaned value or records a Chinese message for the field; `done()`
raises ValidationFailed with every message at once, so a form can show all of them beside their
fields and keep what the user typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from conference.errors import ValidationFailed
from conference.i18n import gettext as _

EMAIL_RE = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}$")
PHONE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")


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

    def text(self, name: str, label: str, *, required: bool = False, max_length: int = 100) -> str:
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
        value = self.text(name, label, required=required, max_length=40)
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

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
