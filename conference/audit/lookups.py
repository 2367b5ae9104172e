"""The names and records an audit page mentions, read for the whole page in one statement: the
names of the records its changes refer to (a unit's id shown as the unit's name) and the title,
page and conference of each record its events are about (conference.audit.views presents them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from conference.db import fetch
from conference.db import ids as ids_in

EMPTY = "—"

# Fields holding the id of another record, by the kind of record: shown by its name.
REFERENCE_FIELDS = {
    "unit": "unit", "lead_unit": "unit", "parent_unit": "unit", "cooperating": "unit", "units": "unit",
    "conference": "conference", "parent": "conference", "owner_conference": "conference", "street": "street", "meeting": "meeting", "item": "item",
    "merged_into": "item", "items": "item", "person": "person", "presiding": "person", "adopted_by": "user", "submitted_by": "user",
    "requested_by": "user", "decided_by": "user", "entered_by": "user",
}
# The kind of record each kind of name is the title of: a unit's name is the member_unit record's title.
NAMED = {"unit": "member_unit", "conference": "conference", "street": "street", "meeting": "meeting",
         "item": "agenda_item", "person": "person", "user": "user"}
# Everything a page names is read in one statement (Lookups.load): a UNION ALL of one branch per kind
# of record, each tagged with the kind (the first `{}`) and giving the same columns: id, title,
# conference, meeting, day (NULL where the kind has none, typed for PostgreSQL's UNION). The second
# `{}` takes the ids (db.ids).
# Each record named in the trail: its title, the page that shows it (formatted with the row), the
# conference whose office may open it; `day` (where given) is added to the title as a Chinese date.
RECORD_QUERIES = {
    "task": ("""SELECT CAST({} AS TEXT) AS kind, t.id, i.title || '（' || u.name || '）' AS title, t.conference,
                CAST(NULL AS INTEGER) AS meeting, CAST(NULL AS DATE) AS day
                FROM task t JOIN resolution r ON r.id = t.resolution JOIN agenda_item i ON i.id = r.item
                JOIN member_unit u ON u.id = t.unit WHERE t.id IN ({})""", "/tasks/{id}"),
    "agenda_item": ("""SELECT CAST({} AS TEXT) AS kind, id, title, conference, CAST(NULL AS INTEGER) AS meeting,
                       CAST(NULL AS DATE) AS day FROM agenda_item WHERE id IN ({})""", "/items/{id}"),
    "meeting": ("""SELECT CAST({} AS TEXT) AS kind, id, title, conference, CAST(NULL AS INTEGER) AS meeting,
                   CAST(NULL AS DATE) AS day FROM meeting WHERE id IN ({})""", "/meetings/{id}"),
    "resolution": ("""SELECT CAST({} AS TEXT) AS kind, r.id, m.title || ' · ' || i.title AS title, r.conference, r.meeting,
                      CAST(NULL AS DATE) AS day
                      FROM resolution r JOIN meeting m ON m.id = r.meeting JOIN agenda_item i ON i.id = r.item
                      WHERE r.id IN ({})""", "/meetings/{meeting}"),
    "minutes": ("""SELECT CAST({} AS TEXT) AS kind, mi.id, m.title AS title, mi.conference, mi.meeting, CAST(NULL AS DATE) AS day
                   FROM minutes mi JOIN meeting m ON m.id = mi.meeting WHERE mi.id IN ({})""",
                "/meetings/{meeting}/minutes"),
    "invitation": ("""SELECT CAST({} AS TEXT) AS kind, v.id, m.title || ' · ' || u.name AS title, m.conference, v.meeting,
                      CAST(NULL AS DATE) AS day
                      FROM invitation v JOIN meeting m ON m.id = v.meeting JOIN member_unit u ON u.id = v.unit
                      WHERE v.id IN ({})""", "/meetings/{meeting}"),
    "special_request": ("""SELECT CAST({} AS TEXT) AS kind, q.id, s.name AS title, q.conference, CAST(NULL AS INTEGER) AS meeting,
                           q.proposed_date AS day
                           FROM special_meeting_request q JOIN street s ON s.id = q.street WHERE q.id IN ({})""",
                        "/special-requests/{id}"),
    "conference": ("""SELECT CAST({} AS TEXT) AS kind, id, name AS title, id AS conference, CAST(NULL AS INTEGER) AS meeting,
                      CAST(NULL AS DATE) AS day FROM conference WHERE id IN ({})""", "/registry/conferences/{id}"),
    "street": ("""SELECT CAST({} AS TEXT) AS kind, id, name AS title, CAST(NULL AS INTEGER) AS conference,
                  CAST(NULL AS INTEGER) AS meeting, CAST(NULL AS DATE) AS day FROM street WHERE id IN ({})""",
               "/registry/streets/{id}"),
    "member_unit": ("""SELECT CAST({} AS TEXT) AS kind, id, name AS title, CAST(NULL AS INTEGER) AS conference,
                       CAST(NULL AS INTEGER) AS meeting, CAST(NULL AS DATE) AS day FROM member_unit WHERE id IN ({})""",
                    "/registry/units/{id}"),
    "person": ("""SELECT CAST({} AS TEXT) AS kind, id, name AS title, CAST(NULL AS INTEGER) AS conference,
                  CAST(NULL AS INTEGER) AS meeting, CAST(NULL AS DATE) AS day FROM person WHERE id IN ({})""",
               "/registry/convenors/{id}"),
    "membership": ("""SELECT CAST({} AS TEXT) AS kind, b.id, u.name || ' · ' || c.name AS title, b.conference,
                      CAST(NULL AS INTEGER) AS meeting, CAST(NULL AS DATE) AS day
                      FROM membership b JOIN member_unit u ON u.id = b.unit JOIN conference c ON c.id = b.conference
                      WHERE b.id IN ({})""", "/registry/conferences/{conference}"),
    "convenor_appointment": ("""SELECT CAST({} AS TEXT) AS kind, a.id, p.name || ' · ' || c.name AS title, a.conference,
                                CAST(NULL AS INTEGER) AS meeting, CAST(NULL AS DATE) AS day
                                FROM convenor_appointment a JOIN person p ON p.id = a.person
                                JOIN conference c ON c.id = a.conference WHERE a.id IN ({})""",
                             "/registry/conferences/{conference}"),
    "user": ("""SELECT CAST({} AS TEXT) AS kind, id, display_name AS title, CAST(NULL AS INTEGER) AS conference,
                CAST(NULL AS INTEGER) AS meeting, CAST(NULL AS DATE) AS day FROM app_user WHERE id IN ({})""",
             "/admin/users"),
    "notification": ("""SELECT CAST({} AS TEXT) AS kind, id, subject AS title, conference, CAST(NULL AS INTEGER) AS meeting,
                        CAST(NULL AS DATE) AS day FROM notification WHERE id IN ({})""", "/mail/messages/{id}"),
}


class Lookups:
    """The records a page mentions, read in one statement (a statement costs more than the rows it
    returns here): those its events are about (their title, page and conference) and those their
    changes refer to (a unit's id shown as the unit's name: the record's title)."""

    def __init__(self) -> None:
        self.wanted: dict[str, set[int]] = defaultdict(set)  # kind of record -> ids
        self.records: dict[tuple[str, int], Mapping[str, Any]] = {}  # (kind of record, id) -> its row

    def want(self, kind: str, value: Any) -> None:
        """The names of the records of a kind of name (REFERENCE_FIELDS) that `value` refers to."""
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31:
                self.wanted[NAMED[kind]].add(v)

    def want_record(self, entity: str, entity_id: int) -> None:
        if entity in RECORD_QUERIES:
            self.wanted[entity].add(entity_id)

    async def load(self) -> None:
        if not self.wanted:
            return
        # One template for the statement (the same text for the same kinds, so that the split of
        # it is kept: sqlcompile._pieces), each branch's values in order: its kind, then its ids.
        sql = " UNION ALL ".join(RECORD_QUERIES[entity][0] for entity in self.wanted)
        values = [v for entity, found in self.wanted.items() for v in (entity, ids_in(found))]
        for r in await fetch(sql, *values):
            self.records[(str(r["kind"]), int(r["id"]))] = r

    def show(self, kind: str, value: Any) -> str:
        """`value` (an id, a list of ids, anything else) as the page writes it: by name."""
        if isinstance(value, (list, tuple)):
            return "、".join(self.show(kind, v) for v in value) or EMPTY
        if value is None or value == "":
            return EMPTY
        if isinstance(value, int) and not isinstance(value, bool):
            found = self.records.get((NAMED[kind], value))
            return (str(found["title"]) if found else "") or f"#{value}"
        return str(value)
