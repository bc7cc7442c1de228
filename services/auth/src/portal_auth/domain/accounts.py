"""Accounts as the use cases see them: typed, whatever table or query they come from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class AccountStatus(StrEnum):
    # Registered, waiting for its activation link to be used.
    PENDING = "pending"
    ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class Account:
    id: UUID
    status: AccountStatus
    customer_number: str
    email: str
    email_key: str
    locale: str
    # The customer's name as on file (the master data), for the mails.
    last_name: str
    password_hash: str
    created_at: datetime
    activated_at: datetime | None
    # Whether the registration gave the letter's code (activation then needs none anew).
    registered_with_code: bool

    @property
    def is_active(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    @property
    def is_pending(self) -> bool:
        return self.status is AccountStatus.PENDING


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer of the master data (imported from the billing system)."""

    customer_number: str
    last_name: str
    email: str | None
    email_key: str | None
    registration_code_hash: str | None

    @property
    def code_on_file(self) -> bool:
        return self.registration_code_hash is not None
