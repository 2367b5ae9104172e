"""`conference restore FILE`: checks an archive written by conference.backup.create (format version,
database kind, schema, known migration, safe file names, every member's SHA-256, the row counts)
and refuses a database that already holds data unless forced; then replaces the database and puts
the outbox files back. Reports the migrations still to apply."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import sqlite3
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conference.backup import postgres, sqlite
from conference.backup.common import FILES_PREFIX, FORMAT, FORMAT_VERSION, MANIFEST, BackupError, database_kind, known_migrations, workdir
from conference.i18n import gettext as _
from conference.settings import Settings, get_settings

_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    files: int
    pending_migrations: list[str]


def _open_archive(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise BackupError(_("备份文件不存在：{path}").format(path=path))
    try:
        return tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(_("{path} 不是本系统的备份文件（{error}）。").format(path=path, error=exc)) from exc


def read_manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        if handle is None:
            raise KeyError(MANIFEST)
        manifest = json.loads(handle.read().decode("utf-8"))
    except (KeyError, ValueError, tarfile.TarError) as exc:
        raise BackupError(_("{path} 不是本系统的备份文件：缺少有效的 manifest.json。").format(path=path)) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("{path} 不是本系统的备份文件。").format(path=path))
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(_("备份格式版本 {version} 不受支持（本程序支持到 {supported}），请先升级程序。").format(
            version=version, supported=FORMAT_VERSION))
    for key in ("database", "migration", "created_at", "database_file", "tables", "files"):
        if key not in manifest:
            raise BackupError(_("备份清单缺少字段 {key}。").format(key=key))
    return manifest


def _extract_checked(tar: tarfile.TarFile, name: str, sha256: str, target: Path) -> None:
    try:
        member = tar.getmember(name)
    except KeyError as exc:
        raise BackupError(_("备份文件不完整：缺少 {name}。").format(name=name)) from exc
    handle = tar.extractfile(member) if member.isfile() else None
    if handle is None:
        raise BackupError(_("备份文件不完整：缺少 {name}。").format(name=name))
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise BackupError(_("备份文件已损坏：{name} 的校验值不符。").format(name=name))


def describe(path: Path) -> dict[str, Any]:
    with _open_archive(path) as tar:
        return read_manifest(tar, path)


def restore(source: Path, *, force: bool = False, settings: Settings | None = None) -> RestoreResult:
    settings = settings or get_settings()
    source = source.resolve()
    kind = database_kind(settings)
    with _open_archive(source) as tar:
        manifest = read_manifest(tar, source)
        if manifest["database"] != kind:
            raise BackupError(_("备份来自 {source} 数据库，当前 DATABASE_URL 指向 {target} 数据库，不能恢复。").format(
                source=manifest["database"], target=kind))
        if kind == "postgresql" and manifest.get("schema") != postgres.pg_schema(settings.database_url):
            raise BackupError(_("备份来自模式 {source}，当前 DATABASE_URL 使用模式 {target}；请让 search_path 指向 {source} 后再恢复。").format(
                source=manifest.get("schema"), target=postgres.pg_schema(settings.database_url)))
        known = known_migrations()
        if manifest["migration"] not in known:
            raise BackupError(_("备份的数据库结构（迁移 {migration}）不是本程序所知的版本，请先把程序升级到备份时的版本。").format(
                migration=manifest["migration"]))
        files = manifest["files"]
        for entry in files:
            name = str(entry.get("name", ""))
            if not name.startswith(FILES_PREFIX) or not _SAFE_NAME.match(name.removeprefix(FILES_PREFIX)):
                raise BackupError(_("备份清单中的文件名不安全：{name}").format(name=name))

        if kind == "sqlite":
            nonempty = sqlite.nonempty_tables(settings.sqlite_path)
        else:
            nonempty = asyncio.run(postgres.nonempty_tables(settings.database_url))
        if nonempty and not force:
            raise BackupError(_("目标数据库不是空的（{tables} 等表中已有数据），已拒绝恢复。确认要用备份覆盖现有全部数据，请加 --force。").format(
                tables="、".join(nonempty[:3])))

        near = settings.sqlite_path.parent if kind == "sqlite" else settings.outbox_dir.parent
        with workdir(near) as work:
            database_file = manifest["database_file"]
            copy = work / ("database.sqlite3" if kind == "sqlite" else "database.pgdump")
            _extract_checked(tar, database_file["name"], database_file["sha256"], copy)
            staged = work / "files"
            staged.mkdir()
            for entry in files:
                _extract_checked(tar, entry["name"], entry["sha256"], staged / entry["name"].removeprefix(FILES_PREFIX))

            if kind == "sqlite":
                conn = sqlite3.connect(copy)
                try:
                    counts = sqlite.table_counts(conn)
                finally:
                    conn.close()
                if counts != manifest["tables"]:
                    raise BackupError(_("备份中的数据库与清单的行数不符，未恢复。"))
                sqlite.restore_database(copy, settings.sqlite_path)
            else:
                postgres.restore_database(settings.database_url, copy, work)
                counts = asyncio.run(postgres.table_counts(settings.database_url))
                if counts != manifest["tables"]:
                    raise BackupError(_("恢复后的行数与备份清单不符，请检查数据库。"))

            outbox = settings.outbox_dir
            if files:
                outbox.mkdir(parents=True, exist_ok=True)
            for entry in files:
                name = entry["name"].removeprefix(FILES_PREFIX)
                shutil.move(staged / name, outbox / name)
    pending = [m for m in known if m > manifest["migration"]]
    return RestoreResult(manifest=manifest, files=len(files), pending_migrations=pending)
