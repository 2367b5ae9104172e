"""Pinyin order for Chinese names (issue 16 item 4).

Streets, conferences, member units and convenors carry `sort_key`: the name spelt in pinyin with
tone numbers, written whenever the name is (conference.records), so every list and picker sorts
by it and SQLite and PostgreSQL agree. The key holds only ASCII digits and lower-case letters,
which every collation (C, en_US, zh_CN) orders the same way, so the database's locale cannot
change the order.

Each syllable ends in its tone digit (1-4, 5 for the neutral tone), and a digit sorts before any
letter: 西安 "xi1an1" comes before 先 "xian1", and syllable by syllable the order is a dictionary's
(兰山 lan2 before 罗庄 luo2). Latin letters and digits in a name are kept as they are.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from piccolo.table import Table

SORT_KEY_LENGTH = 800  # a 100-character name spelt out: at most 7 characters a syllable


def sort_key(name: str) -> str:
    """The pinyin sort key of a name: "兰山区公安分局" -> "lan2shan1qu1gong1an1fen4ju2"."""
    from pypinyin import Style, lazy_pinyin  # a large dictionary: loaded on first use

    text = unicodedata.normalize("NFKC", name or "").lower()
    # errors="default": characters without pinyin (Latin letters, digits, punctuation) stay as they are
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, errors="default")
    key = "".join(c for c in "".join(syllables) if c.isascii() and c.isalnum())
    return key[:SORT_KEY_LENGTH]


def with_sort_key(table: type[Table], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` plus the sort key of `name`, for a table that keeps one (the caller writes it in the
    same statement as the name)."""
    if "name" in values and any(c._meta.name == "sort_key" for c in table._meta.columns):
        return {**values, "sort_key": sort_key(str(values["name"] or ""))}
    return dict(values)
