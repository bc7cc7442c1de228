"""The account itself: deletion (GDPR art. 17) and roles."""

from __future__ import annotations

from uuid import UUID

from portal_auth import throttle
from portal_auth.access_tokens import AccessClaims
from portal_auth.context import AuthContext, Caller
from portal_auth.domain import email
from portal_auth.repository import accounts as account_records
from portal_auth.repository import security
from portal_shared.db import Executor

ROLES = frozenset({"faq_editor"})


class UnknownAccount(LookupError):
    pass


class UnknownRole(ValueError):
    pass


async def delete(ctx: AuthContext, claims: AccessClaims, password: str, caller: Caller) -> None:
    """Erase the account and everything hanging off it; the customer number is free again.

    The audit entry keeps the customer number and the time, which the operator needs to
    answer for the deletion; nothing else about the person remains.
    """
    account = await throttle.confirm_password(ctx, claims.account_id, password, "password", caller)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await account_records.delete_account(conn, account.id)
        await security.audit(conn, now, "account_deleted", caller.ip, account.id, account.customer_number)


async def grant_role(conn: Executor, address: str, role: str) -> None:
    await account_records.grant_role(conn, await _account_id(conn, address, role), role)


async def revoke_role(conn: Executor, address: str, role: str) -> None:
    """Takes effect at once where the current roles are asked for (`GET /session`, which
    the FAQ calls before every edit); access tokens already out still carry the role
    until they expire (ACCESS_TOKEN_TTL_SECONDS), and new ones do not."""
    await account_records.revoke_role(conn, await _account_id(conn, address, role), role)


async def _account_id(conn: Executor, address: str, role: str) -> UUID:
    if role not in ROLES:
        raise UnknownRole(role)
    account = await account_records.find_by_email(conn, email.key(address))
    if account is None:
        raise UnknownAccount(address)
    return account.id
