"""`portal-mailer serve | migrate`."""

from __future__ import annotations

from portal_mailer.app import create_app
from portal_mailer.config import SCHEMA, get_settings
from portal_shared import cli


def main(argv: list[str] | None = None) -> int:
    return cli.main(
        cli.Service(
            program="portal-mailer",
            load_settings=get_settings,
            create_app=create_app,
            database_url=lambda s: s.mailer_database_url,
            schema=SCHEMA,
            package="portal_mailer",
            port=lambda s: s.mailer_port,
        ),
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
