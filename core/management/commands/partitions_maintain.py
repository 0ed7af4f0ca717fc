"""`python manage.py partitions_maintain`: create the month partitions the partitioned
tables need around now (core.partitions.partitions_maintain), moving what their default
partitions caught; print what was created. Nothing to do on SQLite."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from core.partitions import partitions_maintain


class Command(BaseCommand):
    help = (
        "Create the month partitions of the partitioned tables from a few months back to a "
        "few ahead; print the partitions created per table."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for table, created in partitions_maintain().items():
            self.stdout.write(json.dumps({"table": table, "partitions_created": created}))
