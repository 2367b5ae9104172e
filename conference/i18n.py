"""Gettext through Babel. Source strings are the Simplified Chinese UI text; an English (or any
other) catalog under conference/locale/ can translate them without touching code or templates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"


@lru_cache(maxsize=8)
def translations(locale: str = DEFAULT_LOCALE) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def gettext(message: str) -> str:
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations().ngettext(singular, plural, n)


_ = gettext
