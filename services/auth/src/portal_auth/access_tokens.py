"""Access tokens: short-lived JWTs signed with Ed25519, verifiable from the public JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from portal_auth.dev_keys import kept_dev_key

ALGORITHM = "EdDSA"
DEV_KEY_FILE = "jwt-ed25519.pem"


@dataclass(frozen=True)
class AccessClaims:
    account_id: UUID
    session_id: UUID
    roles: tuple[str, ...]


class InvalidAccessToken(Exception):
    pass


class AccessTokens:
    """Signs with the current key; verifies with it and with retired keys.

    Rotation: the new key becomes JWT_PRIVATE_KEY and the old key's public half goes to
    JWT_RETIRED_PUBLIC_KEYS, where it stays published (JWKS) until the last token it
    signed has expired (the access-token lifetime, 15 minutes by default).
    """

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        issuer: str,
        audience: str,
        ttl: timedelta,
        retired: list[Ed25519PublicKey] | None = None,
    ) -> None:
        self._private_key = private_key
        self._public_jwk = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
        self.kid = _thumbprint(self._public_jwk)
        self._verifiers: dict[str, tuple[Ed25519PublicKey, dict]] = {
            self.kid: (private_key.public_key(), self._public_jwk)
        }
        for public_key in retired or []:
            jwk = json.loads(OKPAlgorithm.to_jwk(public_key))
            self._verifiers.setdefault(_thumbprint(jwk), (public_key, jwk))
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl

    def issue(self, claims: AccessClaims, now: datetime) -> str:
        payload = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(claims.account_id),
            "sid": str(claims.session_id),
            "roles": list(claims.roles),
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
        }
        return jwt.encode(payload, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """Signature, issuer and audience by PyJWT; expiry against our clock, not the
        machine's, so tests can move time."""
        try:
            header = jwt.get_unverified_header(token)
            verifier = self._verifiers.get(header.get("kid", ""))
            if verifier is None:
                raise InvalidAccessToken("unknown key id")
            payload = jwt.decode(
                token,
                verifier[0],
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "sid"], "verify_exp": False, "verify_iat": False},
            )
            if now.timestamp() >= payload["exp"]:
                raise InvalidAccessToken("expired")
            return AccessClaims(
                UUID(payload["sub"]), UUID(payload["sid"]), tuple(payload.get("roles", ()))
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidAccessToken(str(exc)) from None

    def jwks(self) -> dict:
        return {
            "keys": [
                {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}
                for kid, (_, jwk) in self._verifiers.items()
            ]
        }


def load_private_key(pem: str | None, key_dir: Path) -> Ed25519PrivateKey:
    """The configured key, or a development key generated once and kept in `key_dir`."""
    if pem:
        return _parse(pem.encode())
    return _parse(kept_dev_key(key_dir, DEV_KEY_FILE, _new_pem, "JWT_PRIVATE_KEY"))


def _new_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_public_keys(pems: list[str]) -> list[Ed25519PublicKey]:
    keys = []
    for pem in pems:
        key = serialization.load_pem_public_key(pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise TypeError("JWT_RETIRED_PUBLIC_KEYS must hold Ed25519 public keys")
        keys.append(key)
    return keys


def _parse(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError("JWT_PRIVATE_KEY must be an Ed25519 private key")
    return key


def _thumbprint(jwk: dict) -> str:
    """RFC 7638 thumbprint: a key id that follows from the key itself."""
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
