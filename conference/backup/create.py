"""`conference backup FILE`: writes one .tar archive holding a consistent copy of the database
(conference.backup.sqlite / .postgres) and the .eml files of the outbox directory, with the
manifest first (format and version, database kind, schema, last migration, time, row count of
every table, SHA-256 of every member). The archive appears atomically and is readable by its owner only."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from conference.backup import postgres, sqlite
from conference.backup.common import (
    FILES_PREFIX,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PG_MEMBER,
    SQLITE_MEMBER,
    BackupError,
    database_kind,
    outbox_files,
    sha256_file,
    workdir,
)
from conference.i18n import gettext as _
from conference.settings import Settings, get_settings


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mtime = int(path.stat().st_mtime)
    info.mode = 0o600
    with path.open("rb") as f:
        tar.addfile(info, f)


def backup(destination: Path, settings: Settings | None = None) -> dict[str, Any]:
    """Write the archive to `destination` (atomically: a temporary file renamed at the end)."""
    settings = settings or get_settings()
    destination = destination.resolve()
    if destination.is_dir():
        raise BackupError(_("{path} 是一个目录，请给出备份文件名。").format(path=destination))
    destination.parent.mkdir(parents=True, exist_ok=True)
    created = dt.datetime.now(dt.UTC)
    kind = database_kind(settings)
    with workdir(destination.parent) as work:
        schema: str | None = None
        if kind == "sqlite":
            member, copy = SQLITE_MEMBER, work / SQLITE_MEMBER
            counts, migration = sqlite.copy_database(settings.sqlite_path, copy)
        else:
            member, copy = PG_MEMBER, work / PG_MEMBER
            counts, migration, schema = asyncio.run(postgres.copy_database(settings.database_url, copy))
        if migration is None:
            raise BackupError(_("数据库尚未建表，请先运行：conference migrate"))
        files = outbox_files(settings)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "database": kind,
            "schema": schema,
            "migration": migration,
            "created_at": created.isoformat(timespec="seconds"),
            "database_file": {"name": member, "sha256": sha256_file(copy), "size": copy.stat().st_size},
            "tables": counts,
            "files": [{"name": FILES_PREFIX + p.name, "sha256": sha256_file(p), "size": p.stat().st_size}
                      for p in files],
        }
        fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
                _add_bytes(tar, MANIFEST, text, created.timestamp())
                _add_file(tar, member, copy)
                for entry, path in zip(manifest["files"], files, strict=True):
                    _add_file(tar, entry["name"], path)
            tmp.chmod(0o600)  # it holds every account's data: readable by the owner only
            os.replace(tmp, destination)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return manifest
