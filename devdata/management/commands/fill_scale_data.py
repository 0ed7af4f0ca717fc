from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from devdata.scale import ScaleFill, ScaleSize


class Command(BaseCommand):
    help = (
        "Fill PostgreSQL with realistic report data at scale (COPY): accounts, campaigns, "
        "messages, raw clicks with bots, first clicks, conversions. Prints one JSON object: "
        "what it made, and a dashboard login and an API key per account. Locks the tables "
        "it loads until it commits: meant for a benchmark or staging database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = ScaleSize()
        parser.add_argument("--messages", type=int, default=defaults.messages)
        parser.add_argument("--clicks", type=int, default=defaults.clicks, help="raw clicks")
        parser.add_argument("--conversions", type=int, default=defaults.conversions)
        parser.add_argument("--accounts", type=int, default=defaults.accounts)
        parser.add_argument("--weeks", type=int, default=defaults.weeks, help="period ending now")
        parser.add_argument(
            "--bot-share", type=float, default=defaults.bot_share, help="of raw clicks, 0 to 1"
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                f"fill_scale_data loads with PostgreSQL's COPY; this database is "
                f"{connection.vendor}. Set DATABASE_URL=postgres://... and run it again."
            )
        size = ScaleSize(
            messages=options["messages"],
            clicks=options["clicks"],
            conversions=options["conversions"],
            accounts=options["accounts"],
            weeks=options["weeks"],
            bot_share=options["bot_share"],
            seed=options["seed"],
        )
        if problems := size.problems():
            raise CommandError("; ".join(problems))

        def progress(line: str) -> None:
            if options["verbosity"] > 0:
                print(line, file=sys.stderr, flush=True)

        summary = ScaleFill(size, log=progress).run()
        progress(f"filled in {summary['elapsed_seconds']} s")
        self.stdout.write(json.dumps(summary, indent=2))
