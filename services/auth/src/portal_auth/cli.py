"""`portal-auth serve | migrate | import-customers FILE | grant-role | revoke-role |
customer show|release NUMBER`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import asyncpg

from portal_auth import accounts, holders, master_data
from portal_auth.app import create_app
from portal_auth.config import SCHEMA, AuthSettings, get_settings
from portal_auth.domain.customer_import import HEADER_RULE, CustomerImportError, parse_customers_csv
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
                "customer": (_customer_arguments, _customer),
            },
        ),
        argv,
    )


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        f"Load customer master data (CSV: {HEADER_RULE}); upsert. An empty email or "
        "registration_code keeps what is on file; codes are stored only as hashes."
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--if-empty", action="store_true", help="import only when there are no customers yet"
    )


def _import_customers(settings: AuthSettings, args: argparse.Namespace) -> int:
    rows = cli.read_data_file("portal-auth", args.file, parse_customers_csv, CustomerImportError)
    counts = cli.run(master_data.import_customers(settings.auth_database_url, rows, args.if_empty))
    if counts is None:
        print("customers already present; nothing imported")
    else:
        print(f"{counts.added} added, {counts.updated} updated, {counts.unchanged} unchanged")
    return 0


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


def _customer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Support: who holds a customer number; release it for its rightful customer."
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser(
        "show", help="the accounts holding the customer number (addresses masked) and what is on file"
    )
    show.add_argument("customer_number")
    release = actions.add_parser(
        "release",
        help="delete the accounts holding the customer number, so its customer can register; "
        "each holder is told by mail",
    )
    release.add_argument("customer_number")
    release.add_argument("--reason", help="e.g. the ticket number; kept in the audit log")


def _customer(settings: AuthSettings, args: argparse.Namespace) -> int:
    operator = _operator()

    async def apply():  # type: ignore[no-untyped-def]
        conn = await asyncpg.connect(settings.auth_database_url, server_settings={"search_path": SCHEMA})
        try:
            if args.action == "show":
                return await holders.show(conn, args.customer_number, operator)
            return await holders.release(conn, args.customer_number, operator, args.reason)
        finally:
            await conn.close()

    try:
        result = cli.run(apply())
    except holders.UnknownCustomer as unknown:
        print(f"portal-auth: no customer number {unknown} in the master data", file=sys.stderr)
        return 1
    if args.action == "show":
        _print_customer(result)
    else:
        _print_released(args.customer_number, result)
    return 0


def _operator() -> str:
    """Who runs the command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _print_customer(view: holders.CustomerView) -> None:
    print(f"customer number {view.customer_number}: {view.last_name}")
    print(f"  e-mail on file: {view.masked_email_on_file or 'no'}")
    print(f"  registration code on file: {'yes' if view.code_on_file else 'no'}")
    if not view.holders:
        print("  held by: nobody (free to register)")
        return
    print(f"  held by {len(view.holders)} account(s):")
    for holder in view.holders:
        on_file = {None: "", True: ", the address on file", False: ", NOT the address on file"}
        print(
            f"    {holder.status:<8} {holder.masked_email}{on_file[holder.is_address_on_file]};"
            f" created {_moment(holder.created_at)}; activated {_moment(holder.activated_at)}"
        )


def _print_released(number: str, released: list[holders.HolderView]) -> None:
    if not released:
        print(f"customer number {number}: no account held it; nothing released")
        return
    for holder in released:
        print(f"released: {holder.status} account {holder.masked_email} (its holder is told by mail)")
    print(f"customer number {number} is free: its customer can register now")


def _moment(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M %Z")


if __name__ == "__main__":
    raise SystemExit(main())
