"""`create_account NAME --domain HOST`: an account, its first API key and postback token."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from core.services import account_create


class Command(BaseCommand):
    help = (
        "Create an account with a tracking domain; prints {account_id, api_key, "
        "postback_token} as JSON (both secrets shown this once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--domain",
            required=True,
            help="Tracking host: go.brand.com (https), or http://127.0.0.1:8000 in development.",
        )
        parser.add_argument(
            "--fallback-url", default="", help="Where unknown links on the domain go."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            new = account_create(
                name=options["name"], domain=options["domain"], fallback_url=options["fallback_url"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except IntegrityError as exc:
            raise CommandError(
                f"Tracking domain {options['domain']!r} belongs to another account."
            ) from exc
        self.stdout.write(
            json.dumps(
                {
                    "account_id": new.account.pk,
                    "api_key": new.api_key,
                    "postback_token": new.postback_token,
                }
            )
        )
