"""The OpenAPI document is complete (issue 15 item 1): every operation under /api in
/schema/openapi.json has a summary, a description and a tag, its success answer a schema with an
example, and its request body (where it has one) an example for each media type. An operation added
without them (conference.web.apikit.answers and body) fails here."""

from __future__ import annotations

from typing import Any

import msgspec

from conference.web.apikit import Page, example_of
from tests.conftest import make_client

METHODS = ("get", "post", "put", "patch", "delete")


async def openapi(app: Any) -> dict[str, Any]:
    async with make_client(app) as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items() if path.startswith("/api/")
            for method, op in item.items() if method in METHODS]


def has_example(media: dict[str, Any], components: dict[str, Any]) -> bool:
    """An example on the media type, or on its schema (Litestar puts a request body's there)."""
    schema = media.get("schema") or {}
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return bool(media.get("examples") or "example" in media or schema.get("examples") or "example" in schema)


async def test_every_api_operation_is_documented_with_examples(app):
    document = await openapi(app)
    components = document.get("components", {}).get("schemas", {})
    ops = operations(document)
    assert len(ops) > 80  # the whole API, not an empty document
    missing: list[str] = []
    for method, path, op in ops:
        where = f"{method} {path}"
        if not (op.get("summary") or "").strip():
            missing.append(f"{where}: summary")
        if not (op.get("description") or "").strip():
            missing.append(f"{where}: description")
        if not op.get("tags"):
            missing.append(f"{where}: tags")
        success = sorted(code for code in op.get("responses", {}) if code.startswith("2"))
        if not success:
            missing.append(f"{where}: success response")
        for code in success:
            content = op["responses"][code].get("content") or {}
            if code == "204":
                continue
            if not content:
                missing.append(f"{where}: {code} response schema")
            for media_type, media in content.items():
                if "schema" not in media:
                    missing.append(f"{where}: {code} {media_type} schema")
                if not has_example(media, components):
                    missing.append(f"{where}: {code} {media_type} example")
        request = op.get("requestBody")
        if request:
            for media_type, media in (request.get("content") or {}).items():
                if not has_example(media, components):
                    missing.append(f"{where}: request {media_type} example")
    assert not missing, "OpenAPI operations without their documentation:\n" + "\n".join(missing)


async def test_the_examples_fit_their_schemas(app):
    """Each JSON example names only properties its schema has."""
    document = await openapi(app)
    components = document.get("components", {}).get("schemas", {})

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    wrong = []
    for method, path, op in operations(document):
        medias = [(f"{code} answer", m) for code, r in op.get("responses", {}).items() if code.startswith("2")
                  for m in (r.get("content") or {}).values()]
        medias += [("request", m) for m in ((op.get("requestBody") or {}).get("content") or {}).values()]
        for what, media in medias:
            schema = resolve(media.get("schema") or {})
            if schema.get("type") != "object" or "properties" not in schema:
                continue
            for example in (media.get("examples") or {}).values():
                value = example.get("value")
                if not isinstance(value, dict):
                    continue
                if unknown := set(value) - set(schema["properties"]):
                    wrong.append(f"{method} {path} {what}: unknown {sorted(unknown)}")
    assert not wrong, "\n".join(wrong)


def test_example_of_fills_every_field_and_keeps_given_values():
    class Row(msgspec.Struct):
        id: int
        title: str
        tags: list[str]
        note: str | None = None

    page = example_of(Page[Row])
    assert set(page) == {"items", "total", "page", "per_page"}
    assert set(page["items"][0]) == {"id", "title", "tags", "note"}
    assert msgspec.convert(page, Page[Row]).items[0].title == "沂蒙路占道经营整治"
    assert example_of(Row, title="路灯损坏")["title"] == "路灯损坏"


async def test_page_components_are_named_after_their_items(app):
    """Page[MeetingRow] is the component MeetingPage (apikit.PageSchemas), as the per-entity page
    structs were named, never Litestar's `Page_conference.meetings.api_types.MeetingRow_`."""
    components = (await openapi(app))["components"]["schemas"]
    assert not [name for name in components if name.startswith("Page")]
    for name, item in [("MeetingPage", "MeetingRow"), ("UnitPage", "UnitOut"), ("TaskPage", "TaskRow")]:
        assert components[name]["title"] == name
        assert components[name]["required"] == ["items", "page", "per_page", "total"]
        assert components[name]["properties"]["items"]["items"] == {"$ref": f"#/components/schemas/{item}"}
