"""RFC 9457 problem details: one catalogue entry per error code, German and English.

`title` and `detail` are in the negotiated language (German unless the client prefers
English), which `Content-Language` names; `type` and `code` are the same in both.
Handlers raise `Problem(SOME_TYPE, errors=[...])`; `problem_middleware` turns it, and
every error aiohttp or our own code raises, into `application/problem+json` in the
client's language. An unexpected exception becomes a logged 500 without internals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from pydantic import BaseModel, ValidationError

from portal_shared.i18n import Language, negotiate

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:kundenportal:problem:"


@dataclass(frozen=True)
class ProblemType:
    code: str
    status: int
    title: str  # English
    detail_de: str
    detail_en: str
    # Keyword, so that a catalogue entry reads: code, status, English title, details, and
    # its German title last; tests/unit/test_problem_catalogue.py requires one for each.
    title_de: str = ""

    def detail(self, language: Language) -> str:
        return self.detail_en if language == "en" else self.detail_de

    def title_in(self, language: Language) -> str:
        return self.title if language == "en" or not self.title_de else self.title_de


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str


class Problem(Exception):
    def __init__(
        self,
        kind: ProblemType,
        errors: Iterable[FieldError] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(kind.code)
        self.kind = kind
        self.errors = list(errors)
        self.headers = headers or {}
        # Extension members (RFC 9457 §3.2), e.g. `challenge_required` on a failed login.
        self.extra = extra or {}


VALIDATION_ERROR = ProblemType(
    "validation_error", 422, "Invalid input",
    "Die Eingaben sind unvollständig oder ungültig.",
    "The input is incomplete or invalid.",
    title_de="Ungültige Eingabe",
)
INVALID_JSON = ProblemType(
    "invalid_json", 400, "Malformed request body",
    "Der Inhalt der Anfrage ist kein gültiges JSON-Objekt.",
    "The request body is not a valid JSON object.",
    title_de="Fehlerhafter Inhalt der Anfrage",
)
NOT_FOUND = ProblemType(
    "not_found", 404, "Not found",
    "Die angeforderte Ressource wurde nicht gefunden.",
    "The requested resource was not found.",
    title_de="Nicht gefunden",
)
METHOD_NOT_ALLOWED = ProblemType(
    "method_not_allowed", 405, "Method not allowed",
    "Diese Methode ist für diese Ressource nicht erlaubt.",
    "This method is not allowed for this resource.",
    title_de="Methode nicht erlaubt",
)
PAYLOAD_TOO_LARGE = ProblemType(
    "payload_too_large", 413, "Payload too large",
    "Die Anfrage ist zu groß.",
    "The request is too large.",
    title_de="Anfrage zu groß",
)
UNSUPPORTED_MEDIA_TYPE = ProblemType(
    "unsupported_media_type", 415, "Unsupported media type",
    "Bitte senden Sie den Inhalt als JSON (Content-Type: application/json).",
    "Please send the body as JSON (Content-Type: application/json).",
    title_de="Nicht unterstütztes Format",
)
UNAUTHORIZED = ProblemType(
    "unauthorized", 401, "Unauthorized",
    "Bitte melden Sie sich an.",
    "Please log in.",
    title_de="Nicht angemeldet",
)
INTERNAL_ERROR = ProblemType(
    "internal_error", 500, "Internal error",
    "Ein unerwarteter Fehler ist aufgetreten. Bitte versuchen Sie es später erneut.",
    "An unexpected error occurred. Please try again later.",
    title_de="Interner Fehler",
)
SERVICE_UNAVAILABLE = ProblemType(
    "service_unavailable", 503, "Service unavailable",
    "Der Dienst ist vorübergehend nicht erreichbar. Bitte versuchen Sie es später erneut.",
    "The service is temporarily unavailable. Please try again later.",
    title_de="Dienst nicht verfügbar",
)

EMAIL_NOT_SUPPORTED = ProblemType(
    "email_not_supported", 422, "E-mail address not supported",
    "Diese E-Mail-Adresse können wir leider nicht verwenden: Vor dem „@“ stehen Umlaute, "
    "ß oder andere Zeichen, die viele Mailserver nicht zustellen. Bitte geben Sie eine "
    "Adresse ohne solche Zeichen vor dem „@“ an.",
    "We cannot use this e-mail address: the part before the \u201c@\u201d contains umlauts, "
    "\u00df or other characters that many mail servers do not deliver. Please give an "
    "address without such characters before the \u201c@\u201d.",
    title_de="E-Mail-Adresse nicht unterstützt",
)

# Field error codes that have a problem type of their own, with a detail that says more
# than "invalid input"; used when every field error of a request has that code.
FIELD_PROBLEMS = {EMAIL_NOT_SUPPORTED.code: EMAIL_NOT_SUPPORTED}

_BY_STATUS = {p.status: p for p in (NOT_FOUND, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE)}


def request_language(request: web.Request) -> Language:
    return negotiate(request.headers.get("Accept-Language"), request.query.get("lang"))


def problem_response(
    request: web.Request,
    kind: ProblemType,
    errors: Iterable[FieldError] = (),
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    language = request_language(request)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind.code,
        "title": kind.title_in(language),
        "status": kind.status,
        "detail": kind.detail(language),
        "code": kind.code,
        "instance": request.path,
    }
    for name, value in (extra or {}).items():
        body.setdefault(name, value)  # never in place of a standard member
    field_errors = [{"field": e.field, "code": e.code} for e in errors]
    if field_errors:
        body["errors"] = field_errors
    response = web.Response(
        status=kind.status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM_CONTENT_TYPE,
        headers={"Content-Language": language, "Vary": "Accept-Language", **(headers or {})},
    )
    return response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as error:  # noqa: BLE001 - every error gets its answer
        return problem_answer(request, error)


def problem_answer(request: web.Request, error: Exception) -> web.StreamResponse:
    """The problem+json answer to what a handler raised; an HTTP error without a problem
    type of its own is raised again for aiohttp to answer."""
    if isinstance(error, Problem):
        return problem_response(request, error.kind, error.errors, error.headers, error.extra)
    if isinstance(error, web.HTTPException):
        kind = _BY_STATUS.get(error.status)
        if kind is None:
            raise error
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return problem_response(request, kind, headers=headers)
    log.error(
        "unhandled error on %s %s", request.method, request.path,
        exc_info=(type(error), error, error.__traceback__),
    )
    return problem_response(request, INTERNAL_ERROR)


M = TypeVar("M", bound=BaseModel)


async def parse_json_body(request: web.Request, model: type[M]) -> M:
    """Read the body as `model`; raises `unsupported_media_type`, `invalid_json` or
    `validation_error` problems — never lets odd input reach a handler as a 500."""
    if not _is_json(request.content_type):
        # Also keeps other sites' plain form posts (no CORS preflight) out.
        raise Problem(UNSUPPORTED_MEDIA_TYPE)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Problem(PAYLOAD_TOO_LARGE) from None
    except (HttpProcessingError, RequestPayloadError):  # e.g. a broken gzip body
        raise Problem(INVALID_JSON) from None
    try:
        # From bytes: JSON is UTF-8 (RFC 8259), whatever charset the header claims.
        raw = json.loads(body)
        unstorable = list(_unstorable_strings(raw)) if isinstance(raw, dict) else []
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Problem(INVALID_JSON) from None
    if not isinstance(raw, dict):
        raise Problem(INVALID_JSON)
    if unstorable:
        raise Problem(VALIDATION_ERROR, [FieldError(path, "invalid_characters") for path in unstorable])
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise Problem(problem_for(errors), errors) from None


def problem_for(errors: list[FieldError]) -> ProblemType:
    """`validation_error`, or the problem of its own that all the field errors share."""
    kinds = {FIELD_PROBLEMS.get(error.code) for error in errors}
    if len(kinds) == 1 and (kind := kinds.pop()) is not None:
        return kind
    return VALIDATION_ERROR


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _unstorable_strings(value: object, path: str = "") -> Iterator[str]:
    """Paths of strings no text column can hold: NUL characters and lone surrogates are
    valid JSON but not valid UTF-8 text, and would otherwise fail deep in the database."""
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable_strings(key, path or "body")
            yield from _unstorable_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_strings(item, f"{path}.{index}" if path else str(index))


# Pydantic's error types, folded into the few codes a client needs to show a message.
_FIELD_CODES = {
    "missing": "required",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "string_type": "not_a_string",
    "bool_type": "not_a_boolean",
    "bool_parsing": "not_a_boolean",
    "extra_forbidden": "unknown_field",
    "literal_error": "not_allowed",
    "string_pattern_mismatch": "invalid_format",
}


def field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "body"
        errors.append(FieldError(field, _FIELD_CODES.get(err["type"], err["type"])))
    return errors
