"""`python manage.py apply_retention`: enforce each account's data_retention_days, then
return (reporting.retention)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from reporting.retention import retention_apply


class Command(BaseCommand):
    help = "Delete the raw rows past each account's data retention; print a summary per table."

    def handle(self, *args: Any, **options: Any) -> None:
        for table, result in retention_apply().items():
            self.stdout.write(
                json.dumps(
                    {
                        "table": table,
                        "rows_deleted": result.rows,
                        "partitions_dropped": result.partitions,
                    }
                )
            )
