"""The installed `conference` command, run as a subprocess against a fresh SQLite database."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ROOT / ".venv" / "bin" / "conference"
if not COMMAND.exists():  # another virtualenv layout: the command sits beside this interpreter
    COMMAND = Path(sys.executable).parent / "conference"


class Cli:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "cli.sqlite3"
        self.env = {**os.environ, "DATABASE_URL": f"sqlite:///{self.path}", "SECRET_KEY": "cli-test-secret-0123456789",
                    "PYTHONIOENCODING": "utf-8"}
        self.env.pop("TEST_DATABASE", None)

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(COMMAND), *args], env={**self.env, **env}, capture_output=True, text=True,
                              timeout=120, check=False)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(sql, params).fetchall()

    def counts(self) -> dict[str, int]:
        names = [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {name: self.query(f'SELECT COUNT(*) FROM "{name}"')[0][0] for name in names}


@pytest.fixture(scope="module")
def cli() -> Iterator[Cli]:
    with tempfile.TemporaryDirectory(prefix="conference-cli-") as directory:
        yield Cli(Path(directory))


@pytest.fixture(scope="module")
def first_demo(cli: Cli) -> subprocess.CompletedProcess[str]:
    result = cli.run("migrate")
    assert result.returncode == 0, result.stderr
    return cli.run("demo")


@pytest.fixture(scope="module")
def accounts_cli(cli: Cli, first_demo) -> Iterator[Cli]:
    """A copy of the demo database for the commands that add accounts (createuser, token, serve): what
    they write never shows in the demo's own story, whichever test runs first."""
    with tempfile.TemporaryDirectory(prefix="conference-cli-") as directory:
        copy = Cli(Path(directory))
        with closing(sqlite3.connect(cli.path)) as source, closing(sqlite3.connect(copy.path)) as target:
            source.backup(target)
        yield copy


def test_migrate_creates_every_table(cli: Cli, first_demo):
    from conference.piccolo_app import APP_CONFIG

    tables = set(cli.counts())
    assert {t._meta.tablename for t in APP_CONFIG.table_classes} <= tables
    assert cli.query("SELECT COUNT(*) FROM migration")[0][0] >= 1
    again = cli.run("migrate")  # nothing left to do: still a success
    assert again.returncode == 0, again.stderr


def test_demo_twice_loads_once(cli: Cli, first_demo):
    assert first_demo.returncode == 0, first_demo.stderr
    assert first_demo.stdout.splitlines()[0] == "已载入演示数据。"
    assert "演示账号（密码均为 demo12345）：" in first_demo.stdout
    before = cli.counts()
    assert before["app_user"] >= 8 and before["conference"] >= 6 and before["member_unit"] >= 20

    second = cli.run("demo")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == "演示数据已存在，未重复载入。"
    assert cli.counts() == before  # not one row more, audit trail included


def test_demo_tells_a_true_story(cli: Cli, first_demo):
    """The demo on an empty database (issue 12 item 7): every state of every lifecycle, each record,
    audit event and outbox message dated on the story's calendar (before today, never the loading
    time), tasks assigned on their meeting's day, items submitted weeks apart and one carried over,
    distinct phones and a 党工委书记 for every street."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    assert first_demo.returncode == 0, first_demo.stderr
    tz = ZoneInfo("Asia/Shanghai")
    midnight = str(dt.datetime.combine(dt.datetime.now(tz).date(), dt.time(), tz).astimezone(dt.UTC))

    def values(sql: str) -> set[object]:
        return {r[0] for r in cli.query(sql)}

    assert cli.query("SELECT COUNT(*) FROM audit_event WHERE at >= ?", midnight) == [(0,)]
    assert cli.query("SELECT COUNT(*) FROM notification WHERE created_at >= ?", midnight) == [(0,)]
    assert cli.query("SELECT COUNT(*) FROM audit_event")[0][0] > 300
    assert values("SELECT status FROM agenda_item") == {"draft", "submitted", "accepted", "returned", "merged", "scheduled",
                                                         "discussed", "resolved", "deferred"}
    assert values("SELECT status FROM meeting") == {"draft", "notified", "held", "minutes_in_review", "minutes_published",
                                                     "cancelled"}
    assert values("SELECT status FROM task") == {"assigned", "acknowledged", "in_progress", "reported_done", "returned",
                                                  "closed", "cancelled"}
    assert values("SELECT extension_status FROM task") == {"", "requested", "approved", "declined"}
    assert values("SELECT rating FROM task") == {"", "satisfied", "basically_satisfied", "dissatisfied"}
    assert values("SELECT reopened FROM task") == {0, 1}
    assert values("SELECT status FROM minutes") == {"draft", "submitted", "returned", "published"}
    assert cli.query("SELECT COUNT(*) FROM minutes WHERE status = 'draft' AND published_version IS NOT NULL")[0][0] == 1  # correcting
    assert values("SELECT reply FROM invitation") >= {"pending", "attending", "leave", "delegated"}
    assert values("SELECT attendance FROM invitation WHERE attendance <> ''") == {"present", "leave", "absent"}
    assert values("SELECT status FROM special_meeting_request") == {"requested", "approved", "declined"}

    # Tasks assigned on their meeting's (local) day, their record in order, all before today.
    rows = cli.query("""SELECT t.assigned_at, m.starts_at, t.ack_due, t.acknowledged_at, t.reported_done_at, t.closed_at, t.rated_at
                        FROM task t JOIN resolution r ON r.id = t.resolution JOIN meeting m ON m.id = r.meeting""")
    for assigned, starts, ack_due, *later in rows:
        def local(text: str) -> dt.datetime:
            return dt.datetime.fromisoformat(text).astimezone(tz)
        assert local(assigned).date() == local(starts).date() and ack_due > local(assigned).date().isoformat()
        stamps = [local(assigned), *[local(v) for v in later if v]]
        assert stamps == sorted(stamps) and stamps[-1].date() < dt.datetime.now(tz).date()
    # Special meetings' tasks: some acknowledged, some not.
    special = cli.query("""SELECT t.acknowledged_at IS NOT NULL, COUNT(*) FROM task t JOIN resolution r ON r.id = t.resolution
                           JOIN meeting m ON m.id = r.meeting WHERE m.kind = 'special' GROUP BY 1""")
    assert {acked for acked, _n in special} == {0, 1}
    # Items: submitted weeks apart, each before the first meeting it was put on; one carried over.
    submitted = sorted(dt.date.fromisoformat(r[0][:10]) for r in cli.query(
        "SELECT submitted_at FROM agenda_item WHERE submitted_at IS NOT NULL"))
    assert len(set(submitted)) >= 10 and (submitted[-1] - submitted[0]).days > 60
    assert cli.query("""SELECT COUNT(*) FROM agenda_item a WHERE a.submitted_at >= (SELECT MIN(m.starts_at) FROM agenda_slot s
                        JOIN meeting m ON m.id = s.meeting WHERE s.item = a.id)""") == [(0,)]
    assert cli.query("SELECT COUNT(*) FROM agenda_item WHERE meetings_waited >= 1 AND status = 'scheduled'")[0][0] >= 1
    # Distinct phones; every street has its 党工委书记.
    for sql in ("SELECT liaison_phone FROM member_unit", "SELECT phone FROM person", "SELECT phone FROM street"):
        phones = [r[0] for r in cli.query(sql)]
        assert len(phones) == len(set(phones)), sql
    assert cli.query("SELECT COUNT(*) FROM street WHERE secretary_name = ''") == [(0,)]


def conference_id(cli: Cli, name: str) -> int:
    return cli.query("SELECT id FROM conference WHERE name = ?", name)[0][0]


def test_createuser_and_its_refusals(accounts_cli: Cli):
    district = conference_id(accounts_cli, "兰山区城市基层党建联席会议")
    result = accounts_cli.run("createuser", "cli_office", "--role", "office", "--conference", str(district), "--name", "命令行办公室",
                     "--password", "cli-pass-123")
    assert result.returncode == 0, result.stderr
    user_id = accounts_cli.query("SELECT id FROM app_user WHERE username = 'cli_office'")[0][0]
    assert result.stdout.strip() == f"已创建账号 cli_office（id {user_id}）。"
    row = accounts_cli.query("SELECT role, conference, display_name, password_hash FROM app_user WHERE id = ?", user_id)[0]
    assert row[:3] == ("office", district, "命令行办公室")
    assert row[3].startswith("$argon2id$")
    users = accounts_cli.counts()["app_user"]

    result = accounts_cli.run("createuser", "cli_office", "--role", "admin", "--password", "cli-pass-123")
    assert result.returncode == 2
    assert result.stderr.strip() == "username: 用户名已被使用。"
    result = accounts_cli.run("createuser", "cli_nolink", "--role", "unit", "--unit", "99999", "--password", "short")
    assert result.returncode == 2
    assert sorted(result.stderr.splitlines()) == ["password: 密码至少 8 位。", "unit: 所选对象不存在。"]
    assert accounts_cli.counts()["app_user"] == users


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(accounts_cli: Cli) -> Iterator[str]:
    """`conference serve` on the accounts' copy of the demo database, for requests with the tokens it printed."""
    port = free_port()
    process = subprocess.Popen([str(COMMAND), "serve", "--port", str(port)], env=accounts_cli.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a busy 2-core machine can take this long
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_token_prints_a_token_that_authenticates_and_replaces_the_old_one(accounts_cli: Cli, server: str):
    username = f"tok{uuid.uuid4().hex[:6]}"
    # (the password comes from the environment here, the other way `createuser` takes it)
    assert accounts_cli.run("createuser", username, "--role", "admin", CONFERENCE_PASSWORD="env-pass-123").returncode == 0

    tokens = []
    for _ in range(2):
        result = accounts_cli.run("token", username)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith("lx_")
        tokens.append(lines[0])
    old, new = tokens
    stored = accounts_cli.query("SELECT api_token_hash FROM app_user WHERE username = ?", username)[0][0]
    assert stored == hashlib.sha256(new.encode()).hexdigest()
    assert not accounts_cli.query("SELECT 1 FROM app_user WHERE api_token_hash IN (?, ?)", old, new)  # never in clear

    response = httpx.get(f"{server}/api/me", headers={"Authorization": f"Bearer {new}"})
    assert response.status_code == 200
    assert (response.json()["username"], response.json()["role"]) == (username, "admin")
    response = httpx.get(f"{server}/api/me", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401
    assert response.json()["status_code"] == 401


def test_token_for_an_unknown_account(cli: Cli, first_demo):
    result = cli.run("token", "nobody-here")
    assert result.returncode != 0
    assert result.stderr.strip() == "没有账号 nobody-here。"
    assert result.stdout == ""


def test_commands_on_an_unmigrated_database_say_what_to_do(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "REMINDER_INTERVAL": "0"}
    result = subprocess.run([str(COMMAND), "token", "admin"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "conference migrate" in result.stderr and "Traceback" not in result.stderr
