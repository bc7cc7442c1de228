"""The OpenAPI 3.1 document of the auth API, built from the request models themselves so
the two cannot drift apart. CI runs schemathesis against it (tests/integration)."""

from __future__ import annotations

from functools import cache
from typing import Any

from portal_auth import schemas
from portal_shared.openapi import BEARER, BODY_ERRORS, body, document, ok, problems

_token_pair = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "refresh_token"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
        "refresh_token": {"type": "string"},
    },
}
_logged_in = {
    "type": "object",
    "required": [*_token_pair["required"], "device_token"],
    "properties": {
        **_token_pair["properties"],
        "device_token": {
            "type": "string",
            "description": "Present it as `device_token` at this browser's next logins: its "
                           "failures are then counted apart from guesses made elsewhere",
        },
    },
}
_challenge = {
    "type": "object",
    "description": "ALTCHA challenge: find n in 0..maxNumber with SHA-256(salt + n) = challenge; "
                   "send base64(JSON {algorithm, challenge, number, salt, signature}) as `altcha`",
    "required": ["algorithm", "challenge", "maxNumber", "salt", "signature"],
    "properties": {
        "algorithm": {"const": "SHA-256"},
        "challenge": {"type": "string"},
        "maxNumber": {"type": "integer"},
        "salt": {"type": "string"},
        "signature": {"type": "string"},
    },
}
_status = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
_profile = {
    "type": "object",
    "required": ["customer_number", "last_name", "email", "created_at"],
    "properties": {
        "customer_number": {"type": "string"},
        "last_name": {"type": "string"},
        "email": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
_policy = {
    "type": "object",
    "required": ["min_length", "max_length", "history", "rules"],
    "properties": {
        "min_length": {"type": "integer"},
        "max_length": {"type": "integer"},
        "history": {"type": "integer"},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "de", "en"],
                "properties": {"id": {"type": "string"}, "de": {"type": "string"}, "en": {"type": "string"}},
            },
        },
    },
}
_check = {
    "type": "object",
    "required": ["valid", "violations", "strength"],
    "properties": {
        "valid": {"type": "boolean"},
        "violations": {"type": "array", "items": {"type": "string"}},
        "strength": {"type": "integer", "minimum": 0, "maximum": 4},
    },
}
_email_changed = {
    "type": "object",
    "required": ["status", "email"],
    "properties": {"status": {"const": "email_changed"}, "email": {"type": "string"}},
}
_session_list = {
    "type": "object",
    "required": ["sessions"],
    "properties": {"sessions": {"type": "array", "items": {
        "type": "object",
        "required": ["id", "device", "place", "created_at", "last_used_at", "current"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "device": {"type": "string"},
            "place": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "last_used_at": {"type": "string", "format": "date-time"},
            "current": {"type": "boolean"},
        },
    }}},
}
_session_roles = {
    "type": "object",
    "required": ["roles"],
    "properties": {"roles": {"type": "array", "items": {"type": "string"}}},
}
_jwks = {
    "type": "object",
    "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
}


def _problems(*statuses: int) -> dict[str, Any]:
    described = {
        400: "Malformed body or invalid token",
        401: "Not authenticated",
        410: "Link expired",
        404: "Not found",
        409: "Conflict with the current state",
        413: "Body too large",
        415: "Body is not application/json",
        422: "Invalid input",
        428: "A solved challenge is needed (`challenge_required`): GET /challenge, send `altcha`",
        429: "Too many attempts (see Retry-After)",
    }
    return problems(described, *statuses)




def _operations() -> dict[str, dict[str, Any]]:
    p = "/api/v1/auth"
    return {
        f"{p}/register": {"post": {
            "summary": "Register with customer number and last name (and the letter's code, if one was sent)",
            "requestBody": body(schemas.RegisterRequest),
            "responses": {**ok(202, "Status", "Accepted; a mail follows"), **_problems(*BODY_ERRORS, 428, 429)},
        }},
        f"{p}/register/resend": {"post": {
            "summary": "Send the activation mail again (same answer whether or not a "
                       "registration is pending for the address)",
            "description": "A new link (the older ones stop working) only for a pending "
                           "registration of this address; at most 3 an hour per address, "
                           "beyond that the same 202 without a mail. 429 per client IP.",
            "requestBody": body(schemas.ResendActivationRequest),
            "responses": {**ok(202, "Status", "Accepted"), **_problems(*BODY_ERRORS, 429)},
        }},
        f"{p}/activate": {"post": {
            "summary": "Activate the account with the mailed token",
            "description": "409 already_activated: the token was used and its account is "
                           "active (log in); 400 token_invalid: unknown, malformed or replaced.",
            "requestBody": body(schemas.ActivateRequest),
            "responses": {**ok(200, "Status", "Activated"), **_problems(*BODY_ERRORS, 409, 410, 429)},
        }},
        f"{p}/login": {"post": {
            "summary": "Log in with e-mail address and password",
            "requestBody": body(schemas.LoginRequest),
            "responses": {**ok(200, "LoggedIn", "Logged in"), **_problems(*BODY_ERRORS, 401, 428, 429)},
        }},
        f"{p}/challenge": {"get": {
            "summary": "A proof-of-work challenge (ALTCHA) for logins and registrations after failures",
            "responses": ok(200, "Challenge", "Valid for 10 minutes, once"),
        }},
        f"{p}/refresh": {"post": {
            "summary": "Exchange a refresh token (rotated on every use)",
            "requestBody": body(schemas.RefreshRequest),
            "responses": {**ok(200, "TokenPair", "New tokens"), **_problems(*BODY_ERRORS, 401, 429)},
        }},
        f"{p}/logout": {"post": {
            "summary": "End the session of this access token", "security": BEARER,
            "responses": {**ok(204, None, "Logged out"), **_problems(401)},
        }},
        f"{p}/me": {
            "get": {
                "summary": "The logged-in customer", "security": BEARER,
                "responses": {**ok(200, "Profile", "Profile"), **_problems(401)},
            },
            "delete": {
                "summary": "Delete the account (GDPR art. 17)", "security": BEARER,
                "requestBody": body(schemas.DeleteAccountRequest),
                "responses": {**ok(204, None, "Deleted"), **_problems(*BODY_ERRORS, 401, 429)},
            },
        },
        f"{p}/session": {"get": {
            "summary": "Whether the bearer's session is still open, and the account's "
                       "current roles (for other services, before sensitive actions)",
            "security": BEARER,
            "responses": {**ok(200, "SessionRoles", "Open; the roles the account holds now"),
                          **_problems(401)},
        }},
        f"{p}/me/password": {"post": {
            "summary": "Change the password; other sessions end", "security": BEARER,
            "requestBody": body(schemas.ChangePasswordRequest),
            "responses": {**ok(204, None, "Changed"), **_problems(*BODY_ERRORS, 401, 429)},
        }},
        f"{p}/me/email": {"post": {
            "summary": "Change the e-mail address: a confirmation link goes to the new one",
            "description": "Needs the password. 202 whether or not the new address belongs "
                           "to another account (then no link is sent). Nothing changes until "
                           "the link is confirmed. 422 email_unchanged / current_password_invalid "
                           "(field password); 429 per account (5 an hour) or after wrong passwords.",
            "security": BEARER,
            "requestBody": body(schemas.ChangeEmailRequest),
            "responses": {**ok(202, "Status", "Link sent to the new address"),
                          **_problems(*BODY_ERRORS, 401, 403, 429)},
        }},
        f"{p}/me/email/confirm": {"post": {
            "summary": "Confirm the new e-mail address with the mailed token",
            "description": "No login needed: the token is the proof. The old address gets a "
                           "notice; reset links still out stop working. 409 email_taken when "
                           "another account took the address meanwhile; 410 after "
                           "EMAIL_CHANGE_TTL_HOURS; 400 unknown, used or replaced.",
            "requestBody": body(schemas.ConfirmEmailRequest),
            "responses": {**ok(200, "EmailChanged", "Changed"),
                          **_problems(*BODY_ERRORS, 409, 410, 429)},
        }},
        f"{p}/me/sessions": {"get": {
            "summary": "The customer's open sessions (devices), the current one marked",
            "description": "device: browser and system from the User-Agent (from "
                           "X-Client-User-Agent when a trusted proxy sends it); place: the "
                           "client IP without its last octet; last_used_at: the login or the "
                           "last refresh.",
            "security": BEARER,
            "responses": {**ok(200, "SessionList", "Open sessions, most recently used first"),
                          **_problems(401)},
        }},
        f"{p}/me/sessions/end-others": {"post": {
            "summary": "End every session of the account but this one", "security": BEARER,
            "responses": {**ok(204, None, "Ended"), **_problems(401)},
        }},
        f"{p}/me/sessions/{{session_id}}": {"delete": {
            "summary": "End one of the customer's sessions; its tokens stop working at once",
            "security": BEARER,
            "parameters": [{"name": "session_id", "in": "path", "required": True,
                            "schema": {"type": "string", "format": "uuid"}}],
            "responses": {**ok(204, None, "Ended"), **_problems(401, 404)},
        }},
        f"{p}/password/forgot": {"post": {
            "summary": "Request a reset mail (same answer whether or not anything matched)",
            "requestBody": body(schemas.ForgotPasswordRequest),
            "responses": {**ok(202, "Status", "Accepted"), **_problems(*BODY_ERRORS, 429)},
        }},
        f"{p}/password/reset": {"post": {
            "summary": "Set a new password with the mailed token",
            "requestBody": body(schemas.ResetPasswordRequest),
            "responses": {**ok(200, "Status", "Changed"), **_problems(*BODY_ERRORS, 410, 429)},
        }},
        f"{p}/password/reset/check": {"post": {
            "summary": "Whether a mailed reset token still works; uses nothing up",
            "requestBody": body(schemas.ResetLinkRequest),
            "responses": {**ok(204, None, "The link works"), **_problems(*BODY_ERRORS, 410, 429)},
        }},
        f"{p}/password/policy": {"get": {
            "summary": "The password rules, German and English",
            "responses": ok(200, "PasswordPolicy", "Rules"),
        }},
        f"{p}/password/check": {"post": {
            "summary": "Check a password while it is typed; nothing is stored",
            "requestBody": body(schemas.CheckPasswordRequest),
            "responses": {**ok(200, "PasswordCheck", "Result"), **_problems(*BODY_ERRORS, 429)},
        }},
        "/.well-known/jwks.json": {"get": {
            "summary": "Public keys that verify access tokens (EdDSA)",
            "responses": ok(200, "JWKS", "Key set"),
        }},
    }


REQUEST_MODELS = (
    schemas.RegisterRequest, schemas.ResendActivationRequest, schemas.ActivateRequest,
    schemas.LoginRequest, schemas.RefreshRequest, schemas.ForgotPasswordRequest,
    schemas.ResetLinkRequest, schemas.ResetPasswordRequest, schemas.ChangePasswordRequest, schemas.DeleteAccountRequest,
    schemas.CheckPasswordRequest, schemas.ChangeEmailRequest, schemas.ConfirmEmailRequest,
)


@cache
def openapi_document() -> dict[str, Any]:
    return document(
        title="Kundenportal auth API",
        description="Registration, activation, login and sessions, password recovery. "
                    "Errors are application/problem+json (RFC 9457).",
        paths=_operations(),
        answer_schemas={
            "TokenPair": _token_pair, "LoggedIn": _logged_in, "Challenge": _challenge,
            "Status": _status, "Profile": _profile, "PasswordPolicy": _policy,
            "PasswordCheck": _check, "JWKS": _jwks, "SessionRoles": _session_roles,
            "EmailChanged": _email_changed, "SessionList": _session_list,
        },
        request_models=REQUEST_MODELS,
    )
