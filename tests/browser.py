"""Browser-test helpers: the real server in a subprocess, and Debian's Chromium driven by Playwright.

A browser test module imports all five fixtures (pytest looks fixtures and the fixtures they
depend on up in the module's namespace; the functions have names of their own, so that test
parameters do not shadow the imports), marks itself `browser`, and is a plain (non-async) test
using Playwright's sync API:

    from tests.browser import (  # noqa: F401
        browser_fixture, chromium_fixture, live_server_fixture, page_fixture, seen_requests_fixture)

    pytestmark = pytest.mark.browser

    def test_something(page, live_server): ...

- `live_server` (module): `conference serve` runs as a subprocess of the venv's `conference` command
  on a free port, on the module's own copy of the suite's template (conftest's `template_url`, a
  SQLite file; on PostgreSQL runs `conference migrate` and `conference demo` fill a fresh SQLite
  file first); it is ready once /healthz answers. The tests of a module share it.
- `browser` (module): Chromium from /usr/bin/chromium (Playwright's own download is not used).
  Missing Chromium skips with the reason, except under CI=true where it fails. Module scope on
  purpose: while the sync API is alive it marks its own event loop as running in this thread, so it
  must be gone before pytest-asyncio runs the async tests of the next module on its session loop.
- `page` (function): a fresh context (tablet viewport 820x1180, zh-CN) with its own cookies. At
  teardown it fails the test when the browser asked any host other than 127.0.0.1 for anything
  (the app must work on an offline government network: no CDN, fonts or analytics), when a
  sub-resource (CSS, image, script) failed to load, or when a script raised an uncaught error.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]
HOST = "127.0.0.1"
TABLET = {"width": 820, "height": 1180}
STARTUP_TIMEOUT = 60.0  # seconds for /healthz to answer
COMMAND_TIMEOUT = 300  # seconds for `conference migrate` / `conference demo`


def conference_command() -> str:
    """The venv's `conference` script (beside the running interpreter, i.e. .venv/bin/conference)."""
    candidate = Path(sys.executable).parent / "conference"
    if candidate.exists():
        return str(candidate)
    fallback = ROOT / ".venv" / "bin" / "conference"
    if fallback.exists():
        return str(fallback)
    pytest.fail(f"`conference` command not found beside {sys.executable} nor in {fallback.parent}; run `make test`")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 2.0) -> int:
    """Status of a GET, ignoring any HTTP(S)_PROXY from the environment."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _server_env(database_url: str, base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "PICCOLO_CONF": "conference.piccolo_conf",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "browser-test-secret-key-0123456789",
        "BASE_URL": base_url,
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def start_server(directory: Path, database_url: str | None = None) -> LiveServer:
    """Serve the SQLite database `database_url`; without one, migrate and load the demo data into a
    fresh SQLite file in `directory` first."""
    command = conference_command()
    port = free_port()
    url = f"http://{HOST}:{port}"
    if database_url is None:
        database_url = f"sqlite:///{directory / 'conference.sqlite3'}"
        env = _server_env(database_url, url)
        _run([command, "migrate"], env, "conference migrate")
        _run([command, "demo"], env, "conference demo")
    env = _server_env(database_url, url)
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([command, "serve", "--host", HOST, "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(url=url, database_url=database_url, log_path=log_path, process=process)
    wait_until_healthy(server)
    return server


def wait_until_healthy(server: LiveServer) -> None:
    """Returns once /healthz answers 200; fails the test with the server's log if it exits or stays silent."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"`conference serve` exited with {server.process.returncode} before answering:\n{server.log_tail()}")
        try:
            if _get(f"{server.url}/healthz") == 200:
                return
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            stop_server(server)
            pytest.fail(f"{server.url}/healthz did not answer within {STARTUP_TIMEOUT:.0f} s:\n{server.log_tail()}")
        time.sleep(0.1)


def stop_server(server: LiveServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=15)


@pytest.fixture(name="live_server", scope="module")
def live_server_fixture(tmp_path_factory: pytest.TempPathFactory, template_url: str,
                        request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """The module's server on the module's copy of the template (a plain fixture: the async template
    is made, being session-scoped, before Playwright's event loop of the module starts)."""
    from tests import dbsetup

    copy = None
    if template_url.startswith("sqlite:///"):
        copy = dbsetup.copy_sqlite(template_url, "live_" + request.module.__name__.rsplit(".", 1)[-1])
    server = start_server(tmp_path_factory.mktemp("live-server"), copy)
    try:
        yield server
    finally:
        stop_server(server)
        if copy:
            dbsetup.remove_sqlite(copy)


@pytest.fixture(name="chromium", scope="session")
def chromium_fixture() -> Path:
    """Debian's Chromium; skipped with the reason when absent, except under CI=true."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium; `make system-test` does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            reason = f"the playwright package is missing ({exc}); pip install -e '.[dev]'"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI requires the browser tests to run: {reason}")
        pytest.skip(reason)
    return CHROMIUM


def launch(playwright: Any, executable: Path = CHROMIUM) -> Any:
    return playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(name="browser", scope="module")
def browser_fixture(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = launch(playwright, chromium)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class RequestLog:
    """What the page asked for and what went wrong, recorded by the `page` fixture."""

    urls: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # sub-resources that failed or answered >= 400
    page_errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        """Requests to any host other than the test server's (data:/blob: URLs stay in the browser)."""
        return [u for u in self.urls if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).hostname != HOST]


@pytest.fixture(name="seen_requests")
def seen_requests_fixture() -> RequestLog:
    return RequestLog()


@pytest.fixture(name="page")
def page_fixture(chromium: Path, live_server: LiveServer, browser: Any, seen_requests: RequestLog) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    context.on("request", lambda request: seen_requests.urls.append(request.url))

    def on_failed(request: Any) -> None:
        # A page left before it finished loading (the next click came first) is aborted by design:
        # only sub-resources (scripts, styles, images, fetches) must never fail.
        if request.resource_type == "document" and "ERR_ABORTED" in str(request.failure):
            return
        seen_requests.failed.append(f"{request.url}: {request.failure}")

    context.on("requestfailed", on_failed)

    def on_response(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            seen_requests.failed.append(f"{response.url}: HTTP {response.status}")

    context.on("response", on_response)
    tab = context.new_page()
    tab.on("pageerror", lambda error: seen_requests.page_errors.append(str(error)))

    def on_console(message: Any) -> None:
        # Content-Security-Policy violations (an inline script, style or handler the policy
        # refused) are console errors, not exceptions: they fail the test too.
        if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text):
            seen_requests.page_errors.append(f"CSP: {message.text}")

    tab.on("console", on_console)
    try:
        yield tab
    finally:
        context.close()
    assert not seen_requests.foreign(), f"the browser contacted hosts other than {HOST}: {seen_requests.foreign()}"
    assert not seen_requests.failed, f"sub-resources failed to load: {seen_requests.failed}"
    assert not seen_requests.page_errors, f"uncaught script errors: {seen_requests.page_errors}"


def horizontal_overflow(tab: Any) -> tuple[int, int]:
    """(scrollWidth, clientWidth) of the document: scrollWidth > clientWidth means a horizontal scrollbar."""
    widths = tab.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    return int(widths[0]), int(widths[1])


def assert_fits_width(tab: Any) -> None:
    scroll_width, client_width = horizontal_overflow(tab)
    assert scroll_width <= client_width, f"{tab.url} scrolls sideways at {client_width}px: content is {scroll_width}px wide"


def log_in(tab: Any, username: str) -> None:
    """Through the log-in form, as a person would."""
    from playwright.sync_api import expect

    from conference.demo import DEMO_PASSWORD

    tab.goto("/login")
    expect(tab.get_by_role("heading", level=1)).to_have_text("登录")
    tab.get_by_label("用户名", exact=True).fill(username)
    tab.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    tab.get_by_role("button", name="登录").click()
    expect(tab.get_by_role("button", name="退出")).to_be_visible()


def log_out(tab: Any) -> None:
    from playwright.sync_api import expect

    tab.get_by_role("button", name="退出").click()
    expect(tab.get_by_role("status")).to_have_text("您已退出登录。")
    expect(tab.get_by_role("button", name="退出")).to_have_count(0)


def open_nav(tab: Any, group: str, link: str) -> None:
    """Follow a link of the main navigation as a person would: on a phone the 菜单 button first, on
    a wide screen the group's drop-down (templates/_nav.html), then the link."""
    import re

    nav = tab.get_by_role("navigation", name="主导航")
    target = nav.get_by_role("link", name=link, exact=True)
    menu_button = nav.locator("summary.nav-menu-button")
    if not target.is_visible() and menu_button.is_visible():
        menu_button.click()
    if not target.is_visible():
        nav.locator("details.nav-group > summary").filter(has_text=re.compile(f"^{re.escape(group)}$")).click()
    target.click()
