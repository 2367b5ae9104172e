"""A real IMAP server for tests: Debian's dovecot-imapd with a throw-away configuration on loopback.

The configuration lives in a temporary folder: one passwd-file user, Maildir storage in that folder,
IMAP on 127.0.0.1 and a free port, no TLS. Dovecot runs in the foreground (`dovecot -F`) as the
current user; its login and internal processes must not run as root, so under root (CI) they and
the mail user run as the unprivileged `dovenull` account the package creates, which then owns the
folder. Without dovecot installed (`make test` installs it) the tests that need it skip, and under
CI=true they fail."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "office"
PASSWORD = "imap-test-password"
PROCESSED = "Processed"


@dataclass(frozen=True)
class ImapServer:
    port: int
    user: str = USER
    password: str = PASSWORD

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Delivers a message into the mailbox as a mail server would (IMAP APPEND)."""
        client = self.connect()
        try:
            status, data = client.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", data
        finally:
            client.logout()

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        client = self.connect()
        try:
            status, _data = client.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _status, found = client.uid("SEARCH", "ALL")
            result = []
            for uid in (found[0] or b"").split():
                _status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                result += [bytes(p[1]) for p in parts if isinstance(p, tuple)]
            return result
        finally:
            client.logout()

    def empty(self) -> None:
        """Deletes every message in both folders, so each test starts with an empty mailbox."""
        client = self.connect()
        try:
            for folder in ("INBOX", PROCESSED):
                status, count = client.select(f'"{folder}"')
                if status != "OK" or int(count[0] or 0) == 0:
                    continue
                client.store("1:*", "+FLAGS", r"(\Deleted)")
                client.expunge()
        finally:
            client.logout()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accounts() -> tuple[str, str, int, int]:
    """(login/internal user, group, mail uid, mail gid) for the processes dovecot starts."""
    if os.geteuid() != 0:
        user = pwd.getpwuid(os.geteuid())
        return user.pw_name, grp.getgrgid(os.getegid()).gr_name, os.geteuid(), os.getegid()
    account = pwd.getpwnam("dovenull")
    return "dovenull", grp.getgrgid(account.pw_gid).gr_name, account.pw_uid, account.pw_gid


def _config(root: Path, port: int) -> str:
    user, group, uid, gid = _accounts()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{root / 'home'}\n")
    return f"""
base_dir = {root / 'run'}
state_dir = {root / 'state'}
log_path = {root / 'dovecot.log'}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
mail_location = maildir:{root / 'mail'}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root / 'passwd'}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root / 'passwd'}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


def _wait(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            client = imaplib.IMAP4("127.0.0.1", port, timeout=2)
        except OSError:
            time.sleep(0.1)
            continue
        client.logout()
        return
    raise RuntimeError("dovecot did not answer within 20 s")


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    if not Path(DOVECOT).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires dovecot-imapd (make test installs it)")
        pytest.skip("dovecot-imapd is not installed (apt-get install dovecot-imapd)")
    # Not under pytest's 0700 temporary folder: dovecot's auth process (an unprivileged account
    # under root) must read the passwd file.
    root = Path(tempfile.mkdtemp(prefix="conference-dovecot-"))
    root.chmod(0o755)
    for name in ("run", "state", "mail", "home"):
        (root / name).mkdir()
    port = _free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    _user, _group, uid, gid = _accounts()
    if os.geteuid() == 0:
        for name in ("mail", "home"):
            os.chown(root / name, uid, gid)
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        _wait(port, process, root / "dovecot.log")
        yield ImapServer(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
