"""A schema-driven fuzz run over every operation of the JSON API (issue 15 item 1): the OpenAPI
document at /schema/openapi.json is walked, and each operation is called with values that hypothesis
draws from its own schema (path, query and header parameters, JSON or multipart bodies) — mostly
well-typed, sometimes not — as several roles. No answer may be a 5xx, and every error answer has the
one error shape. Bounded (a few examples per operation), so it runs in well under two minutes.

Record ids are drawn far beyond the demo data (and 0, negatives, text): the run exercises parsing,
validation, scope and state checks without changing records that other tests rely on. Writes that
pass validation may create records with random names, which no other test looks for."""

from __future__ import annotations

import datetime as dt
import json
import string
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests import test_api

api = test_api.api  # clients with a fresh API token per demo account

ROLES = ("office", "unit", "street", "convenor")  # not admin: nothing here may edit the shared demo calendar
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
BIG_ID = st.integers(min_value=1_000_000, max_value=2**31 - 1)
ODD_ID = st.sampled_from([0, -1, 2**31, 2**63, "abc", "1.5", ""])


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def from_schema(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that fit `schema` (JSON Schema as Litestar writes it), bounded in size and depth."""
    schema = resolve(schema, components)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of(*(from_schema(s, components, depth + 1) for s in schema[key]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*(from_schema({**schema, "type": k}, components, depth + 1) for k in kind))
    if kind == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        return st.one_of(st.integers(min_value=low, max_value=high), BIG_ID)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "string":
        if schema.get("format") == "date":
            return st.dates().map(lambda d: d.isoformat())
        if schema.get("format") == "date-time":
            return st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat())
        if schema.get("format") == "binary":
            return st.binary(max_size=64)
        return TEXT
    if kind == "array" or "items" in schema:
        if depth > 3:
            return st.just([])
        return st.lists(from_schema(schema.get("items", {}), components, depth + 1), max_size=3)
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return st.just({})
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(v, components, depth + 1) for k, v in properties.items() if k in required},
            optional={k: from_schema(v, components, depth + 1) for k, v in properties.items() if k not in required})
    return st.one_of(TEXT, st.integers(), st.none(), st.booleans())


def anything() -> st.SearchStrategy[Any]:
    """Ill-typed input: what a broken client might send instead."""
    return st.one_of(TEXT, st.integers(), st.none(), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(string.ascii_lowercase, max_size=8), st.integers(), max_size=2))


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete") and path.startswith("/api"):
                found.append((method, path, operation))
    return found


async def call(client: httpx.AsyncClient, method: str, path: str, operation: dict[str, Any], components: dict[str, Any],
               data: st.DataObject) -> httpx.Response:
    url, params, headers = path, {}, {}
    for parameter in operation.get("parameters", []):
        parameter = resolve(parameter, components)
        name, where, schema = parameter["name"], parameter["in"], parameter.get("schema", {})
        if where == "path":
            value = data.draw(st.one_of(BIG_ID, ODD_ID) if "integer" in json.dumps(schema) else TEXT.filter(bool))
            url = url.replace("{" + name + "}", str(value) or "x")
        elif where == "query" and data.draw(st.booleans()):
            value = data.draw(st.one_of(from_schema(schema, components), anything()) if data.draw(st.booleans())
                              else from_schema(schema, components))
            if value is not None:
                params[name] = json.dumps(value) if isinstance(value, (dict, list)) else str(value).lower() \
                    if isinstance(value, bool) else str(value)
        elif where == "header" and data.draw(st.booleans()):
            headers[name] = data.draw(st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=20))
    body = operation.get("requestBody", {}).get("content", {})
    kwargs: dict[str, Any] = {}
    if "application/json" in body:
        schema = body["application/json"].get("schema", {})
        kwargs["json"] = data.draw(from_schema(schema, components) if data.draw(st.integers(0, 3)) else anything())
    elif "multipart/form-data" in body:
        schema = resolve(body["multipart/form-data"].get("schema", {}), components)
        fields = data.draw(from_schema(schema, components))
        kwargs["files"] = [(k, (None, str(v))) for k, v in (fields if isinstance(fields, dict) else {}).items() if not isinstance(v, (bytes, list))]
        kwargs["files"].append(("files", ("a.txt", data.draw(st.binary(max_size=32)), "text/plain")))
    return await client.request(method.upper(), url, params=params, headers=headers, **kwargs)


@pytest.fixture
async def document(api: Any) -> dict[str, Any]:
    response = await (await api("office")).get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_document_is_complete(document):
    """Every operation has a summary, documents the 401 answer and types its parameters."""
    ops = operations(document)
    assert len(ops) > 60
    for method, path, operation in ops:
        assert operation.get("summary"), (method, path)
        assert "401" in operation.get("responses", {}), (method, path)
        for parameter in operation.get("parameters", []):
            assert parameter.get("schema"), (method, path, parameter)
    assert "Idempotency-Key" in json.dumps(document["paths"]["/api/intake/items"])


@settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=[Phase.generate],  # no shrinking: the report names the request
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
async def test_no_operation_answers_5xx(api, document, data):
    components = document.get("components", {}).get("schemas", {})
    failures = []
    for method, path, operation in operations(document):
        client = await api(data.draw(st.sampled_from(ROLES)))
        response = await call(client, method, path, operation, components, data)
        if response.status_code >= 500:
            failures.append(f"{method.upper()} {response.request.url} -> {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            if not (isinstance(body, dict) and isinstance(body.get("detail"), str) and "status_code" in body):
                failures.append(f"{method.upper()} {path}: not the error shape: {response.text[:200]}")
    assert not failures, "\n".join(failures)
