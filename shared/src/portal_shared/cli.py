"""The command-line shape every service shares: `serve`, `migrate`, and its own extras."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from portal_shared.logs import configure_logging
from portal_shared.migrations import migrate


@dataclass
class Service:
    program: str
    load_settings: Callable[[], Any]
    create_app: Callable[[Any], web.Application]
    database_url: Callable[[Any], str]
    schema: str
    package: str
    port: Callable[[Any], int]
    # Extra sub-commands: name -> (configure parser, run(settings, args) -> exit code).
    commands: dict[
        str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[Any, argparse.Namespace], int]]
    ] = field(default_factory=dict)
    # Runs after the SQL migrations, e.g. to load first content into empty tables.
    after_migrate: Callable[[Any], Awaitable[None]] | None = None


def main(service: Service, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=service.program)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service")
    sub.add_parser("migrate", help="apply pending database migrations")
    for name, (configure, _) in service.commands.items():
        configure(sub.add_parser(name, help=_summary(configure)))
    args = parser.parse_args(argv)

    settings = service.load_settings()
    configure_logging(settings.log_level, settings.log_format, service.program)
    if args.command == "serve":
        web.run_app(
            service.create_app(settings),
            host=settings.bind_host,
            port=service.port(settings),
            print=lambda _: logging.getLogger(service.program).info(
                "listening on %s:%s", settings.bind_host, service.port(settings)
            ),
            shutdown_timeout=15,
            loop=new_event_loop(settings.event_loop),
        )
        return 0
    if args.command == "migrate":
        applied = run(migrate(service.database_url(settings), service.schema, service.package))
        if service.after_migrate is not None:
            run(service.after_migrate(settings))
        names = f": {', '.join(applied)}" if applied else ""
        print(f"{service.program}: {len(applied)} migration(s) applied{names}")
        return 0
    return service.commands[args.command][1](settings, args)


def _summary(configure: Callable[[argparse.ArgumentParser], None]) -> str:
    """The opening words of a command's description, for the list under `--help`."""
    probe = argparse.ArgumentParser()
    configure(probe)
    opening = re.split(r" \(|; |\. ", probe.description or "", maxsplit=1)[0].rstrip(".")
    return opening[:1].lower() + opening[1:]


T = TypeVar("T")


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """The loop `serve` runs on (`EVENT_LOOP`, defaulted per service in its settings)."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def read_data_file(
    program: str, path: Path, parse: Callable[[str], T], invalid: type[Exception]
) -> T:
    """Read and parse an operator's input file, or stop with one line saying why.

    Parsing is all-or-nothing, so any failure here means nothing was imported.
    """
    try:
        return parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SystemExit(f"{program}: cannot read {path}: {exc.strerror}; nothing imported") from None
    except UnicodeDecodeError:
        raise SystemExit(f"{program}: {path} is not UTF-8 text; nothing imported") from None
    except invalid as exc:
        raise SystemExit(f"{program}: {path}: {exc}; nothing imported") from None


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]
