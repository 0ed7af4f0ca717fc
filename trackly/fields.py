"""`UriField`: a URL column whose value is always stored as a URI (trackly.uris)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from trackly import uris


class UriField(models.URLField):
    """A URLField that converts an IRI to its URI where the value enters: on validation
    (admin forms, full_clean; the length is checked on the URI) and on every save, so no
    write path (admin, API, ORM) stores one a Location header cannot carry.

    The column is a URLField's: migrations record it as one (deconstruct), so adopting
    this field changes no schema and needs no migration.
    """

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not isinstance(value, str):
            return value
        try:
            return uris.to_uri(value)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        if isinstance(value, str) and not value.isascii():
            try:
                value = uris.to_uri(value)
            except ValueError:
                return value  # refused by validation; the redirect copes (uris.to_location)
            setattr(model_instance, self.attname, value)
        return value

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.URLField", args, kwargs
