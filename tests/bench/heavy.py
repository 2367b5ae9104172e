"""Heavy work against a real server (`conference serve`, SQLite, one process): /healthz latency
while the largest ledger export and member-unit imports run, against /healthz alone in the same run.

Load: an admin downloads the task ledger as .xlsx and as CSV over and over (60,000 tasks,
BENCH_HEAVY_TASKS: the size of ledger that took 10 s in issue 9), while an office uploads, over and
over, a zip bomb (60 MB of styled empty rows in a 300 KB .xlsx, refused), a workbook just under the
unzipped-size cap (data then 20,000 styled empty rows) and a full 2,000-row list (created the first
time, reported row by row as existing units after that). A probe in a process of its own asks for
/healthz every 10 ms throughout. Reported: p50, p95 and max of /healthz with and without the load,
and how long each heavy request took.

Goal (issue 9): /healthz p95 under 50 ms under this load."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl

from tests.bench import supervision
from tests.bench.writes import _login, _prepare, _serve
from tests.browser import stop_server
from tests.xlsx_bomb import HEADER, styled_empty_rows_xlsx

TASKS = int(os.environ.get("BENCH_HEAVY_TASKS", "60000"))
BASELINE_SECONDS = float(os.environ.get("BENCH_HEAVY_BASELINE_SECONDS", "5"))
LOAD_SECONDS = float(os.environ.get("BENCH_HEAVY_SECONDS", "30"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _full_list() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    run = uuid.uuid4().hex[:6]
    for i in range(2000):
        sheet.append([f"压测导入单位{run}{i}", "其他", "", "职责" * 20, "张三", "0539-8123456", "a@example.gov.cn", "李四"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    if not ordered:
        return "no samples"
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"n={len(ordered):>5}  p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
            f"max {ordered[-1] * 1000:7.1f} ms")


def _probe_until(url: str, stop_file: str) -> list[float]:
    """/healthz every 10 ms until `stop_file` exists. Runs in a process of its own, so that the
    load generators of this process (receiving 5 MB files) cannot delay it and spoil the figures."""
    latencies = []
    with httpx.Client(base_url=url, timeout=60, trust_env=False) as client:
        while not os.path.exists(stop_file):
            started = time.perf_counter()
            response = client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            time.sleep(0.01)
    return latencies


async def _probe(pool: ProcessPoolExecutor, url: str, directory: Path, name: str, work: Awaitable[Any]) -> list[float]:
    stop_file = directory / f"stop-{name}"
    probe = asyncio.get_running_loop().run_in_executor(pool, _probe_until, url, str(stop_file))
    try:
        await work
    finally:
        stop_file.touch()
    return await probe


async def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="conference-bench-heavy-"))
    path = directory / "heavy.sqlite3"
    database_url = f"sqlite:///{path}"
    _prepare(database_url)
    supervision.TASKS = TASKS
    started = time.perf_counter()
    supervision.populate(path, dt.date.today(), ZoneInfo("Asia/Shanghai"))
    print(f"\n== heavy work: {TASKS:,} tasks loaded in {time.perf_counter() - started:.1f} s")
    server = _serve(database_url, 1, directory)
    try:
        admin = await _login(server.url, "admin")
        office = await _login(server.url, "office")
        uploads = {
            "import: zip bomb (refused)": styled_empty_rows_xlsx([HEADER, ["压测炸弹单位", "其他"]], 200_000),
            "import: 20,000 styled empty rows": styled_empty_rows_xlsx([HEADER, ["压测空行单位", "其他"]], 20_000),
        }
        uploads["import: 2,000-row list"] = _full_list()
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        # Baseline: the same probe, nothing else running.
        baseline = await _probe(pool, server.url, directory, "baseline", asyncio.sleep(BASELINE_SECONDS))

        timings: dict[str, list[tuple[float, int]]] = defaultdict(list)
        deadline = time.perf_counter() + LOAD_SECONDS

        async def timed(name: str, call: object) -> None:
            begun = time.perf_counter()
            response = await call  # type: ignore[misc]
            timings[name].append((time.perf_counter() - begun, response.status_code))

        async def exports() -> None:
            while time.perf_counter() < deadline:
                for suffix in ("xlsx", "csv"):
                    await timed(f"export: task ledger .{suffix}", admin.get(f"/supervision/ledger.{suffix}", params={"kind": "tasks"}))

        async def imports() -> None:
            while time.perf_counter() < deadline:
                for name, content in uploads.items():
                    form = {"conference": "", "_csrf_token": office.cookies.get("csrftoken", "")}
                    await timed(name, office.post("/registry/units/import", data=form,
                                                  files={"file": ("units.xlsx", content, XLSX)}))

        loaded = await _probe(pool, server.url, directory, "load", asyncio.gather(exports(), imports()))
        pool.shutdown()
        await admin.aclose()
        await office.aclose()
    finally:
        stop_server(server)
    print(f"/healthz alone ({BASELINE_SECONDS:.0f} s):       {_percentiles(baseline)}")
    print(f"/healthz under heavy work ({LOAD_SECONDS:.0f} s): {_percentiles(loaded)}   (goal: p95 < 50 ms)")
    for name, runs in timings.items():
        seconds = [s for s, _status in runs]
        statuses = sorted({status for _s, status in runs})
        print(f"  {name:<36} x{len(runs):<3} median {statistics.median(seconds):6.2f} s  max {max(seconds):6.2f} s  status {statuses}")
