"""FAQ service settings, read from the environment."""

from __future__ import annotations

from pydantic import Field, HttpUrl

from portal_shared.settings import DEFAULT_DATABASE_URL, CommonSettings, load_settings

SCHEMA = "faq"
# pg_trgm is installed in `public` (see migrations/0002_search.sql).
SEARCH_PATH = "faq, public"


class FaqSettings(CommonSettings):
    faq_database_url: str = Field(DEFAULT_DATABASE_URL, pattern=r"^postgres(ql)?://")
    faq_port: int = Field(8082, ge=1, le=65535)

    # Editing: access tokens of the auth service, verified with its published keys.
    auth_jwks_url: HttpUrl = HttpUrl("http://127.0.0.1:8081/.well-known/jwks.json")
    # Asked before every edit whether the editor's session is still open (logout,
    # password reset and deletion end it before the access token expires) and which
    # roles the account holds now (a revoked role ends editing at once).
    auth_session_url: HttpUrl = HttpUrl("http://127.0.0.1:8081/api/v1/auth/session")
    # An unknown key id fetches the key set again, at most this often (a forged `kid`
    # must not turn every request into a request to the auth service).
    auth_jwks_min_refresh_seconds: float = Field(30.0, ge=0, le=3600)
    # Known keys are fetched again after this long, so a withdrawn key stops working.
    auth_jwks_max_age_seconds: float = Field(3600.0, ge=60, le=86400)
    # Same names and defaults as in the auth service, so one environment serves both.
    jwt_issuer: str = "kundenportal-auth"
    jwt_audience: str = "kundenportal"

    # Contact form: accepted submissions per client IP and hour.
    contact_max_per_hour: int = Field(5, ge=1, le=1000)
    # Searches the database answers, per client IP and minute (each costs database time).
    # Only while the replica has no in-memory search index (listener down, index being
    # rebuilt); the index and the cache answer without limit.
    search_max_per_minute: int = Field(60, ge=1, le=1_000_000)

    # Search an index held in memory (rebuilt on every content change); false: search the
    # database every time, as before issue 12.
    faq_search_in_memory: bool = True

    # Rendered answers kept in memory (all FAQ pages, entries and recent searches).
    faq_cache_entries: int = Field(2048, ge=0, le=100_000)


def get_settings(**overrides: object) -> FaqSettings:
    return load_settings(FaqSettings, "portal-faq", **overrides)
