"""JSON API under /api/ (Bearer token). Filled in by conference/registry/api.py."""

from conference.registry.api import ROUTES as REGISTRY_ROUTES

ROUTES = [*REGISTRY_ROUTES]
