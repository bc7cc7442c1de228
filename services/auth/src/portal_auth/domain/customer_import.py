"""Parsing the customer master data file.

Columns: `customer_number,last_name` and, optionally, `email` (the address on file) and
`registration_code` (a code sent to the customer by letter), in any order after the
first two. An empty `email` or `registration_code` cell leaves what is on file
unchanged, so a file without them never removes a customer's protection.

All-or-nothing: the first bad row stops the import with its line number, so a half-read
file never reaches the database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from portal_auth.domain import email
from portal_auth.domain.customers import (
    is_registration_code,
    normalise_customer_number,
    normalise_registration_code,
)

REQUIRED_COLUMNS = ("customer_number", "last_name")
OPTIONAL_COLUMNS = ("email", "registration_code")
HEADER_RULE = "customer_number,last_name[,email][,registration_code]"
MAX_CUSTOMER_NUMBER = 32
MAX_LAST_NAME = 200


@dataclass(frozen=True)
class CustomerRow:
    customer_number: str
    last_name: str
    email: str | None = None
    # Normalised; exists only while the file is imported (the database keeps its hash).
    registration_code: str | None = None


class CustomerImportError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def parse_customers_csv(text: str) -> list[CustomerRow]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows: dict[str, CustomerRow] = {}
    columns: list[str] | None = None
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if columns is None:
            columns = _header(fields, line)
            continue
        row = _parse_row(columns, fields, line)
        if row.customer_number in rows:
            raise CustomerImportError(line, f"customer number {row.customer_number} appears twice")
        rows[row.customer_number] = row
    if columns is None:
        raise CustomerImportError(1, f"empty file; header must be {HEADER_RULE}")
    return list(rows.values())


def _header(fields: list[str], line: int) -> list[str]:
    names = [f.strip().lower() for f in fields]
    optional = names[len(REQUIRED_COLUMNS):]
    if (
        tuple(names[: len(REQUIRED_COLUMNS)]) != REQUIRED_COLUMNS
        or any(name not in OPTIONAL_COLUMNS for name in optional)
        or len(set(optional)) != len(optional)
    ):
        raise CustomerImportError(line, f"header must be {HEADER_RULE}")
    return names


def _parse_row(columns: list[str], fields: list[str], line: int) -> CustomerRow:
    if len(fields) != len(columns):
        raise CustomerImportError(line, f"expected {len(columns)} columns, found {len(fields)}")
    cells = dict(zip(columns, fields, strict=True))
    number = normalise_customer_number(cells["customer_number"])
    last_name = " ".join(cells["last_name"].split())
    if not number:
        raise CustomerImportError(line, "customer number is empty")
    if len(number) > MAX_CUSTOMER_NUMBER or not number.isalnum():
        raise CustomerImportError(line, "customer number must be letters and digits, at most 32")
    if not last_name:
        raise CustomerImportError(line, "last name is empty")
    if len(last_name) > MAX_LAST_NAME:
        raise CustomerImportError(line, f"last name longer than {MAX_LAST_NAME} characters")
    address = email.clean(cells.get("email", "")) or None
    if address is not None and not email.is_valid(address):
        raise CustomerImportError(line, "e-mail address is not valid")
    code = normalise_registration_code(cells.get("registration_code", "")) or None
    if code is not None and not is_registration_code(code):
        raise CustomerImportError(
            line, "registration code must be 8 to 64 letters (A-Z) and digits; spaces and dashes are ignored"
        )
    return CustomerRow(number, last_name, address, code)
