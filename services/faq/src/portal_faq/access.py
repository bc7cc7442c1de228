"""Who is calling: access tokens of the auth service, checked with its published keys.

Tokens are EdDSA (Ed25519) JWTs whose header names the signing key (`kid`); the keys come
from the auth service's JWKS document. The set is fetched on first use and kept; a token
signed with a key not in it (the auth service rotated its key) fetches it again, but at
most once per `min_refresh` seconds, and a set older than `max_age` is fetched again so a
withdrawn key stops working.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
# Tolerated clock difference between the auth service and this one.
LEEWAY_SECONDS = 10
FETCH_TIMEOUT_SECONDS = 5


class InvalidToken(Exception):
    """Not a token of ours, or no longer valid: 401."""


class KeysUnavailable(Exception):
    """The key set could not be fetched, so no token can be checked: 503, not 401."""


@dataclass(frozen=True)
class Caller:
    account_id: str
    roles: frozenset[str]


def parse_jwks(document: object) -> dict[str, Any]:
    """Signing keys by key id; keys of other types or uses are ignored."""
    keys: dict[str, Any] = {}
    listed = document.get("keys") if isinstance(document, dict) else None
    for jwk in listed if isinstance(listed, list) else []:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if (jwk.get("kty"), jwk.get("crv"), jwk.get("use", "sig")) != ("OKP", "Ed25519", "sig"):
            continue
        try:
            keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        except jwt.PyJWTError as exc:
            log.warning("ignoring unusable key %s in the key set: %s", jwk["kid"], exc)
    return keys


class KeySet:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        min_refresh: float,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._url = url
        self._min_refresh = min_refresh
        self._max_age = max_age
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> Any:
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age:
            await self._refresh(force=True)
        elif kid not in self._keys:
            await self._refresh(force=False)
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown key id")
        return key

    async def _refresh(self, force: bool) -> None:
        fetches_before = self.fetches
        async with self._lock:
            # Another request fetched while this one waited: use its result.
            if self.fetches != fetches_before:
                return
            if (
                not force
                and self._attempted_at is not None
                and self._clock() - self._attempted_at < self._min_refresh
            ):
                return
            self._attempted_at = self._clock()
            self.fetches += 1
            try:
                keys = parse_jwks(await self._fetch())
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("cannot fetch the auth key set from %s: %s", self._url, exc)
                if not self._keys:
                    raise KeysUnavailable(str(exc)) from None
                return  # keep checking with the keys we have
            self._keys = keys
            self._fetched_at = self._clock()

    async def _fetch(self) -> object:
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
        async with self._session.get(self._url, timeout=timeout) as response:
            response.raise_for_status()
            return await response.json(content_type=None)


class TokenVerifier:
    def __init__(self, keys: KeySet, issuer: str, audience: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience

    async def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise InvalidToken("not an EdDSA token with a key id")
        key = await self._keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles must be a list of strings")
        return Caller(str(claims["sub"]), frozenset(roles))


class SessionCheck:
    """Asks the auth service whether a token's session is still open, and which roles
    its account holds now: a role revoked after the token was issued ends at once."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self._url = url

    async def current_roles(self, token: str, token_roles: frozenset[str]) -> frozenset[str] | None:
        """The account's roles now; None when the session has ended (logout, reset,
        deletion). An auth from before roles were returned answers 204 without a body:
        then the token's roles stand, as they did before."""
        try:
            async with self._http.get(
                self._url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS),
            ) as response:
                if response.status == 401:
                    return None
                if response.status == 204:
                    return token_roles
                if response.status != 200:
                    raise KeysUnavailable(f"session check answered {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # Fail closed: an edit we cannot vouch for waits until auth answers.
            raise KeysUnavailable(f"session check failed: {type(exc).__name__}") from exc
        return parse_roles(body)


def parse_roles(body: object) -> frozenset[str]:
    """`{"roles": [...]}` from auth's session answer; KeysUnavailable for anything else."""
    roles = body.get("roles") if isinstance(body, dict) else None
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise KeysUnavailable("session check answered without a list of roles")
    return frozenset(roles)
