"""Helpers for calendar tests: golden files, normalisation, and parsing with two independent
parsers (icalendar and vobject)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import vobject

GOLDEN = Path(__file__).parent / "golden"
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def normalise(text: str | bytes) -> str:
    """Unfolded, LF line ends, DTSTAMP and personal tokens replaced: what a golden file holds."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    text = text.replace("\r\n ", "").replace("\r\n", "\n")
    text = re.sub(r"^DTSTAMP:\d{8}T\d{6}Z$", "DTSTAMP:<now>", text, flags=re.M)
    text = re.sub(r"/r/[A-Za-z0-9_\-]+", "/r/<token>", text)
    return re.sub(r"/feeds/[A-Za-z0-9_\-]+\.ics", "/feeds/<token>.ics", text)


def assert_golden(name: str, text: str | bytes) -> None:
    """Compare with tests/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    actual = normalise(text)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {path} (UPDATE_GOLDEN=1 writes it)"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file (UPDATE_GOLDEN=1 to accept)"


def assert_wire_format(text: str | bytes) -> None:
    """RFC 5545 §3.1: CRLF line ends, no line longer than 75 octets."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")[:-1]
    assert all(b"\n" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75


def parse_both(text: str | bytes) -> tuple[icalendar.Calendar, Any]:
    """The calendar as icalendar and as vobject read it (both must accept it)."""
    raw = text.decode("utf-8") if isinstance(text, bytes) else text
    return icalendar.Calendar.from_ical(raw), vobject.readOne(raw)


def events_by_uid(text: str | bytes) -> dict[str, dict[str, Any]]:
    """For every VEVENT: start and end as both parsers read them, so a test can check the times."""
    ical, vcal = parse_both(text)
    found: dict[str, dict[str, Any]] = {}
    for event in ical.walk("VEVENT"):
        found[str(event["UID"])] = {"ical": event, "start": event.decoded("DTSTART"), "end": event.decoded("DTEND")}
    for event in getattr(vcal, "vevent_list", []):
        found[event.uid.value]["vobject"] = event
        found[event.uid.value]["v_start"] = event.dtstart.value
        found[event.uid.value]["v_end"] = event.dtend.value
    return found


def assert_times(event: dict[str, Any], local_start: dt.datetime, local_end: dt.datetime) -> None:
    """Both parsers give the same instants: the local wall time in Asia/Shanghai and its UTC."""
    for start, end in ((event["start"], event["end"]), (event["v_start"], event["v_end"])):
        assert start.tzinfo is not None and end.tzinfo is not None
        assert start.utcoffset() == dt.timedelta(hours=8)
        assert start.astimezone(SHANGHAI).replace(tzinfo=None) == local_start
        assert end.astimezone(SHANGHAI).replace(tzinfo=None) == local_end
        assert start.astimezone(UTC) == local_start.replace(tzinfo=SHANGHAI).astimezone(UTC)
        assert end.astimezone(UTC) == local_end.replace(tzinfo=SHANGHAI).astimezone(UTC)
