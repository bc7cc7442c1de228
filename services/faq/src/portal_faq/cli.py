"""`portal-faq serve | migrate | import FILE`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from portal_faq.app import create_app
from portal_faq.config import SCHEMA, FaqSettings, get_settings
from portal_faq.content import FaqContentError, parse_faq
from portal_faq.seed import import_faq, load_seed_if_empty
from portal_shared import cli

log = logging.getLogger("portal-faq")


def main(argv: list[str] | None = None) -> int:
    return cli.main(
        cli.Service(
            program="portal-faq",
            load_settings=get_settings,
            create_app=create_app,
            database_url=lambda s: s.faq_database_url,
            schema=SCHEMA,
            package="portal_faq",
            port=lambda s: s.faq_port,
            commands={"import": (_import_arguments, _import)},
            after_migrate=_seed,
        ),
        argv,
    )


async def _seed(settings: FaqSettings) -> None:
    if await load_seed_if_empty(settings.faq_database_url):
        log.info("FAQ was empty: loaded the packaged FAQ")


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Replace the whole FAQ with the content of a TOML file."
    parser.add_argument("file", type=Path)


def _import(settings: FaqSettings, args: argparse.Namespace) -> int:
    content = cli.read_data_file("portal-faq", args.file, parse_faq, FaqContentError)
    counts = cli.run(import_faq(settings.faq_database_url, content))
    print(
        f"{counts.added} added, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{counts.removed} removed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
