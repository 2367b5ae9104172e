"""What taking and restoring a backup share: the archive's format (member names, manifest version),
the tables `conference migrate` fills by itself, the operator-facing error, checksums, the migration
ids this code ships, and a private working directory."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conference.settings import ROOT, Settings

FORMAT = "conference-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
FILES_PREFIX = "files/outbox/"
# Tables a plain `conference migrate` fills: Piccolo's table of applied migrations and the holiday
# calendar seeded from chinese-calendar. A database holding only these was never used and counts
# as empty (the restore replaces them like every other table).
MIGRATION_TABLE = "migration"
FILLED_BY_MIGRATE = {MIGRATION_TABLE, "holiday_day", "holiday_calendar"}
# The search index (conference.search): derived from the other tables by triggers; SQLite's FTS5
# tables keep their own configuration rows even when nothing is indexed.
SEARCH_INDEX_PREFIX = "search_"


def filled_by_migrate(table: str) -> bool:
    return table in FILLED_BY_MIGRATE or table.startswith(SEARCH_INDEX_PREFIX)


class BackupError(Exception):
    """A refusal or failure with a message for the operator."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def known_migrations() -> list[str]:
    """IDs of the migrations this code ships, oldest first (the Piccolo app's migrations folder, read
    without importing the app)."""
    ids = []
    for path in (ROOT / "migrations").glob("*.py"):
        match = re.search(r'^ID = "([^"]+)"', path.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            ids.append(match.group(1))
    return sorted(ids)


def database_kind(settings: Settings) -> str:
    return "postgresql" if settings.is_postgres else "sqlite"


def outbox_files(settings: Settings) -> list[Path]:
    directory = settings.outbox_dir
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == ".eml" and not p.name.startswith("."))


@contextmanager
def workdir(near: Path) -> Iterator[Path]:
    """A private temporary directory (mode 0700), beside `near` when possible so that large copies
    stay on the same disk."""
    try:
        near.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix=".conference-backup-", dir=near))
    except OSError:
        directory = Path(tempfile.mkdtemp(prefix="conference-backup-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
