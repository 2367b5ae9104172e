"""Piccolo's configuration module (PICCOLO_CONF points here).

`DB` is whatever engine `conference.db` holds now (a module-level __getattr__), so that swapping the
engine (conference.db.use_engine) is seen by Piccolo without the engine module importing this one."""

from typing import Any

from piccolo.conf.apps import AppRegistry

from conference import db

APP_REGISTRY = AppRegistry(apps=["conference.piccolo_app"])


def __getattr__(name: str) -> Any:
    if name == "DB":
        return db.engine()
    raise AttributeError(name)
