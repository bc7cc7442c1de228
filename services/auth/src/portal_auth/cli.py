"""`portal-auth serve | migrate | import-customers FILE`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from portal_auth import accounts
from portal_auth.app import create_app
from portal_auth.config import SCHEMA, AuthSettings, get_settings
from portal_auth.domain.customer_import import (
    CustomerImportError,
    CustomerRow,
    parse_customers_csv,
)
from portal_auth.repository import customers as repo
from portal_shared import cli


def main(argv: list[str] | None = None) -> int:
    return cli.main(
        cli.Service(
            program="portal-auth",
            load_settings=get_settings,
            create_app=create_app,
            database_url=lambda s: s.auth_database_url,
            schema=SCHEMA,
            package="portal_auth",
            port=lambda s: s.auth_port,
            commands={
                "import-customers": (_import_arguments, _import_customers),
                "grant-role": (_role_arguments, _change_role(
                    accounts.grant_role, "granted (in effect from the next login or refresh)")),
                "revoke-role": (_role_arguments, _change_role(
                    accounts.revoke_role, "revoked (FAQ editing ends at once; access tokens "
                    "already issued still name it until they expire)")),
            },
        ),
        argv,
    )


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Load customer master data (CSV: customer_number,last_name); upsert."
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--if-empty", action="store_true", help="import only when there are no customers yet"
    )


def _import_customers(settings: AuthSettings, args: argparse.Namespace) -> int:
    rows = cli.read_data_file("portal-auth", args.file, parse_customers_csv, CustomerImportError)
    counts = cli.run(import_customers(settings.auth_database_url, rows, args.if_empty))
    if counts is None:
        print("customers already present; nothing imported")
    else:
        print(f"{counts.added} added, {counts.updated} updated, {counts.unchanged} unchanged")
    return 0


async def import_customers(
    dsn: str, rows: list[CustomerRow], only_if_empty: bool = False
) -> repo.UpsertCounts | None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        async with conn.transaction():
            if only_if_empty and await repo.count_customers(conn) > 0:
                return None
            return await repo.upsert_customers(conn, rows)
    finally:
        await conn.close()


def _role_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Give or take a role of the account with this e-mail address."
    parser.add_argument("email")
    parser.add_argument("role", choices=sorted(accounts.ROLES))


def _change_role(change: Callable[..., Awaitable[None]], done: str):  # type: ignore[no-untyped-def]
    def command(settings: AuthSettings, args: argparse.Namespace) -> int:
        async def apply() -> None:
            conn = await asyncpg.connect(settings.auth_database_url, server_settings={"search_path": SCHEMA})
            try:
                await change(conn, args.email, args.role)
            finally:
                await conn.close()

        try:
            cli.run(apply())
        except accounts.UnknownAccount:
            print(f"portal-auth: no account with the address {args.email}", file=sys.stderr)
            return 1
        print(f"{args.email}: role {args.role} {done}")
        return 0

    return command


if __name__ == "__main__":
    raise SystemExit(main())
