"""Secret tokens never reach the access log (ASVS 7.1.1): the reply link /r/<token> and the feed
address /feeds/<token>.ics are written with the token masked. Installed on uvicorn's access logger
in every server process (conference.app.create_app)."""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"(/r/|/feeds/)[^/?#\s\"]+?(\.ics)?(?=[/?#\s\"]|$)")
ACCESS_LOGGER = "uvicorn.access"


def mask(text: str) -> str:
    return TOKEN_PATH.sub(lambda m: f"{m.group(1)}***{m.group(2) or ''}", text)


class TokenMask(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, TokenMask) for f in logger.filters):
        logger.addFilter(TokenMask())
