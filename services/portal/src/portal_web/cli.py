"""`portal-web serve | migrate`."""

from __future__ import annotations

from portal_shared import cli
from portal_web.app import create_app
from portal_web.config import SCHEMA, get_settings


def main(argv: list[str] | None = None) -> int:
    return cli.main(
        cli.Service(
            program="portal-web",
            load_settings=get_settings,
            create_app=create_app,
            database_url=lambda s: s.portal_database_url,
            schema=SCHEMA,
            package="portal_web",
            port=lambda s: s.portal_port,
        ),
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
