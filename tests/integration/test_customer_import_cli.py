"""`portal-auth import-customers FILE.csv` as an operator runs it."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest
from argon2 import PasswordHasher

from tests.support import CommandResult, console_script, run_command

pytestmark = pytest.mark.integration

HEADER = "customer_number,last_name\n"


async def run_import(database_url: str, csv: Path) -> CommandResult:
    return await run_command(
        console_script("portal-auth"), "import-customers", str(csv),
        env={**os.environ, "AUTH_DATABASE_URL": database_url},
    )


async def customers(database_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT customer_number, last_name FROM auth.customers")
    finally:
        await conn.close()
    return {r["customer_number"]: r["last_name"] for r in rows}


async def test_import_is_an_upsert_that_reports_its_counts(database_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text(HEADER + "10001,Mustermann\n10002,Müller\n", encoding="utf-8")
    assert (await run_import(database_url, csv)).stdout.strip() == "2 added, 0 updated, 0 unchanged"
    assert (await run_import(database_url, csv)).stdout.strip() == "0 added, 0 updated, 2 unchanged"

    csv.write_text(HEADER + "10001,Mustermann-Schulz\n10002,Müller\n10003,Schmidt\n", encoding="utf-8")
    assert (await run_import(database_url, csv)).stdout.strip() == "1 added, 1 updated, 1 unchanged"
    assert await customers(database_url) == {
        "10001": "Mustermann-Schulz", "10002": "Müller", "10003": "Schmidt"
    }


async def test_a_bad_row_names_its_line_and_nothing_is_imported(database_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text(HEADER + "10001,Mustermann\n10002\n10003,Schmidt\n", encoding="utf-8")
    result = (await run_import(database_url, csv))
    assert result.returncode == 1
    assert "line 3" in result.stderr and "nothing imported" in result.stderr
    assert await customers(database_url) == {}


async def on_file(database_url: str, number: str) -> asyncpg.Record:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchrow(
            "SELECT last_name, email, email_key, registration_code_hash FROM auth.customers"
            " WHERE customer_number = $1", number,
        )
    finally:
        await conn.close()


async def test_the_address_on_file_and_a_hash_of_the_letter_code_are_imported(
    database_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "customer_number,last_name,email,registration_code\n"
        "10001,Mustermann,Max@Example.de,ABCD-EFGH-2345\n"
        "10002,Müller,,\n",
        encoding="utf-8",
    )
    assert (await run_import(database_url, csv)).stdout.strip() == "2 added, 0 updated, 0 unchanged"
    row = await on_file(database_url, "10001")
    assert (row["email"], row["email_key"]) == ("Max@Example.de", "max@example.de")
    assert row["registration_code_hash"].startswith("$argon2id$")
    assert "ABCD" not in row["registration_code_hash"]
    assert PasswordHasher().verify(row["registration_code_hash"], "ABCDEFGH2345")
    assert await on_file(database_url, "10002") == ("Müller", None, None, None)

    # The same file again: the code is verified, not hashed anew, so nothing changed.
    assert (await run_import(database_url, csv)).stdout.strip() == "0 added, 0 updated, 2 unchanged"
    assert (await on_file(database_url, "10001"))["registration_code_hash"] == row["registration_code_hash"]


async def test_a_code_hashed_with_older_parameters_is_hashed_again_at_the_next_import(
    database_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text("customer_number,last_name,email,registration_code\n10001,Mustermann,,ABCDEFGH\n",
                   encoding="utf-8")
    await run_import(database_url, csv)
    legacy = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash("ABCDEFGH")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE auth.customers SET registration_code_hash = $1", legacy)
    finally:
        await conn.close()
    assert (await run_import(database_url, csv)).stdout.strip() == "0 added, 1 updated, 0 unchanged"
    upgraded = (await on_file(database_url, "10001"))["registration_code_hash"]
    assert upgraded.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert PasswordHasher().verify(upgraded, "ABCDEFGH")
    assert (await run_import(database_url, csv)).stdout.strip() == "0 added, 0 updated, 1 unchanged"


async def test_an_old_two_column_file_or_empty_cells_keep_the_address_and_code_on_file(
    database_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "customer_number,last_name,email,registration_code\n10001,Mustermann,max@example.de,ABCDEFGH\n",
        encoding="utf-8",
    )
    await run_import(database_url, csv)
    before = await on_file(database_url, "10001")

    csv.write_text(HEADER + "10001,Mustermann\n", encoding="utf-8")
    assert (await run_import(database_url, csv)).stdout.strip() == "0 added, 0 updated, 1 unchanged"
    csv.write_text("customer_number,last_name,registration_code,email\n10001,Mustermann,,\n", encoding="utf-8")
    assert (await run_import(database_url, csv)).stdout.strip() == "0 added, 0 updated, 1 unchanged"
    assert await on_file(database_url, "10001") == before

    # A new code or address replaces the one on file.
    csv.write_text(
        "customer_number,last_name,registration_code,email\n10001,Mustermann,NEUERCODE1,max@neu.example\n",
        encoding="utf-8",
    )
    assert (await run_import(database_url, csv)).stdout.strip() == "0 added, 1 updated, 0 unchanged"
    after = await on_file(database_url, "10001")
    assert after["email"] == "max@neu.example"
    assert PasswordHasher().verify(after["registration_code_hash"], "NEUERCODE1")


async def test_a_bad_address_or_code_names_its_line_and_nothing_is_imported(
    database_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "customers.csv"
    for bad_row in ("10002,Müller,kein-at,\n", "10002,Müller,,KURZ\n"):
        csv.write_text(
            "customer_number,last_name,email,registration_code\n10001,Mustermann,max@example.de,ABCDEFGH\n"
            + bad_row,
            encoding="utf-8",
        )
        result = await run_import(database_url, csv)
        assert result.returncode == 1
        assert "line 3" in result.stderr and "nothing imported" in result.stderr
        assert "KURZ" not in result.stderr
        assert await customers(database_url) == {}
