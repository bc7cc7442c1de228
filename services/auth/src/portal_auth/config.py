"""Auth service settings, read from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from portal_shared.settings import DEFAULT_DATABASE_URL, CommonSettings, load_settings

SCHEMA = "auth"


class AuthSettings(CommonSettings):
    auth_database_url: str = Field(DEFAULT_DATABASE_URL, pattern=r"^postgres(ql)?://")
    auth_port: int = Field(8081, ge=1, le=65535)
    activation_ttl_hours: int = Field(24, ge=1, le=24 * 14)
    reset_ttl_minutes: int = Field(60, ge=5, le=24 * 60)
    # How long the link that confirms a new e-mail address works.
    email_change_ttl_hours: int = Field(24, ge=1, le=24 * 7)
    access_token_ttl_seconds: int = Field(900, ge=60, le=3600)
    refresh_token_ttl_days: int = Field(30, ge=1, le=365)
    # A session (one login) ends this long after the login, however often it was refreshed.
    session_max_age_days: int = Field(90, ge=1, le=3650)
    # Ed25519 private key (PEM) that signs access tokens. When unset, a development key
    # is generated once under JWT_KEY_DIR and kept, so tokens survive restarts.
    jwt_private_key: SecretStr | None = None
    # Public keys (PEM) of rotated-out signing keys, published until their tokens expire.
    jwt_retired_public_keys: list[str] = Field(default_factory=list)
    jwt_key_dir: Path = Path("var/auth")
    # HMAC key of the proof-of-work challenges (and, derived from it, of device tokens).
    # When unset, a development key is generated once under JWT_KEY_DIR and kept.
    altcha_hmac_key: SecretStr | None = None
    # Difficulty: the secret number lies in 0..max, a browser tries max/2 on average
    # (250 000: about a second on a phone; bench/challenge_solve_time.py measures it).
    altcha_max_number: int = Field(250_000, ge=1_000, le=10_000_000)
    jwt_issuer: str = "kundenportal-auth"
    jwt_audience: str = "kundenportal"
    # Versions of the documents a registering customer accepts; stored with the consent.
    terms_version: str = Field("2026-01", min_length=1, max_length=40)
    privacy_version: str = Field("2026-01", min_length=1, max_length=40)
    password_history_size: int = Field(5, ge=1, le=24)
    # Threads that compute argon2id hashes (7 MiB each while they run). Unset: one per
    # CPU the process sees, which in a container is the node's count, not its CPU limit;
    # set it there so memory stays within the pod's limit.
    password_hash_threads: int | None = Field(None, ge=1, le=64)
    # Pending registrations stay answerable with 410 for this long after expiry.
    expired_registration_retention_days: int = Field(7, ge=0, le=90)
    maintenance_interval_seconds: float = Field(600, gt=0)


def get_settings(**overrides: object) -> AuthSettings:
    return load_settings(AuthSettings, "portal-auth", **overrides)
