"""文号 (发文字号, GB/T 9704-2012 §7.2.4): the office's 代字, the year in hexagonal brackets 〔〕
(U+3014, U+3015) and a number that restarts at 1 each year: 兰联办〔2026〕6号.

Numbers come from the counter row of (conference, year, kind), raised by one UPDATE … RETURNING
inside the caller's transaction: on PostgreSQL the UPDATE locks the row, so a second allocation
waits for the first to commit and then counts on from what it wrote; on SQLite the write
transaction is exclusive. Nothing is read first and written later, so two publications at once on
two workers never get the same number. A number taken by a transaction that rolls back is given
again (the counter rolls back with it).

`kind` names a numbering series. The minutes and the 会议通知 share DOCUMENT: they carry the same
代字, so one series keeps each 文号 unique; a separate series (e.g. with the 代字 兰联办函) would
be another kind."""

from __future__ import annotations

from conference import db
from conference.documents.tables import DocumentCounter
from conference.registry.tables import Conference

DOCUMENT = "document"
LEFT, RIGHT = "\u3014", "\u3015"  # 〔 〕


def format_number(prefix: str, year: int, number: int) -> str:
    """兰联办, 2026, 6 → 兰联办〔2026〕6号 (no leading zeros, no 第; §7.2.4)."""
    return f"{prefix}{LEFT}{year}{RIGHT}{number}号"


async def allocate(conference_id: int, year: int, kind: str = DOCUMENT) -> int:
    """The next number of the conference's `kind` series in `year` (1 for the first), taken at once
    and for good (unless the surrounding transaction rolls back)."""
    async with db.atomic():
        # The counter row exists from the first allocation of the year on; the unique index on
        # (conference, year, kind) lets two first allocations at once create it only once.
        await DocumentCounter.raw(
            "INSERT INTO document_counter (conference, year, kind, last_number) VALUES ({}, {}, {}, 0) "
            "ON CONFLICT (conference, year, kind) DO NOTHING", conference_id, year, kind)
        rows = await DocumentCounter.raw(
            "UPDATE document_counter SET last_number = last_number + 1 "
            "WHERE conference = {} AND year = {} AND kind = {} RETURNING last_number", conference_id, year, kind)
    return int(rows[0]["last_number"])


async def prefix_of(conference_id: int) -> str:
    row = await Conference.select(Conference.doc_prefix).where(Conference.id == conference_id).first()
    return (row["doc_prefix"] if row else "").strip()


async def assign(conference_id: int, year: int, kind: str = DOCUMENT) -> str:
    """A new 文号 for a document of the conference, or "" when its office has no 代字 (then no
    number is used up). Call it inside the transaction that stores the 文号 on the document."""
    prefix = await prefix_of(conference_id)
    if not prefix:
        return ""
    return format_number(prefix, year, await allocate(conference_id, year, kind))
