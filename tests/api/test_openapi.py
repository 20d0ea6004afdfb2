"""The OpenAPI document is a complete reference: every field described with an example,
every operation with its problems, its security requirement and the headers it honours.

The document is walked as generated, so a new route or field that is not documented fails
here. Who may call what is checked against the authorization matrix, whose rules
``tests/security/test_authorization_matrix.py`` proves against the running app.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from liveblog.api.app import create_app
from liveblog.config import Settings
from tests.security.test_authorization_matrix import RULES

Operation = tuple[str, str, dict[str, Any]]
WRITES = {"post", "put", "patch", "delete"}
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def properties(name: str, schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of ``schema``, nested inline schemas included, as ``(dotted name, schema)``."""
    for key, value in schema.get("properties", {}).items():
        yield f"{name}.{key}", value
        yield from properties(f"{name}.{key}", value)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from properties(f"{name}[]", schema[key])
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from properties(name, option)


def test_every_schema_property_has_a_description_and_an_example(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert {"NewStory", "NewUpdate", "Correction", "Story", "Update", "Problem"} <= set(schemas)
    lacking = []
    for name, schema in schemas.items():
        for field, definition in properties(name, schema):
            if not definition.get("description"):
                lacking.append(f"{field}: no description")
            if "examples" not in definition and "example" not in definition:
                lacking.append(f"{field}: no example")
    assert not lacking, "\n".join(lacking)


def test_every_parameter_has_a_description_and_an_example(document: dict[str, Any]) -> None:
    lacking = []
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            label = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
            if not parameter.get("description"):
                lacking.append(f"{label}: no description")
            if not ("example" in parameter or "examples" in parameter or "examples" in parameter["schema"]):
                lacking.append(f"{label}: no example")
    assert not lacking, "\n".join(lacking)


def _roles(operation: dict[str, Any]) -> list[str] | None:
    """The roles ``operation`` needs; ``[]`` when it needs none but takes a token."""
    security = operation["security"]
    if security == [{}, {"bearer": []}]:
        return []
    assert len(security) == 1 and set(security[0]) == {"bearer"}, security
    return list(security[0]["bearer"])


def expected_problems(method: str, path: str, operation: dict[str, Any]) -> set[str]:
    """What each operation must declare, read off the rest of the document."""
    parameters = {p["name"] for p in operation.get("parameters", [])}
    roles = _roles(operation)
    expected = {"401"}  # every operation reads tokens: a bad one is 401 even on public reads
    if roles:
        expected.add("403")
    if "{" in path:
        expected.add("404")
    if method in WRITES:
        expected |= {"400", "409", "413", "422", "429"}
    if "If-Match" in parameters:
        expected.add("412")
    if parameters or "requestBody" in operation:
        expected.add("422")
    if path.endswith("/live"):
        expected |= {"400", "429"}
    return expected


def test_every_operation_declares_its_problems_as_problem_json(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in operations(document):
        label = f"{method.upper()} {path}"
        responses = operation["responses"]
        missing = expected_problems(method, path, operation) - set(responses)
        if missing:
            wrong.append(f"{label}: no {sorted(missing)}")
        for status, response in responses.items():
            if not status.startswith("4"):
                continue
            content = response.get("content", {})
            if set(content) != {"application/problem+json"}:
                wrong.append(f"{label} {status}: content types {sorted(content)}")
            elif content["application/problem+json"]["schema"] != {"$ref": PROBLEM_REF}:
                wrong.append(f"{label} {status}: not the Problem schema")
            elif content["application/problem+json"]["example"]["status"] != int(status):
                wrong.append(f"{label} {status}: the example has another status")
    assert not wrong, "\n".join(wrong)
    correction = document["paths"]["/api/v1/stories/{slug}/updates/{update_id}/corrections"]["post"]
    assert {"400", "401", "403", "404", "409", "412", "413", "422", "429"} <= set(correction["responses"])
    listing = document["paths"]["/api/v1/stories"]["get"]
    assert not {"403", "409", "412", "413"} & set(listing["responses"])


def test_the_bearer_scheme_and_each_operations_requirement_match_the_roles(document: dict[str, Any]) -> None:
    assert set(document["components"]["securitySchemes"]) == {"bearer"}
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer") and scheme["description"]
    needs = {
        "editor": ["admin", "editor"],
        "auditor": ["admin", "auditor"],
        "admin": ["admin"],
        "feed": ["admin", "auditor", "consumer"],
        "public": [],
        # The submission queue (issue 15): the role admits, the rules then refuse anyone
        # but a submission's own submitter its withdrawal.
        "submit": ["admin", "contributor", "editor"],
        "queue": ["admin", "auditor", "contributor", "editor"],
        "submitter": ["admin", "contributor", "editor"],
    }
    wrong = []
    for method, path, operation in operations(document):
        rule = RULES[(method.upper(), path)]
        if _roles(operation) != needs[rule]:
            wrong.append(f"{method.upper()} {path}: {operation['security']} for a {rule} route")
        who = f"**Who:** a bearer token of role {' or '.join(needs[rule])}."
        if rule != "public" and who not in operation["description"]:
            wrong.append(f"{method.upper()} {path}: the description does not say who may call it")
    assert not wrong, "\n".join(wrong)


def _header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}


def test_the_headers_each_operation_honours_are_documented(document: dict[str, Any]) -> None:
    wrong = []
    if_match = {
        ("patch", "/api/v1/stories/{slug}"),
        *(
            (method, f"/api/v1/stories/{{slug}}/updates/{{update_id}}/{action}")
            for method, action in (
                ("post", "corrections"),
                ("put", "verification"),
                ("put", "flags"),
                ("post", "retraction"),
                ("post", "redaction"),
            )
        ),
    }
    if_none_match = {("get", "/api/v1/stories/{slug}"), ("get", "/api/v1/stories/{slug}/updates/{update_id}")}
    for method, path, operation in operations(document):
        names = _header_names(operation)
        expected = set()
        if method in WRITES:
            expected.add("idempotency-key")
        if (method, path) in if_match:
            expected.add("if-match")
        if (method, path) in if_none_match:
            expected.add("if-none-match")
            if "304" not in operation["responses"]:
                wrong.append(f"{method.upper()} {path}: no 304")
        if path.endswith("/live") or path == "/api/v1/events":  # Server-Sent Events
            expected.add("last-event-id")
        if expected != names:
            wrong.append(f"{method.upper()} {path}: headers {sorted(names)}, expected {sorted(expected)}")
    assert not wrong, "\n".join(wrong)
