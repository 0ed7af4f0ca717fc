from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from links.bots import classify_user_agent


class Command(BaseCommand):
    help = "Classify user agents read one per line from stdin: 'bot<TAB>reason' or 'human<TAB>-'."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in sys.stdin:
            verdict = classify_user_agent(line.rstrip("\r\n"))
            self.stdout.write(f"bot\t{verdict.reason}" if verdict.is_bot else "human\t-")
