"""The minting API: messages in, short links and rewritten bodies out."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_input import unknown_fields_refuse
from core.authentication import account_of
from core.models import ApiScope
from links import api_docs
from links.services import (
    MintInvalid,
    NoTrackingDomain,
    messages_mint,
)

logger = logging.getLogger(__name__)


def _mint_response(request: Request, items: list[Any], *, bulk: bool) -> Response:
    account = account_of(request)
    try:
        results = messages_mint(account=account, items=items)
    except MintInvalid as exc:
        logger.info("mint: %d invalid item(s) for account %s", len(exc.errors), account.pk)
        if bulk:
            body = {
                "detail": (
                    f"{len(exc.errors)} of {len(items)} messages are invalid; nothing was created."
                ),
                "errors": [{"index": i, "errors": e} for i, e in sorted(exc.errors.items())],
            }
        else:
            body = {"detail": "Invalid message: see errors.", "errors": exc.errors[0]}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    except NoTrackingDomain as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response(results if bulk else results[0], status=status.HTTP_201_CREATED)


class MessageCreate(APIView):
    write_scopes = (ApiScope.MINT,)

    @extend_schema(
        operation_id="messages_create",
        request=api_docs.MessageIn,
        responses={201: api_docs.MessageOut, 400: api_docs.Error, 409: api_docs.Error},
        description="Mint one message: its links become short links on the account's tracking "
        "domain and the rewritten body comes back. The same external_id returns the same "
        "message and links.",
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            return Response(
                {
                    "detail": "Send one message as a JSON object (bulk: /api/v1/messages/bulk).",
                    "errors": {"non_field_errors": ["Expected a JSON object."]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return _mint_response(request, [request.data], bulk=False)


class MessageBulkCreate(APIView):
    write_scopes = (ApiScope.MINT,)
    # The body may also be {"messages": [...]}: its items are reported one by one too
    # (core.api_input.JSONParser).
    bulk_items_key = "messages"

    @extend_schema(
        operation_id="messages_bulk_create",
        request=api_docs.MessageIn(many=True),
        responses={
            201: api_docs.MessageOut(many=True),
            400: api_docs.BulkError,
            409: api_docs.Error,
        },
        description="Mint up to 10,000 messages, all or nothing. Results come back in order.",
    )
    def post(self, request: Request) -> Response:
        items = request.data
        limit = settings.MINT_MAX_BULK_ITEMS
        if isinstance(items, dict) and isinstance(items.get(self.bulk_items_key), list):
            unknown_fields_refuse(items, (self.bulk_items_key,))
            items = items[self.bulk_items_key]
        if not isinstance(items, list) or not items:
            problem = "Expected a non-empty JSON list of messages."
        elif len(items) > limit:
            problem = f"At most {limit:,} messages per request; got {len(items):,}."
        else:
            return _mint_response(request, items, bulk=True)
        return Response(
            {"detail": problem, "errors": {"items": [problem]}}, status=status.HTTP_400_BAD_REQUEST
        )
