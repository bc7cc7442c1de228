"""Support's view of who holds a customer number, and its release
(`portal-auth customer show|release NUMBER`).

When a customer cannot register because someone else holds their customer number
(registered with an invoice before the address or a code was on file), support looks
at the holders — addresses masked, as on the phone nobody needs more — and releases
the number: the holding accounts are deleted, each holder is told by mail, and the
rightful customer registers. Both are written to the audit log with the operator's
name (the OS user who ran the command).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from portal_auth.config import SCHEMA
from portal_auth.domain import customers, ownership
from portal_auth.domain.accounts import Account, Customer
from portal_auth.repository import accounts, security
from portal_auth.repository import customers as customer_records
from portal_shared import outbox
from portal_shared.db import Executor
from portal_shared.events import CustomerReleased, new_event


class UnknownCustomer(LookupError):
    pass


@dataclass(frozen=True)
class HolderView:
    status: str
    masked_email: str
    created_at: datetime
    activated_at: datetime | None
    # None: no address on file to compare with.
    is_address_on_file: bool | None


@dataclass(frozen=True)
class CustomerView:
    customer_number: str
    last_name: str
    masked_email_on_file: str | None
    code_on_file: bool
    holders: list[HolderView]


async def show(conn: Executor, customer_number: str, operator: str) -> CustomerView:
    number = customers.normalise_customer_number(customer_number)
    async with conn.transaction():
        customer, holders = await _customer_and_holders(conn, number)
        await security.audit(
            conn, datetime.now(UTC), "customer_shown", None, customer_number=number,
            by=operator, holders=len(holders),
        )
    return CustomerView(
        number, customer.last_name,
        ownership.mask_email(customer.email) if customer.email else None,
        customer.code_on_file,
        [_view(customer, h) for h in holders],
    )


async def release(
    conn: Executor, customer_number: str, operator: str, reason: str | None = None
) -> list[HolderView]:
    """Delete every account holding the customer number (pending and active) and tell
    each holder; returns what was released."""
    number = customers.normalise_customer_number(customer_number)
    now = datetime.now(UTC)
    correlation_id = f"portal-auth customer release {number}"
    async with conn.transaction():
        # Registration's and activation's lock: none of them runs halfway meanwhile.
        await accounts.lock_keys(conn, f"customer:{number}")
        customer, holders = await _customer_and_holders(conn, number)
        await accounts.delete_accounts(conn, [h.id for h in holders])
        for holder in holders:
            released = CustomerReleased(
                account_id=holder.id, customer_number=number, email=holder.email,
                last_name=holder.last_name, locale=holder.locale, status=holder.status.value,
            )
            await outbox.enqueue(conn, new_event(released, correlation_id), SCHEMA)
            await security.audit(
                conn, now, "customer_released", None, holder.id, number,
                by=operator, status=holder.status.value, reason=reason,
            )
        if not holders:
            await security.audit(
                conn, now, "customer_released", None, customer_number=number,
                by=operator, status=None, reason=reason,
            )
    return [_view(customer, h) for h in holders]


async def _customer_and_holders(
    conn: Executor, number: str
) -> tuple[Customer, list[Account]]:
    customer = await customer_records.find_customer(conn, number)
    if customer is None:
        raise UnknownCustomer(number)
    return customer, await accounts.holders_of_customer(conn, number)


def _view(customer: Customer, holder: Account) -> HolderView:
    on_file = customer.email_key
    return HolderView(
        holder.status.value, ownership.mask_email(holder.email), holder.created_at,
        holder.activated_at, None if on_file is None else holder.email_key == on_file,
    )
