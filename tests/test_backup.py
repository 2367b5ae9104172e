"""`conference backup` and `conference restore` through the installed command, on the suite's backend
(SQLite, or a schema of its own in PostgreSQL with TEST_DATABASE=postgres): back up a migrated
database with the demo data, a stored attachment and outbox files while a write is in flight, wipe,
restore, compare every table and file; refusals for a non-empty database and a bad manifest."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import dbsetup
from tests.test_cli import COMMAND

BLOB = bytes(range(256)) * 40  # every byte value, NUL included


class Target:
    """One database of the backend under test with its outbox directory, driven by the command."""

    def __init__(self, directory: Path, url: str) -> None:
        self.directory = directory
        self.url = url
        self.outbox = directory / "outbox"
        self.postgres = dbsetup.backend() == "postgres"
        self.env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "backup-test-secret-0123456789",
                    "MAIL_OUTBOX_DIR": str(self.outbox), "REMINDER_INTERVAL": "0", "MAIL_INTERVAL": "0",
                    "PYTHONIOENCODING": "utf-8"}
        self.env.pop("TEST_DATABASE", None)
        self.env.pop("SMTP_HOST", None)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(COMMAND), *args], env=self.env, capture_output=True, text=True, timeout=180,
                              check=False)

    @property
    def schema(self) -> str:
        return self.url.rsplit("search_path=", 1)[-1]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.postgres:
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return conn.execute(sql).fetchall()

        async def fetch() -> list[tuple[Any, ...]]:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                return [tuple(r) for r in await conn.fetch(sql)]
            finally:
                await conn.close()

        return asyncio.run(fetch())

    def execute(self, sql: str) -> None:
        if not self.postgres:
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                conn.execute(sql)
            return
        self.query(sql)

    def blob(self, data: bytes) -> str:
        return f"'\\x{data.hex()}'::bytea" if self.postgres else f"X'{data.hex()}'"

    def tables(self) -> list[str]:
        if self.postgres:
            sql = f"SELECT tablename FROM pg_tables WHERE schemaname = '{self.schema}' ORDER BY 1"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        return [r[0] for r in self.query(sql)]

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Row count and a digest of the content of every table."""
        result = {}
        for table in self.tables():
            rows = sorted(repr(row) for row in self.query(f'SELECT * FROM "{table}"'))
            result[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return result

    def files(self) -> dict[str, str]:
        if not self.outbox.is_dir():
            return {}
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.outbox.iterdir())}

    def wipe(self) -> None:
        """What a lost server leaves: no database, no files."""
        if self.postgres:
            asyncio.run(dbsetup.fresh_postgres_schema(self.schema))
        else:
            path = Path(self.url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self.outbox, ignore_errors=True)

    def with_open_write(self, sql: str, during: Any) -> Any:
        """Run `during()` while another connection holds an uncommitted write (then roll it back)."""
        if not self.postgres:
            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(sql)
                return during()
            finally:
                conn.execute("ROLLBACK")
                conn.close()

        async def go() -> Any:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                transaction = conn.transaction()
                await transaction.start()
                await conn.execute(sql)
                try:
                    return await asyncio.to_thread(during)
                finally:
                    await transaction.rollback()
            finally:
                await conn.close()

        return asyncio.run(go())


def _require_backend() -> None:
    if dbsetup.backend() != "postgres":
        return
    reason = asyncio.run(dbsetup.postgres_available())
    if reason is None and not shutil.which("pg_dump"):
        reason = "pg_dump not installed (postgresql-client)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI requires PostgreSQL and its client tools: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    _require_backend()
    with tempfile.TemporaryDirectory(prefix="conference-backup-") as directory:
        yield Path(directory)


def new_target(workdir: Path, name: str) -> Target:
    directory = workdir / name
    directory.mkdir()
    url = asyncio.run(dbsetup.fresh_database_url(f"bk{name}"))
    return Target(directory, url)


def drop(target: Target) -> None:
    if target.postgres:
        asyncio.run(dbsetup.drop_postgres_schema(target.url))


@pytest.fixture(scope="module")
def source(workdir: Path) -> Iterator[Target]:
    """A migrated database with the demo data, one extra attachment and the outbox written as files."""
    target = new_target(workdir, "src")
    for args in (("migrate",), ("demo",), ("send-mail",)):
        result = target.run(*args)
        assert result.returncode == 0, result.stderr
    target.execute(
        "INSERT INTO attachment (item, filename, content_type, size, sha256, data, uploaded_by, created_at) "
        f"SELECT id, '现场照片.bin', 'application/octet-stream', {len(BLOB)}, '{hashlib.sha256(BLOB).hexdigest()}', "
        f"{target.blob(BLOB)}, NULL, created_at FROM agenda_item ORDER BY id LIMIT 1")
    yield target
    drop(target)


@pytest.fixture(scope="module")
def archive(source: Target, workdir: Path) -> tuple[Path, dict[str, tuple[int, str]], dict[str, str]]:
    """The backup, taken while another connection holds an uncommitted change, and what it must hold."""
    expected, files = source.snapshot(), source.files()
    path = workdir / "backup.tar"
    result = source.with_open_write("UPDATE app_user SET display_name = 'uncommitted' WHERE username = 'admin'",
                                    lambda: source.run("backup", str(path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"已备份到 {path}")
    return path, expected, files


def test_backup_wipe_restore_gives_back_every_row_and_file(source: Target, archive):
    path, expected, files = archive
    assert expected["attachment"][0] >= 1 and expected["minutes_publication"][0] >= 1
    assert expected["task_attachment"][0] >= 1 and len(files) >= 1
    assert path.stat().st_mode & 0o077 == 0  # the copy of every account is readable by its owner only

    with tarfile.open(path) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[0] == "manifest.json"
    assert manifest["format"] == "conference-backup" and manifest["format_version"] == 1
    assert manifest["database"] == ("postgresql" if source.postgres else "sqlite")
    assert manifest["migration"] == source.query("SELECT MAX(name) FROM migration")[0][0]
    assert manifest["tables"] == {table: count for table, (count, _) in expected.items()}
    assert sorted(f["name"] for f in manifest["files"]) == sorted(f"files/outbox/{n}" for n in files)

    source.wipe()
    assert source.files() == {}
    result = source.run("restore", str(path))
    assert result.returncode == 0, result.stderr
    assert "行数与备份清单一致" in result.stdout
    assert source.snapshot() == expected  # the uncommitted change is not in it
    assert source.files() == files
    assert source.query("SELECT data FROM attachment WHERE filename = '现场照片.bin'")[0][0] == BLOB

    # The restored database takes new rows (sequences restored with the data).
    created = source.run("createuser", f"after{uuid.uuid4().hex[:6]}", "--role", "admin", "--password", "after-restore-1")
    assert created.returncode == 0, created.stderr


def test_restore_into_a_database_with_data_needs_force(source: Target, archive):
    path, expected, files = archive
    source.run("restore", "--force", str(path))  # back to the archived state whatever ran before
    source.execute("DELETE FROM attachment WHERE filename = '现场照片.bin'")
    changed = source.snapshot()

    refused = source.run("restore", str(path))
    assert refused.returncode != 0
    assert "目标数据库不是空的" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    assert source.snapshot() == changed  # untouched

    forced = source.run("restore", "--force", str(path))
    assert forced.returncode == 0, forced.stderr
    assert source.snapshot() == expected
    assert source.files() == files


def test_restore_into_a_migrated_but_empty_database(source: Target, archive):
    path, expected, files = archive
    source.wipe()
    assert source.run("migrate").returncode == 0  # tables and the migration record, but no data
    result = source.run("restore", str(path))
    assert result.returncode == 0, result.stderr
    assert source.snapshot() == expected
    assert source.files() == files


def rewrite(path: Path, out: Path, change: Any) -> Path:
    """A copy of the archive with its manifest changed by `change(manifest)` (or members dropped)."""
    with tarfile.open(path) as src, tarfile.open(out, "w") as dst:
        manifest = json.loads(src.extractfile("manifest.json").read())  # type: ignore[union-attr]
        change(manifest)
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        dst.addfile(info, io.BytesIO(data))
        for member in src.getmembers():
            if member.name != "manifest.json" and not manifest.get("_drop_" + member.name):
                dst.addfile(member, src.extractfile(member))
    return out


def test_restore_checks_the_archive_and_its_manifest(workdir: Path, archive):
    path, _, _ = archive
    target = new_target(workdir, "checks")

    def rewritten(out: str, change: Any) -> Path:
        def changed(manifest: dict[str, Any]) -> None:
            if target.postgres:  # aimed at this empty schema, so that only the change is wrong
                manifest["schema"] = target.schema
            change(manifest)

        return rewrite(path, workdir / out, changed)

    other = "sqlite" if target.postgres else "postgresql"
    database_member = "database.pgdump" if target.postgres else "database.sqlite3"
    try:
        not_tar = workdir / "not-a-backup.tar"
        not_tar.write_bytes(b"hello")
        cases = {
            "不是本系统的备份文件": not_tar,
            "不能恢复": rewritten("kind.tar", lambda m: m.update(database=other)),
            "备份格式版本 99 不受支持": rewritten("version.tar", lambda m: m.update(format_version=99)),
            "不是本程序所知的版本": rewritten("migration.tar",
                                       lambda m: m.update(migration="2099-01-01T00:00:00:000000")),
            "校验值不符": rewritten("sha.tar",
                               lambda m: m["database_file"].update(sha256="0" * 64)),
            "缺少 " + database_member: rewritten("missing.tar",
                                             lambda m: m.update({"_drop_" + database_member: True})),
            "文件名不安全": rewritten("unsafe.tar",
                                 lambda m: m["files"].append({"name": "files/outbox/../../x", "sha256": ""})),
            "备份文件不存在": workdir / "nowhere.tar",
        }
        for message, archive_path in cases.items():
            result = target.run("restore", str(archive_path))
            assert result.returncode != 0, message
            assert message in result.stderr, (message, result.stderr)
            assert "Traceback" not in result.stderr
        if target.postgres:  # pg_dump keeps schema names: the restore goes only into the backed-up schema
            result = target.run("restore", str(path))
            assert result.returncode != 0 and "备份来自模式" in result.stderr, result.stderr
        assert target.tables() == []  # nothing was written by any refusal
    finally:
        drop(target)


def test_backup_of_a_database_never_migrated(workdir: Path):
    target = new_target(workdir, "bare")
    try:
        result = target.run("backup", str(workdir / "bare.tar"))
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert not (workdir / "bare.tar").exists()
    finally:
        drop(target)
