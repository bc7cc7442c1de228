"""`portal-mailer serve | migrate | dead-letters list | dead-letters replay [--id ID]…`."""

from __future__ import annotations

import argparse
import sys

from portal_mailer import dead_letters
from portal_mailer.app import create_app
from portal_mailer.config import SCHEMA, MailerSettings, get_settings
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
            commands={"dead-letters": (_dead_letter_arguments, _dead_letters)},
        ),
        argv,
    )


def _dead_letter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Inspect the mailer's dead-letter queue, or move its messages back to the mailer "
        "queue once the cause is fixed. Shows ids, types and reasons, never contents."
    )
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="id, event type, reason and time of every dead letter")
    replay = actions.add_parser("replay", help="requeue dead letters to the mailer queue")
    replay.add_argument(
        "--id", dest="ids", action="append", metavar="ID",
        help="only this message (repeatable); without --id, every dead letter",
    )


def _dead_letters(settings: MailerSettings, args: argparse.Namespace) -> int:
    if args.action == "list":
        letters = cli.run(dead_letters.list_dead_letters(settings))
        if letters:
            print(dead_letters.format_table(letters))
        print(f"{len(letters)} dead letter(s) in {settings.mailer_dead_letter_queue}")
        return 0
    result = cli.run(dead_letters.replay(settings, args.ids))
    for message_id in result.replayed:
        print(f"replayed {message_id}")
    print(f"{len(result.replayed)} dead letter(s) moved to {settings.mailer_queue}")
    if result.missing:
        print(f"portal-mailer: not in the dead-letter queue: {', '.join(result.missing)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
