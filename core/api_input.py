"""What a JSON body under /api/v1/ may hold: storable text, and only the fields it names.

Two rules, one home each:

- **Storable text.** `JSONParser` (the API's only parser, settings REST_FRAMEWORK) refuses
  a body with a NUL or a lone surrogate anywhere (core.text), keys included, with a 400
  naming each field by dotted path. A list body, or the list a view names in
  `bulk_items_key`, is reported per item (`[{"index": 3, "errors": {...}}]`), as the bulk
  endpoints report everything. Every view gets this without doing anything.
- **Unknown fields are refused**, as Stripe does: a field the endpoint does not take is a
  400 (`{"errors": {"bot_detection": ["Unknown field."]}}`), and so is a read-only one
  (`id`, `created_at`): silently ignoring either hides a client's mistake. A view adopts it
  in one line:
    - a DRF serializer: inherit `RefuseUnknownFields` (core.api.AccountModelSerializer
      does, so every CRUD serializer on it has it); nested serializers that inherit it too
      report `contact.phon`, as core.api_errors flattens nested errors to dotted paths;
    - a hand-parsed body (links.mint_input) or a view with no body fields:
      `unknown_fields(data, allowed)` for the errors, or `unknown_fields_refuse(data,
      allowed)` to raise them.
  Query parameters are never refused for being unknown (networks and tools append their
  own); neither are a postback's parameters (attribution.views).
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from typing import Any

from rest_framework import exceptions, parsers, serializers

from core import text

Errors = dict[str, list[str]]
UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "Read-only field: it cannot be set."


class BodyInvalid(exceptions.APIException):
    """A 400 whose body is already the API's error shape (core.api_errors)."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["detail"])
        # Kept as given: APIException would turn the item indexes into strings.
        self.detail = body  # type: ignore[assignment]


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing text no column can store (see the module docstring)."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        raw = stream.read()
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if not text.may_hold_unstorable(raw):
            return data  # the common case: nothing escaped that could be NUL or a surrogate
        view = (parser_context or {}).get("view")
        items = _bulk_items(data, getattr(view, "bulk_items_key", None))
        if items is not None:
            per_item = [(i, text.json_errors(item)) for i, item in enumerate(items)]
            bad = [{"index": i, "errors": e} for i, e in per_item if e]
            if bad:
                raise BodyInvalid(
                    {
                        "detail": f"{len(bad)} of {len(items)} items hold text that cannot be "
                        "stored; nothing was created.",
                        "errors": bad,
                    }
                )
            if isinstance(data, dict):  # the wrapper's other fields
                errors = text.json_errors({k: v for k, v in data.items() if v is not items})
                if errors:
                    raise BodyInvalid({"detail": "Invalid request: see errors.", "errors": errors})
            return data
        errors = text.json_errors(data)
        if errors:
            raise BodyInvalid({"detail": "Invalid request: see errors.", "errors": errors})
        return data


def _bulk_items(data: Any, key: str | None) -> list | None:
    if isinstance(data, list):
        return data
    if key and isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    return None


def unknown_fields(data: Any, allowed: Collection[str], path: str = "") -> Errors:
    """`Unknown field.` for each key of `data` (an object) not in `allowed`, by dotted path."""
    if not isinstance(data, Mapping):
        return {}
    prefix = f"{path}." if path else ""
    return {
        f"{prefix}{text.printable(str(key))}": [UNKNOWN_FIELD] for key in data if key not in allowed
    }


def unknown_fields_refuse(data: Any, allowed: Collection[str]) -> None:
    errors = unknown_fields(data, allowed)
    if errors:
        raise serializers.ValidationError(errors)


def no_fields_refuse(request: Any) -> None:
    """An action that takes no fields (rotate, revoke): no body at all is fine, whatever its
    content type says; a body must be JSON naming no field."""
    if request.META.get("CONTENT_LENGTH") in (None, "", "0") and not request.META.get(
        "HTTP_TRANSFER_ENCODING"
    ):
        return
    unknown_fields_refuse(request.data, allowed=())


class RefuseUnknownFields(serializers.Serializer):
    """A serializer that refuses fields it does not take, and read-only ones, by name,
    together with every other bad field of the body."""

    def to_internal_value(self, data: Any) -> Any:
        refused: Errors = {}
        if isinstance(data, Mapping):
            for key in data:
                field = self.fields.get(key)
                if field is None:
                    refused[text.printable(str(key))] = [UNKNOWN_FIELD]
                elif field.read_only:
                    refused[key] = [READ_ONLY_FIELD]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not refused or not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError({**exc.detail, **refused}) from exc
        if refused:
            raise serializers.ValidationError(refused)
        return value
