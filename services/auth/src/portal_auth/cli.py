"""`portal-auth serve | migrate | import-customers FILE`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import asyncpg

from portal_auth import repository as repo
from portal_auth.app import create_app
from portal_auth.config import SCHEMA, AuthSettings, get_settings
from portal_auth.domain.customer_import import (
    CustomerImportError,
    CustomerRow,
    parse_customers_csv,
)
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
            commands={"import-customers": (_import_arguments, _import_customers)},
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
    try:
        rows = parse_customers_csv(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"portal-auth: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"portal-auth: {args.file} is not UTF-8 text; nothing imported", file=sys.stderr)
        return 1
    except CustomerImportError as exc:
        print(f"portal-auth: {args.file}: {exc}; nothing imported", file=sys.stderr)
        return 1
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


if __name__ == "__main__":
    raise SystemExit(main())
