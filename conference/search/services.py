"""Full-text search over items, resolutions, task reports, minutes and meetings.

The text lives in `search_document` (one row per record, kept current by triggers: see migration
2026-12-04T02:00 and 02:10; since 2026-12-05T02:00 an item's text ends with the 12345 / grid ticket
number it came from, agenda_item.external_ref, so the number finds the item). A search is one statement: the matching documents (`hits`), each joined back to
its record and cut to what the actor's lists show, using each kind's visibility rule (the
*/visibility.py modules, which the lists and detail pages use too), then ranked and numbered per kind with window functions.

Matching is by substring, so Chinese needs no word splitting: a term of three or more characters
goes through the trigram index (SQLite: FTS5 MATCH on search_fts; PostgreSQL: ILIKE, which the
pg_trgm GIN indexes serve); a shorter term ("坠落") is a LIKE / ILIKE test on the documents, which a
trigram index cannot serve. Several terms separated by spaces must all occur.

Rank: a term found in the title counts ten, in the text one; ties go to the newer record. The
same on both databases, and cheap: only titles are read to rank, texts only for the rows shown.
"""

# SQL here is composed of QueryString fragments (conference.db.fetch): fixed text, the lists' own
# scope clauses and `{}` placeholders; every term a user types, and every id, is a bound value.

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from conference.accounts.actor import Actor
from conference.agenda.states import ITEM_STATUS_LABELS
from conference.agenda.visibility import visible_items
from conference.db import as_datetime, engine, fetch, ids, joined
from conference.i18n import gettext as _
from conference.meetings.states import MEETING_STATUS_LABELS
from conference.meetings.tables import Meeting
from conference.meetings.visibility import visible_meetings
from conference.minutes.tables import Minutes
from conference.minutes.visibility import visible_minutes
from conference.roles import ITEM_READERS, SUPERVISORS, Role
from conference.tasks.states import REPORT_LABELS
from conference.tasks.tables import Resolution, Task
from conference.tasks.visibility import visible_resolutions, visible_tasks
from conference.visibility import scoped
from conference.web.listing import MAX_PAGE, PER_PAGE, page_count

KINDS: dict[str, str] = {
    "item": _("议题"), "resolution": _("议定事项"), "report": _("工作进展"), "minutes": _("会议纪要"), "meeting": _("会议"),
}
# Who may list each kind: the roles of the pages that list them (/items, /meetings/{id}/minutes;
# meetings, resolutions and task reports are read by every role). tests/test_search.py checks these
# against the routes' declarations.
KIND_ROLES: dict[str, tuple[str, ...]] = {
    "item": ITEM_READERS,
    "minutes": SUPERVISORS,
}
MAX_QUERY = 100  # characters, as the list pages' search boxes
MAX_TERMS = 5
TRIGRAM = 3  # shortest term the trigram index can find
TOP = 5  # results per kind on the overview
TITLE_WEIGHT = 10
SNIPPET = 90  # characters of text shown around the first match


@dataclass
class Hit:
    kind: str
    ref: int  # the record's id in its own table
    url: str
    heading: list[tuple[str, bool]]  # (text, is_match) segments: the template escapes each one
    snippet: list[tuple[str, bool]]
    context: str  # where it belongs: street, meeting, unit, conference
    label: str  # its status or kind of report
    at: dt.datetime | None
    score: int


@dataclass
class Group:
    kind: str
    label: str
    total: int
    hits: list[Hit] = field(default_factory=list)


@dataclass
class Results:
    q: str
    terms: list[str]
    kind: str  # "" for the overview of every kind
    groups: list[Group]
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def total(self) -> int:
        return sum(g.total for g in self.groups)

    @property
    def pages(self) -> int:
        shown = next((g.total for g in self.groups if g.kind == self.kind), 0)
        return page_count(shown, self.per_page)

    def url(self, **changes: Any) -> str:
        """This search with some parameters changed (kind tabs, pager links)."""
        params: dict[str, Any] = {"q": self.q, "kind": self.kind, "page": self.page}
        params.update(changes)
        if params.get("page") == 1:
            params["page"] = ""
        return "/search?" + urllib.parse.urlencode({k: v for k, v in params.items() if v not in ("", None)})


def terms_of(q: str) -> list[str]:
    """The distinct search terms: split at any white space (a full-width space too), at most five,
    compared case-insensitively."""
    words = q.replace("\x00", "")[:MAX_QUERY].lower().split()
    return list(dict.fromkeys(words))[:MAX_TERMS]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'  # an FTS5 string: the term as typed, nothing parsed


def _index_sql(term: str, column: str = "") -> QueryString:
    """SQLite: ids of the documents containing `term` (in `column` only, when given), from the index
    that can find it: trigrams for three characters or more, character pairs for two letters or
    digits; otherwise (one character, punctuation) a scan of the documents."""
    where = column + " : " if column else ""
    if len(term) >= TRIGRAM:
        return QueryString("SELECT rowid AS id FROM search_fts WHERE search_fts MATCH {}", where + _phrase(term))
    if len(term) == 2 and term.isalnum():
        return QueryString("SELECT rowid AS id FROM search_bigram WHERE search_bigram MATCH {}", where + _phrase(term))
    if column == "title":
        return QueryString("SELECT id FROM search_document WHERE title LIKE {} ESCAPE '\\'", _like(term))
    return QueryString("SELECT id FROM search_document WHERE title LIKE {} ESCAPE '\\' OR body LIKE {} ESCAPE '\\'",
                       _like(term), _like(term))


# A title match counts TITLE_WEIGHT, a text match 1 (the SQL twin of TITLE_WEIGHT).
_TITLE_SCORE = QueryString("THEN " + str(TITLE_WEIGHT) + " ELSE 1 END")


def _cte(prefix: str, i: int) -> QueryString:
    """The name of the i-th term's common table expression (found0, titled1 ...): a fixed prefix
    and a number, nothing a user typed."""
    return QueryString(prefix + str(i))


def _hits_sql(terms: list[str], postgres: bool) -> tuple[list[QueryString], QueryString]:
    """The matching documents: id, the record's id (`ref`), its kind's code and the score, as
    (common table expressions it needs, the select). On SQLite the indexes alone answer (a document
    id is the record's id * 8 + the kind's code); no document is read until the few shown. Each
    index lookup is its own materialized set: `id IN (SELECT rowid ... MATCH)` would make SQLite run
    the full-text query once per candidate row (measured: 1.4 s instead of 15 ms for two terms over
    50,000 documents)."""
    if postgres:
        score = [QueryString("CASE WHEN strpos(lower(d.title), {}) > 0 {}", term, _TITLE_SCORE) for term in terms]
        where = [QueryString("(d.title ILIKE {} ESCAPE '\\' OR d.body ILIKE {} ESCAPE '\\')", _like(term), _like(term))
                 for term in terms]
        return [], QueryString("SELECT d.id, d.id / 8 AS ref, d.id % 8 AS code, {} AS score FROM search_document d WHERE {}",
                               joined(score, " + "), joined(where, " AND "))
    ctes = [QueryString("{} AS MATERIALIZED ({})", _cte(prefix, i), _index_sql(term, column))
            for prefix, column in (("found", ""), ("titled", "title")) for i, term in enumerate(terms)]
    matches = joined((QueryString("SELECT id FROM {}", _cte("found", i)) for i in range(len(terms))), " INTERSECT ")
    scores = joined((QueryString("CASE WHEN m.id IN (SELECT id FROM {}) {}", _cte("titled", i), _TITLE_SCORE)
                     for i in range(len(terms))), " + ")
    return ctes, QueryString("SELECT m.id, m.id / 8 AS ref, m.id % 8 AS code, {} AS score FROM ({}) m", scores, matches)


CODES = {"item": 1, "resolution": 2, "report": 3, "minutes": 4, "meeting": 5}  # as migration 2026-12-04T02:10
KIND_OF = {code: kind for kind, code in CODES.items()}
COLUMNS = QueryString("h.id AS doc, h.code, h.ref, h.score")


async def _branches(actor: Actor) -> list[QueryString]:
    """One SELECT per kind the actor may list, each reading its records through that kind's
    visibility rule (the rule of its list and detail pages; only the tables the rule needs are
    joined: names and dates are read for the rows shown)."""
    branches: list[QueryString] = []
    if actor.role in KIND_ROLES["item"]:
        branches.append(QueryString("SELECT {} FROM hits h JOIN agenda_item ON agenda_item.id = h.ref WHERE h.code = {} AND {}",
                                    COLUMNS, CODES["item"], (await visible_items(actor)).querystring))
    # Resolutions as the meeting page shows them (tasks.views.meeting_resolutions).
    branches.append(QueryString("SELECT {} FROM hits h JOIN {} r ON r.id = h.ref WHERE h.code = {}",
                                COLUMNS, scoped(Resolution, await visible_resolutions(actor)), CODES["resolution"]))
    branches.append(QueryString(
        "SELECT {} FROM hits h JOIN task_report tr ON tr.id = h.ref JOIN {} t ON t.id = tr.task WHERE h.code = {}",
        COLUMNS, scoped(Task, await visible_tasks(actor)), CODES["report"]))
    if actor.role in KIND_ROLES["minutes"]:
        # The version the minutes page shows: the office the latest, the convenor the one sent to him
        # or her (minutes.views.page, minutes.services.visible_to).
        version = QueryString("v.submitted_at IS NOT NULL AND v.number = COALESCE(mi.submitted_version, mi.published_version)"
                              if actor.role == Role.CONVENOR else "v.number = mi.current_version")
        branches.append(QueryString(
            """SELECT {} FROM hits h JOIN minutes_version v ON v.id = h.ref JOIN {} mi ON mi.id = v.minutes
               WHERE h.code = {} AND {}""", COLUMNS, scoped(Minutes, await visible_minutes(actor)), CODES["minutes"], version))
    branches.append(QueryString("SELECT {} FROM hits h JOIN {} m ON m.id = h.ref WHERE h.code = {}",
                                COLUMNS, scoped(Meeting, await visible_meetings(actor)), CODES["meeting"]))
    return branches


# What a hit shows, per kind: ref, the page it links to, heading, context, label, time.
DETAILS = {
    "item": """SELECT a.id AS ref, a.id AS link, a.title AS heading, COALESCE(st.name, c.name) AS context, a.status AS label,
                      COALESCE(a.submitted_at, a.created_at) AS at
               FROM agenda_item a JOIN conference c ON c.id = a.conference LEFT JOIN street st ON st.id = a.street
               WHERE a.id IN ({})""",
    "resolution": """SELECT r.id AS ref, m.id AS link, a.title AS heading, m.title AS context, '' AS label, r.adopted_at AS at
                     FROM resolution r JOIN meeting m ON m.id = r.meeting JOIN agenda_item a ON a.id = r.item
                     WHERE r.id IN ({})""",
    "report": """SELECT tr.id AS ref, t.id AS link, u.name AS heading, r.text AS context, tr.kind AS label, tr.created_at AS at
                 FROM task_report tr JOIN task t ON t.id = tr.task JOIN resolution r ON r.id = t.resolution
                 JOIN member_unit u ON u.id = t.unit WHERE tr.id IN ({})""",
    "minutes": """SELECT v.id AS ref, m.id AS link, m.title AS heading, c.name AS context, mi.status AS label, v.created_at AS at
                  FROM minutes_version v JOIN minutes mi ON mi.id = v.minutes JOIN meeting m ON m.id = mi.meeting
                  JOIN conference c ON c.id = m.conference WHERE v.id IN ({})""",
    "meeting": """SELECT m.id AS ref, m.id AS link, m.title AS heading, c.name AS context, m.status AS label, m.starts_at AS at
                  FROM meeting m JOIN conference c ON c.id = m.conference WHERE m.id IN ({})""",
}


def _url(kind: str, link: int, ref: int) -> str:
    return {
        "item": f"/items/{link}", "resolution": f"/meetings/{link}#resolution-{ref}", "report": f"/tasks/{link}",
        "minutes": f"/meetings/{link}/minutes", "meeting": f"/meetings/{link}",
    }[kind]


MINUTES_STATUS_LABELS = {"draft": _("草稿"), "submitted": _("送审中"), "returned": _("退回修改"), "published": _("已印发")}


def _label(kind: str, value: str) -> str:
    labels = {"item": ITEM_STATUS_LABELS, "report": REPORT_LABELS, "minutes": MINUTES_STATUS_LABELS,
              "meeting": MEETING_STATUS_LABELS}.get(kind, {})
    return labels.get(value, "")


def segments(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_match) at every occurrence of any term (case-insensitive, the
    longest term first where two start at the same place). The pieces are plain text: the template
    escapes them and wraps the matches in <mark>."""
    lower = text.lower()
    ordered = sorted(terms, key=len, reverse=True)
    result: list[tuple[str, bool]] = []
    plain_from = i = 0
    while i < len(text):
        term = next((t for t in ordered if t and lower.startswith(t, i)), None)
        if term is None:
            i += 1
            continue
        if plain_from < i:
            result.append((text[plain_from:i], False))
        result.append((text[i:i + len(term)], True))
        i = plain_from = i + len(term)
    if plain_from < len(text):
        result.append((text[plain_from:], False))
    return result


def snippet(text: str, terms: list[str], width: int = SNIPPET) -> list[tuple[str, bool]]:
    """About `width` characters of `text` around its first match, on one line, as segments."""
    flat = " ".join(text.split())
    lower = flat.lower()
    found = [p for p in (lower.find(t) for t in terms) if p >= 0]
    first = min(found) if found else 0
    start = max(0, min(first - width // 4, len(flat) - width))
    piece = flat[start:start + width]
    parts = segments(piece, terms)
    if start > 0:
        parts.insert(0, ("…", False))
    if start + width < len(flat):
        parts.append(("…", False))
    return parts


async def search(actor: Actor, q: str, kind: str = "", page: int = 1, per_page: int = PER_PAGE) -> Results:
    """The actor's results for `q`: with no `kind`, the best TOP of every kind; with a kind, one
    page of that kind. Either way the number found of every kind (one statement)."""
    q = q.replace("\x00", "").strip()[:MAX_QUERY]
    terms = terms_of(q)
    kind = kind if kind in KINDS else ""
    page = min(max(page, 1), MAX_PAGE)
    if not terms:
        return Results(q=q, terms=[], kind=kind, groups=[], page=1, per_page=per_page)
    postgres = isinstance(engine(), PostgresEngine)
    ctes, hits_sql = _hits_sql(terms, postgres)
    if kind:
        first = (page - 1) * per_page
        window = QueryString("(x.code = {} AND x.n > {} AND x.n <= {}) OR x.n = 1", CODES[kind], first, first + per_page)
    else:
        window = QueryString("x.n <= {}", TOP)
    rows = await fetch(QueryString("""
        WITH {},
        found AS ({})
        SELECT * FROM (
            SELECT f.*, ROW_NUMBER() OVER (PARTITION BY f.code ORDER BY f.score DESC, f.ref DESC) AS n,
                   COUNT(*) OVER (PARTITION BY f.code) AS total
            FROM found f) x
        WHERE {}
        ORDER BY x.n""", joined([*ctes, QueryString("hits AS MATERIALIZED ({})", hits_sql)]),
        joined(await _branches(actor), " UNION ALL "), window))
    totals = {KIND_OF[int(r["code"])]: int(r["total"]) for r in rows}
    if kind and page > 1 and totals.get(kind) and (page - 1) * per_page >= totals[kind]:
        # Past the last page (an edited link): the last page instead.
        return await search(actor, q, kind, page_count(totals[kind], per_page), per_page)
    shown = [r for r in rows if not kind or (KIND_OF[int(r["code"])] == kind and r["n"] > (page - 1) * per_page)]
    groups = {k: Group(kind=k, label=label, total=totals.get(k, 0)) for k, label in KINDS.items()}
    for hit_kind, hit in await _hits(shown, terms):
        groups[hit_kind].hits.append(hit)
    return Results(q=q, terms=terms, kind=kind, groups=[g for g in groups.values() if g.total],
                   page=page, per_page=per_page)


async def _hits(rows: list[dict[str, Any]], terms: list[str]) -> list[tuple[str, Hit]]:
    """The shown rows with what they show: one query for their texts, one per kind for the rest."""
    if not rows:
        return []
    texts = {int(r["id"]): r for r in await fetch(
        "SELECT id, title, body FROM search_document WHERE id IN ({})", ids(r["doc"] for r in rows))}
    details: dict[tuple[str, int], dict[str, Any]] = {}
    for kind in KINDS:
        refs = [int(r["ref"]) for r in rows if KIND_OF[int(r["code"])] == kind]
        if refs:
            for found in await fetch(DETAILS[kind], ids(refs)):
                details[(kind, int(found["ref"]))] = found
    result = []
    for row in rows:
        kind, ref = KIND_OF[int(row["code"])], int(row["ref"])
        detail, text = details.get((kind, ref)), texts.get(int(row["doc"]))
        if detail is None or text is None:  # changed since the first query: left out
            continue
        body = text["body"] or (text["title"] if kind == "meeting" else "")
        result.append((kind, Hit(
            kind=kind, ref=ref, url=_url(kind, int(detail["link"]), ref), heading=segments(detail["heading"] or "", terms),
            snippet=snippet(body, terms), context=_short(detail["context"] or ""),
            label=_label(kind, detail["label"] or ""), at=as_datetime(detail["at"]), score=int(row["score"] or 0))))
    return result


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
