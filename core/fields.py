"""`UriField`: a URL column whose value is always stored as a URI (core.uris)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from core import uris


def validate_no_raw_controls(value: str) -> None:
    if isinstance(value, str) and uris.has_raw_controls(value):
        raise ValidationError(
            "Must not hold spaces or control characters (percent-encode them).", code="invalid"
        )


class UriField(models.URLField):
    """A URLField that converts an IRI to its URI wherever the value enters: validation
    (admin forms, full_clean) refuses what cannot be converted and checks the length of
    the URI; every save, update() and lookup converts what can be, so no write path
    (admin, API, ORM) stores an IRI, and `filter(url=iri)` finds its URI.

    The column is a URLField's: migrations record it as one (deconstruct), so adopting
    this field changes no schema and needs no migration.
    """

    default_validators = [*models.URLField.default_validators, validate_no_raw_controls]

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not isinstance(value, str):
            return value
        try:
            return uris.to_uri(value)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def get_prep_value(self, value: Any) -> Any:
        # Not CharField's (it calls to_python, which raises): a query never fails here.
        value = models.Field.get_prep_value(self, value)
        if value is None:
            return None
        return _converted(str(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        if isinstance(value, str) and not value.isascii():
            value = _converted(value)
            setattr(model_instance, self.attname, value)  # what the API answers with
        return value

    def formfield(self, **kwargs: Any) -> Any:
        # A URL typed in a form without its scheme is https (Django 6's default, chosen now).
        return super().formfield(**{"assume_scheme": "https", **kwargs})

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.URLField", args, kwargs


def _converted(value: str) -> str:
    try:
        return uris.to_uri(value)
    except ValueError:
        return value  # refused by validation; the redirect copes (uris.to_location)
