"""The news site's OpenAPI document: valid OpenAPI 3.1, with its JSON API in it."""

from __future__ import annotations

from typing import Any

from newssite import Site
from openapi_spec_validator import validate

from kettle.openapi import openapi_of


def test_the_document_validates_and_describes_the_api(sqlite_site: Site) -> None:
    doc: dict[str, Any] = openapi_of(sqlite_site.app).document()
    validate(doc)  # type: ignore[arg-type]
    api = {path: item for path, item in doc["paths"].items() if path.startswith("/api/")}
    assert api, sorted(doc["paths"])
    operations = [op for item in api.values() for op in item.values()]
    # Every operation of the API says what it answers and has an id of its own.
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert all("200" in op["responses"] or "204" in op["responses"] for op in operations)
