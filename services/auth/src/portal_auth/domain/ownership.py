"""Who may register and activate a customer number: proof of ownership beyond the invoice.

Customer number and last name are printed on every invoice, so anyone holding one can
type them. What else the master data holds decides what a registration must prove:

- a registration code on file (sent by letter): the registration must give it. A wrong
  or missing code is the same `customer_mismatch` as a wrong last name (checked by the
  use case, with the last name);
- an address on file: the registration must use it. Another address creates nothing and
  the address on file is told (`registration-refused`); the registrant sees the usual 202;
- neither: customer number and last name suffice.

Whatever is on file: an active account holding the customer number or the address is
told instead of a second one being created (`account-exists`); a pending registration
of the same address is replaced (the new link goes to the same mailbox); pending
registrations of one customer number from different addresses wait side by side, each
earlier one told of the later (`registration-contested`), until one is activated —
which removes the others and tells them. So a later registration can no longer void
the owner's link, and whoever activates first is known to every other registrant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from portal_auth.domain.accounts import Account, AccountStatus, Customer

RefusalReason = Literal["other_address", "already_held"]


@dataclass(frozen=True)
class Holding:
    """An account holding the customer number or the address of a registration."""

    id: UUID
    status: AccountStatus | str
    customer_number: str
    email_key: str


@dataclass(frozen=True)
class Decision:
    """What one registration leads to."""

    create: bool = False
    # Active accounts whose owners get an `account-exists` notice.
    notify: tuple[UUID, ...] = ()
    # Why the address on file gets a `registration-refused` mail, and the account whose
    # address it names (masked) when that is not the registrant's.
    refused: RefusalReason | None = None
    refused_about: UUID | None = None
    # Pending registrations of the same address: replaced by this one.
    replace: tuple[UUID, ...] = ()
    # Pending registrations of the customer number from other addresses: kept, and told.
    contest: tuple[UUID, ...] = ()


def decide(
    customer_number: str, on_file_email_key: str | None, address_key: str,
    holders: Sequence[Holding | Account],
) -> Decision:
    """The outcome of a registration whose customer number, last name and code matched.

    `holders`: every account holding `customer_number` or `address_key`.
    """
    if on_file_email_key is not None and address_key != on_file_email_key:
        return Decision(refused="other_address")
    active = [h for h in holders if h.status == AccountStatus.ACTIVE]
    if active:
        held_elsewhere = [
            h for h in active if h.customer_number == customer_number and h.email_key != address_key
        ]
        if on_file_email_key is not None and held_elsewhere:
            # The address on file is the better proof: tell it who holds its customer
            # number, so the customer can have support release it.
            return Decision(
                notify=tuple(h.id for h in active), refused="already_held",
                refused_about=held_elsewhere[0].id,
            )
        return Decision(notify=tuple(h.id for h in active))
    return Decision(
        create=True,
        replace=tuple(h.id for h in holders if h.email_key == address_key),
        contest=tuple(
            h.id for h in holders
            if h.customer_number == customer_number and h.email_key != address_key
        ),
    )


def may_activate(
    on_file_email_key: str | None, code_on_file: bool, email_key: str, registered_with_code: bool
) -> bool:
    """Whether a pending registration still proves what is on file now: an address or a
    code imported while it was pending must be met before it can become an account."""
    if on_file_email_key is not None and email_key != on_file_email_key:
        return False
    return registered_with_code or not code_on_file


def activation_goes_ahead(customer: Customer | None, candidate: Account, others: Sequence[Account]) -> bool:
    """Whether the pending `candidate` becomes the account of its customer number: it still
    proves what is on file, and none of the `others` holding the number is active. If
    not, the registration is removed and its link answers as invalid."""
    proves = customer is not None and may_activate(
        customer.email_key, customer.code_on_file, candidate.email_key, candidate.registered_with_code
    )
    return proves and not any(h.status == AccountStatus.ACTIVE for h in others)


def mask_email(address: str) -> str:
    """An address shown to someone who may not know it: "max@example.de" → "m***@e***.de".

    Enough for its owner (or support on the phone) to recognise it, too little to write to.
    """
    local, _, domain = address.strip().rpartition("@")
    host, dot, top = domain.rpartition(".")
    if not host:
        host, dot, top = domain, "", ""
    return f"{local[:1]}***@{host[:1]}***{dot}{top}"
