"""`python manage.py build_rollups`: bring the report rollups up to date, then return."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reporting.services import rollups_build


class Command(BaseCommand):
    help = "Bring the report rollups up to date (incrementally) and return."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="Rebuild every day and message of every account, not only what changed "
            "(after loading data with the triggers off, or to check the incremental build).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        result = rollups_build(everything=options["full"])
        self.stdout.write(
            json.dumps(
                {
                    "days": result.days,
                    "messages": result.messages,
                    "seconds": round(time.monotonic() - started, 3),
                }
            )
        )
