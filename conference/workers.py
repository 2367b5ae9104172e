"""CPU-heavy work (parsing an uploaded workbook, building a large ledger file) in worker processes.

A thread is not enough for this: a thread busy with Python code holds the interpreter lock, and
the event loop gets it back only at each switch interval, so every other request of the process
waits a few milliseconds at each step. Measured with tests/bench/heavy.py (60,000-task ledger
exports and imports running): /healthz p95 165 ms, max 1.25 s with threads. A process of its own
leaves the server's interpreter free.

The pool starts its processes with "spawn" (a fork of a process running an event loop and a
database pool would copy their state), on first use, and is shut down with the server. The
functions given to `run` must be module-level and take and return plain, picklable values.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

PROCESSES = 2  # the machines this runs on have 2 cores; heavy requests beyond this wait their turn

_pool: ProcessPoolExecutor | None = None


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=PROCESSES, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` in a worker process; exceptions it raises are raised here."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_get_pool(), functools.partial(function, *args, **kwargs))


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
