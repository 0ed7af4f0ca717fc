"""Field validators and the same-account check the core models share (and migrations name
through core.models)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core import bounds
from core.currencies import CURRENCIES

DEFAULT_CLICK_WINDOW_DAYS = 90
CLICK_WINDOW_VALIDATORS = [MinValueValidator(1), MaxValueValidator(bounds.MAX_CLICK_WINDOW_DAYS)]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York).")


def validate_currency(value: str) -> None:
    if value not in CURRENCIES:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code (e.g. USD).")


def validate_opt_out_patterns(value: str) -> None:
    """Bounded: they are matched against every link the account mints. (Not a field
    validator, to need no migration: the account API and admin call it.)"""
    patterns = [line.strip() for line in value.splitlines() if line.strip()]
    if len(patterns) > bounds.MAX_OPT_OUT_PATTERNS:
        raise ValidationError(f"At most {bounds.MAX_OPT_OUT_PATTERNS} patterns.")
    for pattern in patterns:
        if len(pattern) > bounds.MAX_OPT_OUT_PATTERN_LENGTH:
            raise ValidationError(
                f"Each pattern at most {bounds.MAX_OPT_OUT_PATTERN_LENGTH} characters: "
                f"{pattern[:40]!r}... is longer."
            )


def validate_not_before_earliest(value: dt.datetime) -> None:
    if value < bounds.EARLIEST:
        raise ValidationError(f"Must be on or after {bounds.EARLIEST.date().isoformat()}.")


def related_in_same_account(obj: models.Model, *fields: str) -> None:
    """Every related object named in `fields` belongs to `obj`'s account (a staff user who
    configures two accounts must not pair one's offer with the other's template)."""
    errors = {}
    for name in fields:
        related = getattr(obj, name, None)
        if related is not None and related.account_id != obj.account_id:
            errors[name] = "Belongs to another account."
    if errors:
        raise ValidationError(errors)
