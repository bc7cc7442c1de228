"""Editing the FAQ with auth access tokens, checked against a JWKS document served over
HTTP as the auth service serves it; optimistic locking with If-Match; the audit trail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from portal_faq.app import create_app
from portal_faq.config import FaqSettings
from portal_faq.keys import CONTEXT
from tests.conftest import AmqpNames
from tests.support import eventually, running

pytestmark = pytest.mark.integration

ENTRIES = "/api/v1/faq/entries"
CATEGORIES = "/api/v1/faq/categories"
EDITOR_ID = str(uuid4())


@dataclass
class SigningKey:
    kid: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwk(self) -> dict:
        public = json.loads(OKPAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "EdDSA"}


@dataclass
class FakeAuth:
    """The auth service's JWKS endpoint, and tokens signed the way auth signs them."""

    published: list[SigningKey]
    requests: int = 0
    ended_sessions: set[str] = field(default_factory=set)
    # Roles the account holds now, by session id; without an entry, those of the token.
    roles_now: dict[str, list[str]] = field(default_factory=dict)
    # Answer as auth did before /session returned roles (204, no body).
    answers_without_roles: bool = False

    async def jwks(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.json_response({"keys": [key.jwk() for key in self.published]})

    async def session(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = jwt.decode(token, options={"verify_signature": False})
        if claims["sid"] in self.ended_sessions:
            return web.Response(status=401)
        if self.answers_without_roles:
            return web.Response(status=204)
        return web.json_response({"roles": self.roles_now.get(claims["sid"], claims["roles"])})

    def token(
        self,
        key: SigningKey | None = None,
        roles: list[str] | None = None,
        lifetime: timedelta = timedelta(minutes=15),
        **claims: object,
    ) -> str:
        key = key or self.published[0]
        now = datetime.now(UTC)
        payload = {
            "iss": "kundenportal-auth",
            "aud": "kundenportal",
            "sub": EDITOR_ID,
            "sid": str(uuid4()),
            "roles": ["faq_editor"] if roles is None else roles,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            **claims,
        }
        return jwt.encode(payload, key.private, algorithm="EdDSA", headers={"kid": key.kid})


@pytest.fixture
async def auth() -> AsyncIterator[tuple[FakeAuth, str]]:
    fake = FakeAuth([SigningKey("key-1")])
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", fake.jwks)
    app.router.add_get("/api/v1/auth/session", fake.session)
    async with running(app) as server:
        yield fake, str(server.make_url("/.well-known/jwks.json"))


@pytest.fixture
def settings(
    database_url: str, amqp_names: AmqpNames, auth: tuple[FakeAuth, str]
) -> FaqSettings:
    return FaqSettings(
        faq_database_url=database_url,
        amqp_url=amqp_names.url,
        events_exchange=amqp_names.exchange,
        auth_jwks_url=auth[1],
        auth_session_url=auth[1].replace("/.well-known/jwks.json", "/api/v1/auth/session"),
        auth_jwks_min_refresh_seconds=0,
    )


@pytest.fixture
async def client(settings: FaqSettings) -> AsyncIterator[TestClient]:
    async with running(create_app(settings)) as client:
        yield client


@pytest.fixture
def fake(auth: tuple[FakeAuth, str]) -> FakeAuth:
    return auth[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_entry(**overrides: object) -> dict:
    body = {
        "slug": "rechnung",
        "category": "allgemeines",
        "position": 9,
        "question": "Wo finde ich meine Rechnung?",
        "answer": "Unter **Dokumente**. <script>alert(1)</script>",
        "question_en": "Where do I find my invoice?",
        "answer_en": "Under **Documents**.",
    }
    body.update(overrides)
    return body


async def rows(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


# --- who may edit --------------------------------------------------------------------


async def test_an_editor_creates_updates_and_deletes_an_entry(
    client: TestClient, fake: FakeAuth, database_url: str
) -> None:
    headers = bearer(fake.token())
    created = await client.post(ENTRIES, json=new_entry(), headers=headers)
    assert created.status == 201, await created.text()
    assert created.headers["Location"] == f"{ENTRIES}/rechnung"
    body = await created.json()
    assert body["answer_html"] == (
        "<p>Unter <strong>Dokumente</strong>. &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert body["answer_markdown"] == new_entry()["answer"]

    read = await client.get(f"{ENTRIES}/rechnung")
    assert read.headers["ETag"] == created.headers["ETag"]
    updated = await client.put(
        f"{ENTRIES}/rechnung",
        json=new_entry(question="Wo sind meine Rechnungen?"),
        headers={**headers, "If-Match": read.headers["ETag"]},
    )
    assert updated.status == 422  # the slug is the URL; a body may not carry it

    changed = new_entry(question="Wo sind meine Rechnungen?")
    del changed["slug"]
    updated = await client.put(
        f"{ENTRIES}/rechnung", json=changed, headers={**headers, "If-Match": read.headers["ETag"]}
    )
    assert updated.status == 200, await updated.text()
    assert (await updated.json())["question"] == "Wo sind meine Rechnungen?"
    assert updated.headers["ETag"] != read.headers["ETag"]
    assert (await (await client.get(f"{ENTRIES}/rechnung")).json())["question"] == (
        "Wo sind meine Rechnungen?"
    )

    deleted = await client.delete(f"{ENTRIES}/rechnung", headers=headers)
    assert deleted.status == 204
    assert (await client.get(f"{ENTRIES}/rechnung")).status == 404

    trail = await rows(
        database_url,
        "SELECT changed_by, action, subject, slug, before, after FROM faq.changes ORDER BY id",
    )
    assert [(r["changed_by"], r["action"], r["subject"], r["slug"]) for r in trail] == [
        (EDITOR_ID, "create", "entry", "rechnung"),
        (EDITOR_ID, "update", "entry", "rechnung"),
        (EDITOR_ID, "delete", "entry", "rechnung"),
    ]
    assert trail[0]["before"] is None and trail[2]["after"] is None
    assert json.loads(trail[1]["before"])["question"] == "Wo finde ich meine Rechnung?"
    assert json.loads(trail[1]["after"])["question"] == "Wo sind meine Rechnungen?"


async def test_the_row_remembers_its_last_editor(
    client: TestClient, fake: FakeAuth, database_url: str
) -> None:
    await client.post(ENTRIES, json=new_entry(), headers=bearer(fake.token()))
    [row] = await rows(
        database_url, "SELECT updated_by, updated_at FROM faq.entries WHERE slug = 'rechnung'"
    )
    assert row["updated_by"] == EDITOR_ID
    assert datetime.now(UTC) - row["updated_at"] < timedelta(minutes=1)
    [seeded] = await rows(database_url, "SELECT updated_by FROM faq.entries WHERE slug = 'einloggen'")
    assert seeded["updated_by"] is None  # loaded from the file


async def test_without_a_token_it_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = await client.post(ENTRIES, json=new_entry())
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "unauthorized"
    basic = await client.delete(f"{ENTRIES}/einloggen", headers={"Authorization": "Basic eDp5"})
    assert basic.status == 401


def forged(fake: FakeAuth) -> str:
    # Signed by a key that claims the published kid.
    return fake.token(key=SigningKey("key-1"))


@pytest.mark.parametrize(
    "make_token",
    [
        forged,
        lambda fake: fake.token(lifetime=timedelta(minutes=-5)),
        lambda fake: fake.token(aud="another-audience"),
        lambda fake: fake.token(iss="someone-else"),
        lambda fake: fake.token(key=SigningKey("never-published")),
        lambda fake: fake.token()[:-4] + "AAAA",
        lambda fake: "not-a-jwt",
        lambda fake: jwt.encode(
            {"sub": EDITOR_ID, "roles": ["faq_editor"], "aud": "kundenportal",
             "iss": "kundenportal-auth", "exp": 2**32, "iat": 0},
            "a-shared-secret-of-sufficient-length!", algorithm="HS256",
            headers={"kid": "key-1"},
        ),
    ],
    ids=["bad-signature", "expired", "wrong-audience", "wrong-issuer", "unknown-kid",
         "tampered", "garbage", "hs256"],
)
async def test_an_invalid_token_is_401(
    client: TestClient, fake: FakeAuth, make_token: Callable[[FakeAuth], str]
) -> None:
    response = await client.post(ENTRIES, json=new_entry(), headers=bearer(make_token(fake)))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get(f"{ENTRIES}/rechnung")).status == 404


async def test_a_customer_without_the_editor_role_is_403(
    client: TestClient, fake: FakeAuth
) -> None:
    for roles in ([], ["customer"], ["faq_reader"]):
        response = await client.post(
            ENTRIES, json=new_entry(), headers=bearer(fake.token(roles=roles))
        )
        assert response.status == 403
        body = await response.json()
        assert body["code"] == "forbidden"
        assert body["detail"] == "Sie haben keine Berechtigung, die FAQ zu bearbeiten."


async def test_a_rotated_key_is_fetched_and_accepted(
    client: TestClient, fake: FakeAuth
) -> None:
    first = await client.post(ENTRIES, json=new_entry(), headers=bearer(fake.token()))
    assert first.status == 201
    assert fake.requests == 1

    again = await client.post(
        ENTRIES, json=new_entry(slug="mahnung", position=10), headers=bearer(fake.token())
    )
    assert again.status == 201
    assert fake.requests == 1  # the key set is kept

    rotated = SigningKey("key-2")
    fake.published = [rotated, *fake.published]
    response = await client.post(
        ENTRIES,
        json=new_entry(slug="lastschrift", position=11),
        headers=bearer(fake.token(key=rotated)),
    )
    assert response.status == 201
    assert fake.requests == 2


async def test_unknown_key_ids_fetch_the_key_set_at_most_once_per_interval(
    settings: FaqSettings, fake: FakeAuth
) -> None:
    throttled = settings.model_copy(update={"auth_jwks_min_refresh_seconds": 3600})
    async with running(create_app(throttled)) as client:
        created = await client.post(ENTRIES, json=new_entry(), headers=bearer(fake.token()))
        assert created.status == 201
        for n in range(5):
            stranger = fake.token(key=SigningKey(f"forged-{n}"))
            response = await client.post(ENTRIES, json=new_entry(), headers=bearer(stranger))
            assert response.status == 401
        # Fetched moments ago: a forged kid is not worth asking the auth service again.
        assert fake.requests == 1


async def test_when_the_key_set_cannot_be_fetched_it_is_503(
    settings: FaqSettings, fake: FakeAuth
) -> None:
    unreachable = settings.model_copy(
        update={"auth_jwks_url": "http://127.0.0.1:9/.well-known/jwks.json"}
    )
    async with running(create_app(unreachable)) as client:
        response = await client.post(ENTRIES, json=new_entry(), headers=bearer(fake.token()))
        assert response.status == 503
        assert (await response.json())["code"] == "service_unavailable"


# --- optimistic locking --------------------------------------------------------------


def entry_body(entry: dict, **overrides: object) -> dict:
    body = {
        "category": "anmeldung-und-passwort",
        "position": entry["position"],
        "question": entry["question"],
        "answer": entry["answer_markdown"],
    }
    body.update(overrides)
    return body


async def test_a_stale_if_match_is_412_and_changes_nothing(
    client: TestClient, fake: FakeAuth
) -> None:
    headers = bearer(fake.token())
    read = await client.get(f"{ENTRIES}/einloggen")
    etag, entry = read.headers["ETag"], await read.json()

    first = await client.put(
        f"{ENTRIES}/einloggen",
        json=entry_body(entry, question="Wie logge ich mich ein?"),
        headers={**headers, "If-Match": etag},
    )
    assert first.status == 200
    second = await client.put(
        f"{ENTRIES}/einloggen",
        json=entry_body(entry, question="Wie melde ich mich an?"),
        headers={**headers, "If-Match": etag},
    )
    assert second.status == 412
    assert (await second.json())["code"] == "precondition_failed"
    current = await (await client.get(f"{ENTRIES}/einloggen")).json()
    assert current["question"] == "Wie logge ich mich ein?"


async def test_the_english_variants_etag_guards_the_german_text_too(
    client: TestClient, fake: FakeAuth
) -> None:
    headers = bearer(fake.token())
    english = await client.get(f"{ENTRIES}/einloggen?lang=en")
    german = await client.get(f"{ENTRIES}/einloggen")
    assert english.headers["ETag"] != german.headers["ETag"]
    entry = await german.json()
    changed = await client.put(
        f"{ENTRIES}/einloggen",
        json=entry_body(entry, question="Wie logge ich mich ein?"),
        headers={**headers, "If-Match": english.headers["ETag"]},
    )
    assert changed.status == 200
    stale = await client.put(
        f"{ENTRIES}/einloggen",
        json=entry_body(entry, question="Anders"),
        headers={**headers, "If-Match": english.headers["ETag"]},
    )
    assert stale.status == 412


async def test_put_without_if_match_is_428(client: TestClient, fake: FakeAuth) -> None:
    entry = await (await client.get(f"{ENTRIES}/einloggen")).json()
    response = await client.put(
        f"{ENTRIES}/einloggen", json=entry_body(entry), headers=bearer(fake.token())
    )
    assert response.status == 428
    assert (await response.json())["code"] == "precondition_required"


async def test_put_of_an_unknown_entry_is_404(client: TestClient, fake: FakeAuth) -> None:
    response = await client.put(
        f"{ENTRIES}/gibt-es-nicht",
        json={"category": "allgemeines", "position": 1, "question": "?", "answer": "!"},
        headers={**bearer(fake.token()), "If-Match": "*"},
    )
    assert response.status == 404


# --- conflicts and validation --------------------------------------------------------


async def test_conflicts_are_409(client: TestClient, fake: FakeAuth) -> None:
    headers = bearer(fake.token())
    taken_slug = await client.post(ENTRIES, json=new_entry(slug="einloggen"), headers=headers)
    assert (taken_slug.status, (await taken_slug.json())["code"]) == (409, "slug_taken")
    taken_position = await client.post(ENTRIES, json=new_entry(position=1), headers=headers)
    assert (taken_position.status, (await taken_position.json())["code"]) == (409, "position_taken")
    not_empty = await client.delete(f"{CATEGORIES}/kontakt", headers=headers)
    assert (not_empty.status, (await not_empty.json())["code"]) == (409, "category_not_empty")


async def test_invalid_entries_are_422_naming_the_fields(client: TestClient, fake: FakeAuth) -> None:
    headers = bearer(fake.token())
    unknown_category = await client.post(
        ENTRIES, json=new_entry(category="gibt-es-nicht"), headers=headers
    )
    assert unknown_category.status == 422
    assert (await unknown_category.json())["errors"] == [
        {"field": "category", "code": "unknown_category"}
    ]
    bad = await client.post(
        ENTRIES,
        json=new_entry(slug="Mit Leerzeichen", question="", answer_en=None),
        headers={**headers, "Accept-Language": "en"},
    )
    body = await bad.json()
    assert bad.status == 422
    assert {e["field"] for e in body["errors"]} >= {"slug", "question"}
    assert body["detail"] == "The input is incomplete or invalid."


# --- categories ----------------------------------------------------------------------


async def test_an_editor_manages_categories(
    client: TestClient, fake: FakeAuth, database_url: str
) -> None:
    headers = bearer(fake.token())
    created = await client.post(
        CATEGORIES,
        json={"slug": "rechnungen", "position": 5, "title": "Rechnungen", "title_en": "Invoices"},
        headers=headers,
    )
    assert created.status == 201
    assert created.headers["Location"] == f"{CATEGORIES}/rechnungen"
    assert (await created.json())["title"] == "Rechnungen"

    entry = await client.post(ENTRIES, json=new_entry(category="rechnungen"), headers=headers)
    assert entry.status == 201
    faq = await (await client.get("/api/v1/faq")).json()
    assert faq["categories"][-1]["slug"] == "rechnungen"
    assert [e["slug"] for e in faq["categories"][-1]["entries"]] == ["rechnung"]

    read = await client.get(f"{CATEGORIES}/rechnungen?lang=en")
    assert (await read.json())["title"] == "Invoices"
    renamed = await client.put(
        f"{CATEGORIES}/rechnungen",
        json={"position": 5, "title": "Rechnungen und Zahlungen", "title_en": "Invoices"},
        headers={**headers, "If-Match": read.headers["ETag"]},
    )
    assert renamed.status == 200
    stale = await client.put(
        f"{CATEGORIES}/rechnungen",
        json={"position": 5, "title": "Zahlungen"},
        headers={**headers, "If-Match": read.headers["ETag"]},
    )
    assert stale.status == 412
    entry_now = await (await client.get(f"{ENTRIES}/rechnung")).json()
    assert entry_now["category"]["title"] == "Rechnungen und Zahlungen"

    assert (await client.delete(f"{ENTRIES}/rechnung", headers=headers)).status == 204
    assert (await client.delete(f"{CATEGORIES}/rechnungen", headers=headers)).status == 204
    assert (await client.get(f"{CATEGORIES}/rechnungen")).status == 404
    trail = await rows(
        database_url, "SELECT action, subject FROM faq.changes WHERE subject = 'category'"
    )
    assert [tuple(r) for r in trail] == [
        ("create", "category"), ("update", "category"), ("delete", "category")
    ]


async def test_category_writes_need_the_editor_role(client: TestClient, fake: FakeAuth) -> None:
    body = {"slug": "neu", "position": 7, "title": "Neu"}
    assert (await client.post(CATEGORIES, json=body)).status == 401
    customer = bearer(fake.token(roles=["customer"]))
    assert (await client.post(CATEGORIES, json=body, headers=customer)).status == 403
    assert (await client.delete(f"{CATEGORIES}/kontakt", headers=customer)).status == 403


# --- several replicas ----------------------------------------------------------------


async def test_an_edit_on_one_replica_refreshes_the_others_cache(
    settings: FaqSettings, fake: FakeAuth
) -> None:
    async with running(create_app(settings)) as editor_side, running(create_app(settings)) as other:
        other_app = other.server.app
        await asyncio.wait_for(other_app[CONTEXT].watcher.listening.wait(), 10)
        path = f"{ENTRIES}/einloggen"
        before = await other.get(path)
        assert (await other.get(path)).status == 200
        assert other_app[CONTEXT].cache.hits == 1  # the second read came from memory

        entry = await before.json()
        changed = await editor_side.put(
            path,
            json=entry_body(entry, question="Wie logge ich mich ein?"),
            headers={**bearer(fake.token()), "If-Match": before.headers["ETag"]},
        )
        assert changed.status == 200

        async def other_shows_the_edit() -> bool:
            response = await other.get(path)
            return (await response.json())["question"] == "Wie logge ich mich ein?"

        await eventually(other_shows_the_edit)
        fresh = await other.get(path)
        assert fresh.headers["ETag"] == changed.headers["ETag"]


async def test_a_token_whose_session_ended_may_no_longer_edit(
    client: TestClient, auth: tuple[FakeAuth, str]
) -> None:
    fake, _ = auth
    token = fake.token()
    fake.ended_sessions.add(jwt.decode(token, options={"verify_signature": False})["sid"])
    response = await client.post(
        "/api/v1/faq/categories", json={"slug": "neu", "title": "Neu", "position": 99},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 401


def session_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sid"]


async def test_a_role_revoked_after_the_token_was_issued_ends_editing_at_once(
    client: TestClient, fake: FakeAuth
) -> None:
    token = fake.token()  # still says faq_editor for the next 15 minutes
    category = {"slug": "neu", "title": "Neu", "position": 99}
    assert (await client.post(CATEGORIES, json=category, headers=bearer(token))).status == 201
    fake.roles_now[session_of(token)] = []
    response = await client.delete(f"{CATEGORIES}/neu", headers=bearer(token))
    assert (response.status, (await response.json())["code"]) == (403, "forbidden")


async def test_an_auth_that_answers_without_roles_leaves_the_decision_to_the_token(
    client: TestClient, fake: FakeAuth
) -> None:
    """While auth is being upgraded (204 without a body), editing works as before."""
    fake.answers_without_roles = True
    category = {"slug": "neu", "title": "Neu", "position": 99}
    assert (await client.post(CATEGORIES, json=category, headers=bearer(fake.token()))).status == 201
    customer = bearer(fake.token(roles=[]))
    assert (await client.delete(f"{CATEGORIES}/neu", headers=customer)).status == 403


async def test_an_unreadable_session_answer_is_503_not_an_edit(
    client: TestClient, fake: FakeAuth
) -> None:
    token = fake.token()
    fake.roles_now[session_of(token)] = "faq_editor"  # type: ignore[assignment]  # not a list
    response = await client.post(CATEGORIES, json={"slug": "neu", "title": "Neu", "position": 99},
                                 headers=bearer(token))
    assert response.status == 503
