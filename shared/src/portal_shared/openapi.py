"""What every service's OpenAPI 3.1 document has in common: the problem+json schema,
the response and body helpers, and the document around a service's own paths. Request
bodies come from the pydantic models themselves, so document and code cannot drift."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

JSON = "application/json"
PROBLEM = "application/problem+json"
REF = "#/components/schemas/{model}"
BEARER = [{"bearer": []}]
# What any endpoint taking a JSON body may answer (portal_shared.problems.parse_json_body).
BODY_ERRORS = (400, 413, 415, 422)

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "German, or English with Accept-Language: en"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code"],
                "properties": {"field": {"type": "string"}, "code": {"type": "string"}},
            },
        },
    },
}


def ref(model: str) -> dict[str, str]:
    return {"$ref": REF.format(model=model)}


def problems(described: Mapping[int, str], *statuses: int) -> dict[str, Any]:
    """problem+json answers for `statuses`, each with the service's description."""
    return {
        str(s): {"description": described.get(s, "Error"), "content": {PROBLEM: {"schema": ref("Problem")}}}
        for s in statuses
    }


def ok(
    status: int, schema_name: str | None, description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema_name is not None:
        answer["content"] = {JSON: {"schema": ref(schema_name)}}
    if headers:
        answer["headers"] = headers
    return {str(status): answer}


def body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": ref(model.__name__)}}}


def document(
    title: str,
    description: str,
    paths: dict[str, Any],
    answer_schemas: Mapping[str, Any],
    request_models: Iterable[type[BaseModel]],
) -> dict[str, Any]:
    """The whole document: `answer_schemas` written by hand, the request models' from
    pydantic (their nested models under their own names), Problem and bearer auth."""
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA, **answer_schemas}
    for model in request_models:
        schema = model.model_json_schema(ref_template=REF)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
