"""FastAPI-Users' JWT login as its documentation sets it up: SQLAlchemy (asyncpg) user
table, `BearerTransport` + `JWTStrategy`, the default `PasswordHelper` (pwdlib's
recommended argon2id: m=64 MiB, t=3, p=4). One uvicorn process, like our `portal-auth
serve`. Also `--hash-ceiling SECONDS THREADS`: verifications/s of that hasher alone.
What it lacks next to ours: no throttling or challenge, no refresh tokens or sessions
kept server-side, no audit log.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncGenerator

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

SECRET = "peers-bench-secret-peers-bench-secret"


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


engine = create_async_engine(os.environ.get("PEER_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/x"))
sessions = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncGenerator[AsyncSession, None]:
    async with sessions() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_session)):  # type: ignore[no-untyped-def]  # noqa: B008 - FastAPI idiom
    yield SQLAlchemyUserDatabase(session, User)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(user_db=Depends(get_user_db)):  # type: ignore[no-untyped-def]  # noqa: B008 - FastAPI idiom
    yield UserManager(user_db)


backend = AuthenticationBackend(
    name="jwt", transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=lambda: JWTStrategy(secret=SECRET, lifetime_seconds=900),
)
users = FastAPIUsers[User, uuid.UUID](get_user_manager, [backend])
app = FastAPI()
app.include_router(users.get_auth_router(backend), prefix="/auth/jwt")
app.include_router(users.get_register_router(UserRead, UserCreate), prefix="/auth")


@app.on_event("startup")
async def create_tables() -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


def hash_ceiling(seconds: float, threads: int) -> float:
    import time
    from concurrent.futures import ThreadPoolExecutor

    from fastapi_users.password import PasswordHelper

    helper = PasswordHelper()
    stored = helper.hash("Sonne!Wind7Meer")
    deadline = time.perf_counter() + seconds

    def worker() -> int:
        done = 0
        while time.perf_counter() < deadline:
            helper.verify_and_update("Sonne!Wind7Meer", stored)
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    return total / (time.perf_counter() - started)


if __name__ == "__main__":
    if sys.argv[1] == "--hash-ceiling":
        print(hash_ceiling(float(sys.argv[2]), int(sys.argv[3])))
    else:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop="uvloop")
