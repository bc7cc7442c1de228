"""The OpenAPI 3.1 document of the FAQ API, built from the request models themselves so
the two cannot drift apart. CI runs schemathesis against it (tests/integration)."""

from __future__ import annotations

from functools import cache
from typing import Any

from portal_faq import schemas
from portal_faq.domain.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_LENGTH
from portal_shared.openapi import BEARER, BODY_ERRORS, body, document, ok, problems, ref

# The paths routes.py serves (it takes them from here); a test checks every route is
# described.
PREFIX = "/api/v1/faq"
CONTACT_PATH = "/api/v1/contact"

_language = {
    "type": "string", "enum": ["de", "en"],
    "description": "The language of the text: `en` only where a translation exists",
}
_html = {"type": "string", "description": "Safe to put into a page as it is"}
_timestamp = {"type": "string", "format": "date-time"}
_category_ref = {
    "type": "object",
    "required": ["slug", "title"],
    "properties": {"slug": {"type": "string"}, "title": {"type": "string"}},
}
_listed_entry = {
    "type": "object",
    "required": ["slug", "question", "answer_html", "answer_markdown", "position", "updated_at", "language"],
    "properties": {
        "slug": {"type": "string"},
        "question": {"type": "string"},
        "answer_html": _html,
        "answer_markdown": {"type": "string"},
        "position": {"type": "integer"},
        "updated_at": _timestamp,
        "language": _language,
    },
}
_entry = {
    "type": "object",
    "required": [*_listed_entry["required"], "category"],
    "properties": {**_listed_entry["properties"], "category": _category_ref},
}
_faq = {
    "type": "object",
    "required": ["language", "categories"],
    "properties": {
        "language": _language,
        "categories": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["slug", "title", "position", "entries"],
                "properties": {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "position": {"type": "integer"},
                    "entries": {"type": "array", "items": ref("ListedEntry")},
                },
            },
        },
    },
}
_category = {
    "type": "object",
    "required": ["slug", "title", "position", "updated_at", "language"],
    "properties": {
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "position": {"type": "integer"},
        "updated_at": _timestamp,
        "language": _language,
    },
}
_search_results = {
    "type": "object",
    "required": ["language", "results"],
    "properties": {
        "language": _language,
        "results": {
            "type": "array",
            "description": "Best match first",
            "items": {
                "type": "object",
                "required": ["slug", "question", "question_html", "snippet_html", "category", "language"],
                "properties": {
                    "slug": {"type": "string"},
                    "question": {"type": "string"},
                    "question_html": {**_html, "description": "The question; matches in <mark>"},
                    "snippet_html": {**_html, "description": "Parts of the answer; matches in <mark>"},
                    "category": _category_ref,
                    "language": _language,
                },
            },
        },
    },
}
_contact_accepted = {
    "type": "object",
    "required": ["status", "id"],
    "properties": {
        "status": {"const": "accepted"},
        "id": {"type": "string", "format": "uuid", "description": "The case number"},
    },
}

_header = {"schema": {"type": "string"}}
PUBLIC_HEADERS = {
    "ETag": {**_header, "description": "Send it as If-None-Match to get 304 while unchanged"},
    "Cache-Control": _header,
    "Vary": _header,
    "Content-Language": _header,
}
WRITTEN_HEADERS = {
    "ETag": {**_header, "description": "Send it as If-Match with the next change"},
    "Location": _header,
}


def _problems(*statuses: int) -> dict[str, Any]:
    described = {
        400: "Malformed body",
        401: "Not authenticated (WWW-Authenticate: Bearer)",
        403: "Not a faq_editor",
        404: "Not found",
        409: "Slug or position taken, or category not empty",
        412: "Changed since it was read (If-Match does not match)",
        413: "Body too large",
        415: "Body is not application/json",
        422: "Invalid input",
        428: "If-Match missing",
        429: "Too many attempts (see Retry-After)",
        503: "The auth service's keys or session check are unavailable (see Retry-After)",
    }
    return problems(described, *statuses)


def _not_modified() -> dict[str, Any]:
    return {"304": {"description": "Not modified (If-None-Match matched)", "headers": PUBLIC_HEADERS}}


SLUG = {
    "name": "slug", "in": "path", "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,79}$"},
}
READ_PARAMETERS = [
    {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "`de` or `en`; wins over Accept-Language. German by default"},
    {"name": "Accept-Language", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
]
IF_MATCH = {
    "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "The ETag of the version you read; without it the change is refused (428)",
}
DELETE_IF_MATCH = {
    **IF_MATCH,
    "description": "Optional: with the ETag you read, the deletion is refused (412) if the content changed since",
}
EDITOR_ERRORS = (401, 403, 503)


def _operations() -> dict[str, dict[str, Any]]:
    p = PREFIX
    return {
        p: {"get": {
            "summary": "The whole FAQ: categories and their entries, in reading order",
            "parameters": READ_PARAMETERS,
            "responses": {**ok(200, "Faq", "The FAQ", PUBLIC_HEADERS), **_not_modified()},
        }},
        f"{p}/search": {"get": {
            "summary": "Search questions and answers (German and English text search, typos forgiven)",
            "parameters": [
                {"name": "q", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
                *READ_PARAMETERS,
            ],
            "responses": {
                **ok(200, "SearchResults", "Results", PUBLIC_HEADERS), **_not_modified(),
                **_problems(422, 429),
            },
        }},
        f"{p}/entries": {"post": {
            "summary": "Add an entry", "security": BEARER,
            "requestBody": body(schemas.NewEntryBody),
            "responses": {
                **ok(201, "Entry", "Created", WRITTEN_HEADERS),
                **_problems(*BODY_ERRORS, *EDITOR_ERRORS, 404, 409),
            },
        }},
        f"{p}/entries/{{slug}}": {
            "parameters": [SLUG],
            "get": {
                "summary": "One entry with its category",
                "parameters": READ_PARAMETERS,
                "responses": {
                    **ok(200, "Entry", "The entry", PUBLIC_HEADERS), **_not_modified(), **_problems(404),
                },
            },
            "put": {
                "summary": "Change an entry (its slug stays)", "security": BEARER,
                "parameters": [IF_MATCH],
                "requestBody": body(schemas.EntryBody),
                "responses": {
                    **ok(200, "Entry", "Changed", WRITTEN_HEADERS),
                    **_problems(*BODY_ERRORS, *EDITOR_ERRORS, 404, 409, 412, 428),
                },
            },
            "delete": {
                "summary": "Delete an entry", "security": BEARER,
                "parameters": [DELETE_IF_MATCH],
                "responses": {
                    **ok(204, None, "Deleted"),
                    **_problems(*EDITOR_ERRORS, 404, 412),
                },
            },
        },
        f"{p}/categories": {"post": {
            "summary": "Add a category", "security": BEARER,
            "requestBody": body(schemas.NewCategoryBody),
            "responses": {
                **ok(201, "Category", "Created", WRITTEN_HEADERS),
                **_problems(*BODY_ERRORS, *EDITOR_ERRORS, 404, 409),
            },
        }},
        f"{p}/categories/{{slug}}": {
            "parameters": [SLUG],
            "get": {
                "summary": "One category",
                "parameters": READ_PARAMETERS,
                "responses": {
                    **ok(200, "Category", "The category", PUBLIC_HEADERS), **_not_modified(),
                    **_problems(404),
                },
            },
            "put": {
                "summary": "Change a category (its slug stays)", "security": BEARER,
                "parameters": [IF_MATCH],
                "requestBody": body(schemas.CategoryBody),
                "responses": {
                    **ok(200, "Category", "Changed", WRITTEN_HEADERS),
                    **_problems(*BODY_ERRORS, *EDITOR_ERRORS, 404, 409, 412, 428),
                },
            },
            "delete": {
                "summary": "Delete an empty category", "security": BEARER,
                "parameters": [DELETE_IF_MATCH],
                "responses": {
                    **ok(204, None, "Deleted"),
                    **_problems(*EDITOR_ERRORS, 404, 409, 412),
                },
            },
        },
        CONTACT_PATH: {"post": {
            "summary": "Send the contact form: support gets it by mail, the sender a confirmation",
            "parameters": [
                {"name": "Accept-Language", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "The confirmation's language when `locale` is not given"},
            ],
            "requestBody": body(schemas.ContactBody),
            "responses": {
                **ok(202, "ContactAccepted", "Accepted; the mails follow"),
                **_problems(*BODY_ERRORS, 429),
            },
        }},
    }


REQUEST_MODELS = (
    schemas.NewEntryBody, schemas.EntryBody, schemas.NewCategoryBody, schemas.CategoryBody,
    schemas.ContactBody,
)


@cache
def openapi_document() -> dict[str, Any]:
    return document(
        title="Kundenportal FAQ API",
        description="The FAQ (public, cacheable: ETag, 304), its search, editing for "
                    "accounts with the role faq_editor (Bearer access token of the auth "
                    "service), and the public contact form. Errors are "
                    "application/problem+json (RFC 9457).",
        paths=_operations(),
        answer_schemas={
            "Faq": _faq, "ListedEntry": _listed_entry, "Entry": _entry, "Category": _category,
            "SearchResults": _search_results, "ContactAccepted": _contact_accepted,
        },
        request_models=REQUEST_MODELS,
    )
