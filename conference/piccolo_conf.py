"""Piccolo's configuration module (PICCOLO_CONF points here)."""

from piccolo.conf.apps import AppRegistry

from conference.db import make_engine
from conference.settings import get_settings

DB = make_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["conference.piccolo_app"])
