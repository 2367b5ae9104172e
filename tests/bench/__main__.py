"""Runs every benchmark: `python -m tests.bench [name ...]`."""

from __future__ import annotations

import asyncio
import sys

from tests.bench import feeds, heavy, meetings, minutes, pages, search, supervision, supervision_pg, writes

BENCHMARKS = {"meetings": meetings.main, "supervision": supervision.main, "minutes": minutes.main,
              "feeds": feeds.main, "writes": writes.main, "heavy": heavy.main,
              "search": search.main, "supervision-pg": supervision_pg.main, "pages": pages.main}


def main() -> None:
    names = sys.argv[1:] or list(BENCHMARKS)
    for name in names:
        asyncio.run(BENCHMARKS[name]())


if __name__ == "__main__":
    main()
