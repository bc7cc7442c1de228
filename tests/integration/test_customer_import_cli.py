"""`portal-auth import-customers FILE.csv` as an operator runs it."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

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
