"""The OpenAPI schema's error answers: every operation documents each refusal it can give.

drf-spectacular documents the success an operation declares; the refusals every endpoint
shares (bad input, no key, a missing scope, another account's object, a body too large, the
rate limit) are added here, once, with the API's one error shape (core.api_errors).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from core.api_errors import ErrorOut

# (status, description, only for operations that take a body)
ERROR_ANSWERS = (
    ("400", "Invalid request: `errors` names each bad field.", False),
    ("401", "No API key, or an invalid or revoked one.", False),
    ("403", "The API key lacks the scope this operation needs.", False),
    ("404", "Not found, or another account's.", False),
    ("413", "The request body is larger than the API accepts.", True),
    ("415", "The body is not JSON.", True),
    ("429", "Rate limited: retry after `Retry-After` seconds.", False),
)


class TracklyAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        takes_body = self.method in ("POST", "PUT", "PATCH")
        for code, description, body_only in ERROR_ANSWERS:
            if code in responses or (body_only and not takes_body):
                continue
            answer = self._get_response_for_code(ErrorOut, code, direction=direction)
            answer["description"] = description
            responses[code] = answer
        return responses


def close_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Request components admit only the fields they name (unknown fields are refused)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component.setdefault("additionalProperties", False)
    return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer trk_...`: an API key of the account, with "
            "the scopes the operation needs (mint, read, config).",
        }
