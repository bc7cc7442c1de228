"""Parsing the customer master data file (`customer_number,last_name`).

All-or-nothing: the first bad row stops the import with its line number, so a half-read
file never reaches the database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from portal_auth.domain.customers import normalise_customer_number

EXPECTED_HEADER = ["customer_number", "last_name"]
MAX_CUSTOMER_NUMBER = 32
MAX_LAST_NAME = 200


@dataclass(frozen=True)
class CustomerRow:
    customer_number: str
    last_name: str


class CustomerImportError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def parse_customers_csv(text: str) -> list[CustomerRow]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows: dict[str, CustomerRow] = {}
    header_seen = False
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if not header_seen:
            header_seen = True
            if [f.strip().lower() for f in fields] != EXPECTED_HEADER:
                raise CustomerImportError(line, f"header must be {','.join(EXPECTED_HEADER)}")
            continue
        row = _parse_row(fields, line)
        if row.customer_number in rows:
            raise CustomerImportError(line, f"customer number {row.customer_number} appears twice")
        rows[row.customer_number] = row
    if not header_seen:
        raise CustomerImportError(1, f"empty file; header must be {','.join(EXPECTED_HEADER)}")
    return list(rows.values())


def _parse_row(fields: list[str], line: int) -> CustomerRow:
    if len(fields) != 2:
        raise CustomerImportError(line, f"expected 2 columns, found {len(fields)}")
    number = normalise_customer_number(fields[0])
    last_name = " ".join(fields[1].split())
    if not number:
        raise CustomerImportError(line, "customer number is empty")
    if len(number) > MAX_CUSTOMER_NUMBER or not number.isalnum():
        raise CustomerImportError(line, "customer number must be letters and digits, at most 32")
    if not last_name:
        raise CustomerImportError(line, "last name is empty")
    if len(last_name) > MAX_LAST_NAME:
        raise CustomerImportError(line, f"last name longer than {MAX_LAST_NAME} characters")
    return CustomerRow(number, last_name)
